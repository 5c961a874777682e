#!/usr/bin/env python3
"""How long `python build.py` takes: emit only, lint with a cold cache, lint with a warm cache.

Prints figures; asserts nothing. Run: python bench/build_speed.py [--repeat N]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from tap import build, lint  # noqa: E402


def timed(argv: list[str], templates_dir: Path) -> float:
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # the build's own table, nine times over
        status = build.main(argv, templates_dir=templates_dir)
    if status != 0:
        raise SystemExit(f"build failed with {status}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[float]] = {"emit only": [], "lint, cold cache": [], "lint, warm cache": []}
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as scratch:
            scratch_path = Path(scratch)
            lint.paths.CACHE_DIR = scratch_path / "cache"  # a cold cache each round
            templates = scratch_path / "templates"
            results["emit only"].append(timed(["--no-lint"], templates))
            results["lint, cold cache"].append(timed([], templates))
            results["lint, warm cache"].append(timed([], templates))
    print(f"{'phase':<18} {'median s':>9} {'min s':>7} {'max s':>7}  (runs: {args.repeat})")
    for phase, seconds in results.items():
        print(f"{phase:<18} {statistics.median(seconds):9.2f} {min(seconds):7.2f} {max(seconds):7.2f}")


if __name__ == "__main__":
    main()
