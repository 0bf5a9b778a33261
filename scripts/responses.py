"""`python scripts/responses.py --help`: same as `python -m paddle_resnet responses`."""

import sys

import _bootstrap  # noqa: F401  (repository root on sys.path)

from paddle_resnet.cli import main

if __name__ == "__main__":
    sys.exit(main(["responses", *sys.argv[1:]]))
