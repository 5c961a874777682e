#!/usr/bin/env python3
"""tap against the AWS CDK for Python building the same microservices platform.

The peer is ../shared/peers/cdk-microservices (its README says how to install it);
pass its Python with --cdk-python (default: $CDK_PYTHON). Without it, or without
the peer's folder, the peer's columns say why and only tap is timed.

Two comparisons, each as whole processes run in turn (tap, peer, tap, peer ...)
after one warm-up of each, in scratch copies with N generated services:
- emit: `python build.py --system microservices --env nN --no-lint` against
  `SERVICES=N CDK_VALIDATION=false python app.py` (the CDK's fastest mode);
- build + lint with cold caches (`.cache/` deleted before each run) against
  `SERVICES=N python app.py` (the CDK's own validation on).
Both run with Python's default of caching compiled modules: PYTHONDONTWRITEBYTECODE
is left out of their environment (this machine sets it), or tap's own sources, which
are not an installed package, would be compiled again on every run while the CDK's
installed packages were compiled once, at install.
Each row gives the median wall seconds and peak memory (the largest process of each
run's tree, from wait4) of both, and the median of the per-pair ratios. Per service
tap emits ~21 resources (pipeline, roles, secrets, alarms) against the peer's 8, so
the resources of both are printed too. Asserts nothing.

    python bench/vs_cdk.py --cdk-python /tmp/cdkvenv/bin/python
    python bench/vs_cdk.py --emit-counts 10 100 --lint-counts 10 --runs 5
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))

from bench.one_service_edit import scratch_checkout  # noqa: E402
from bench.services_scale import generated_config, to_toml  # noqa: E402

PEER = REPO.parent / "shared" / "peers" / "cdk-microservices"


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_mb: float


@dataclass(frozen=True)
class Command:
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    clean: Path  # deleted before each run (a cache, or the CDK's cdk.out)

    def run(self) -> Run:
        shutil.rmtree(self.clean, ignore_errors=True)
        started = time.perf_counter()
        process = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise SystemExit(f"{' '.join(self.argv)} in {self.cwd} exited {process.returncode}")
        return Run(seconds, usage.ru_maxrss / 1024)  # ru_maxrss: KiB on Linux


def interleaved(ours: Command, peer: Command | None, runs: int) -> tuple[list[Run], list[Run]]:
    ours.run()
    if peer is not None:
        peer.run()
    mine, theirs = [], []
    for _ in range(runs):
        mine.append(ours.run())
        if peer is not None:
            theirs.append(peer.run())
    return mine, theirs


def resources_of(folder: Path) -> int:
    return sum(len(json.loads(path.read_text()).get("Resources", {}))
               for path in folder.rglob("*.json") if path.name != "manifest.json")


def row(what: str, count: int, mine: list[Run], theirs: list[Run], peer_note: str) -> str:
    ours_s = statistics.median(run.seconds for run in mine)
    ours_mb = statistics.median(run.peak_mb for run in mine)
    if not theirs:
        return f"{what:<14} {count:>6}  {ours_s:>7.2f}  {ours_mb:>7.0f}  {peer_note}"
    peer_s = statistics.median(run.seconds for run in theirs)
    peer_mb = statistics.median(run.peak_mb for run in theirs)
    ratio = statistics.median(b.seconds / a.seconds for a, b in zip(mine, theirs))
    return (f"{what:<14} {count:>6}  {ours_s:>7.2f}  {ours_mb:>7.0f}  {peer_s:>7.2f}  {peer_mb:>7.0f}  "
            f"{ratio:>6.1f}x")


def peer_python(given: str | None) -> tuple[str | None, str]:
    if not PEER.is_dir():
        return None, f"peer not found at {PEER}"
    if not given:
        return None, "peer skipped: pass --cdk-python (its README says how to install it)"
    check = subprocess.run([given, "-c", "import aws_cdk"], capture_output=True)
    if check.returncode != 0:
        return None, f"peer skipped: {given} cannot import aws_cdk"
    return given, ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cdk-python", default=os.environ.get("CDK_PYTHON"))
    parser.add_argument("--emit-counts", type=int, nargs="*", default=[10, 100, 1000])
    parser.add_argument("--lint-counts", type=int, nargs="*", default=[10, 100])
    parser.add_argument("--runs", type=int, default=3, help="counted runs of each, after a warm-up")
    args = parser.parse_args()
    cdk, note = peer_python(args.cdk_python)
    print("what           services   tap s   tap MB   CDK s   CDK MB   CDK/tap")
    with tempfile.TemporaryDirectory() as scratch:
        checkout = scratch_checkout(Path(scratch) / "tap")
        peer_dir = Path(scratch) / "cdk"
        if cdk:
            shutil.copytree(PEER, peer_dir)
        environment = {key: value for key, value in os.environ.items()
                       if key not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}
        for what, counts, lint in (("emit", args.emit_counts, False), ("build + lint", args.lint_counts, True)):
            for count in counts:
                env = f"n{count}"
                (checkout / "config" / "microservices" / f"{env}.toml").write_text(to_toml(generated_config(count)))
                argv = [sys.executable, "build.py", "--system", "microservices", "--env", env]
                ours = Command(argv if lint else [*argv, "--no-lint"], checkout, environment,
                               checkout / ".cache")
                peer = None
                if cdk:
                    variables = {"SERVICES": str(count), **({} if lint else {"CDK_VALIDATION": "false"})}
                    peer = Command([cdk, "app.py"], peer_dir, {**environment, **variables}, peer_dir / "cdk.out")
                mine, theirs = interleaved(ours, peer, args.runs)
                print(row(what, count, mine, theirs, note), flush=True)
                if cdk and not lint:
                    tap_resources = resources_of(checkout / "templates" / "microservices" / env)
                    cdk_resources = resources_of(peer_dir / "cdk.out")
                    print(f"{'':<14} {'':>6}  resources: tap {tap_resources:,}, CDK {cdk_resources:,}")


if __name__ == "__main__":
    main()
