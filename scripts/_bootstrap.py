"""Lets ``python scripts/<name>.py`` run from a plain checkout: puts the repository root on ``sys.path``.

An installed paddle_resnet (``pip install -e .``) is the same code, so this changes nothing there.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
