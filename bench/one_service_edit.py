#!/usr/bin/env python3
"""A person edits one service of a platform with N services and builds again.

In a scratch copy of the checkout it writes the generated config of
bench/services_scale.py with N services, runs `python build.py --system
microservices --env nN` once cold (empty caches) and once unchanged, then changes
one service's memory and runs it again: the edit. Every run is the real command,
lint included; the figures are wall-clock seconds of each. The edited build's
templates are then compared byte for byte with a build from scratch of the same
config (no caches), and the run fails if they differ. Asserts nothing else.

    python bench/one_service_edit.py              # N = 1000
    python bench/one_service_edit.py --count 100
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))

from bench.services_scale import generated_config, to_toml  # noqa: E402

COPIED = ("build.py", "pyproject.toml", "src", "functions", "config", ".cfnlintrc")


def scratch_checkout(into: Path) -> Path:
    into.mkdir(parents=True)
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, into / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, into / name)
    return into


def build(checkout: Path, env: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "build.py", "--system", "microservices", "--env", env],
                   cwd=checkout, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def edited(config: dict) -> dict:
    """The same config with the first service's memory doubled."""
    first = dict(config["services"][0], memory=1024)
    return {**config, "services": [first, *config["services"][1:]]}


def same_templates(one: Path, other: Path) -> bool:
    comparison = filecmp.dircmp(one, other)
    pending = [comparison]
    while pending:
        current = pending.pop()
        if current.left_only or current.right_only or current.diff_files or current.funny_files:
            return False
        pending.extend(current.subdirs.values())
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args()
    env = f"n{args.count}"
    config = generated_config(args.count)
    with tempfile.TemporaryDirectory() as scratch:
        checkout = scratch_checkout(Path(scratch) / "checkout")
        config_file = checkout / "config" / "microservices" / f"{env}.toml"
        config_file.write_text(to_toml(config))
        cold = build(checkout, env)
        unchanged = build(checkout, env)
        config_file.write_text(to_toml(edited(config)))
        edit = build(checkout, env)

        fresh = scratch_checkout(Path(scratch) / "fresh")
        (fresh / "config" / "microservices" / f"{env}.toml").write_text(to_toml(edited(config)))
        build(fresh, env)
        folder = Path("templates") / "microservices" / env
        if not same_templates(checkout / folder, fresh / folder):
            raise SystemExit("the edited build's templates differ from a build from scratch")
    print("services  cold build s  unchanged s  one-service edit s")
    print(f"{args.count:>8}  {cold:>11.1f}  {unchanged:>11.1f}  {edit:>18.1f}")


if __name__ == "__main__":
    main()
