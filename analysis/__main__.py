"""``python -m analysis``: see analysis/cli.py."""

import sys

from .cli.main import main

if __name__ == "__main__":
    sys.exit(main())
