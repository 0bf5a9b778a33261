"""`python scripts/evaluate.py --help`: same as `python -m paddle_resnet evaluate`."""

import sys

import _bootstrap  # noqa: F401  (repository root on sys.path)

from paddle_resnet.cli import main

if __name__ == "__main__":
    sys.exit(main(["evaluate", *sys.argv[1:]]))
