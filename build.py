#!/usr/bin/env python3
"""Emit every CloudFormation template into templates/. See `python build.py --help`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from tap.build import main  # noqa: E402  (needs the path above)

if __name__ == "__main__":
    sys.exit(main())
