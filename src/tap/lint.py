"""cfn-lint, in-process, over emitted templates; results cached by content.

The rules are cfn-lint's defaults, I3011 (stateful resources must set
DeletionPolicy and UpdateReplacePolicy) and the project's own rules in
`tap/lintrules/` (E9001...), the same set `.cfnlintrc` gives the command line.
A template's findings are cached under the sha256 of its bytes, the cfn-lint
version, a digest of the project rules' sources and the region, so an unchanged
template is never linted twice and a changed rule relints everything.

`lint_many` lints the cache misses of a batch in a pool of worker processes
(one cfn-lint runner each) when there are enough of them to pay for it;
results and cache entries are the same as linting one by one.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tap import paths

# An explicit config file keeps a user's ~/.cfnlintrc and the project's
# .cfnlintrc (whose template globs suit the command line) out of the build.
CONFIG_FILE = Path(__file__).with_name("cfnlint.yaml")
# The project's rules; `.cfnlintrc` names the same directory for the command line.
RULES_DIR = Path(__file__).with_name("lintrules")
# What the rules' findings depend on besides the template: their own code and the
# project modules they read (the stateful types, the services without source keys).
RULE_SOURCES = (
    *sorted(RULES_DIR.glob("*.py")),
    Path(__file__).parent / "blocks" / "lifecycle.py",
    Path(__file__).parent / "blocks" / "iam.py",
)


@dataclass(frozen=True)
class Finding:
    file: str
    resource: str
    rule: str
    message: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.resource}: {self.rule} {self.message}"


def cfn_lint_version() -> str:
    from cfnlint.version import __version__

    return __version__


# Below this many uncached templates a batch is linted in this process: starting
# workers (each loads cfn-lint's schemas) costs more than it saves. Measured on 2 CPUs
# (bench/services_scale.py, bench/build_speed.py): 154 templates lint in ~40 s with two
# workers against ~55 s in-process; the ~20-template batches of the real configs gain nothing.
PARALLEL_FROM = 64


def rules_digest() -> str:
    """A short digest of the project rules' sources, part of the cache key."""
    digest = hashlib.sha256()
    for path in RULE_SOURCES:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class Linter:
    """Lints template bytes for one region, reusing one cfn-lint runner."""

    def __init__(
        self, region: str, cache_dir: Path | None | str = "default", workers: int | None = None
    ):
        """`cache_dir=None` disables the cache; by default it lives in .cache/lint/.
        `workers`: processes for `lint_many` (default: the CPUs this process may use)."""
        if cache_dir == "default":
            cache_dir = paths.CACHE_DIR / "lint"
        self.region = region
        self.cache_dir = cache_dir / cfn_lint_version() / rules_digest() / region if cache_dir else None
        self.workers = default_workers() if workers is None else workers
        self._runner = None
        self.hits = 0
        self.misses = 0

    def lint_many(self, templates: Sequence[tuple[str, bytes, str]]) -> list[list[Finding]]:
        """Findings of each (file, body, sha256), in order; uncached ones linted in parallel."""
        known: dict[str, list[dict]] = {}
        todo: dict[str, bytes] = {}
        for _, body, sha256 in templates:
            if sha256 in known or sha256 in todo:
                continue
            cached = self._cached(sha256)
            if cached is None:
                todo[sha256] = body
            else:
                known[sha256] = cached
        self.hits += len(known)
        self.misses += len(todo)
        for sha256, findings in self._run_batch(todo).items():
            self._store(sha256, findings)
            known[sha256] = findings
        return [[Finding(file=file, **item) for item in known[sha256]] for file, _, sha256 in templates]

    def _run_batch(self, bodies: dict[str, bytes]) -> dict[str, list[dict]]:
        workers = min(self.workers, len(bodies))
        if workers < 2 or len(bodies) < PARALLEL_FROM:
            return {sha256: self._run(body) for sha256, body in bodies.items()}
        # Largest first, one at a time, so no worker is left with a big one at the end.
        order = sorted(bodies, key=lambda sha256: -len(bodies[sha256]))
        with ProcessPoolExecutor(workers, initializer=_start_worker, initargs=(self.region,)) as pool:
            results = pool.map(_lint_in_worker, [bodies[sha256] for sha256 in order])
            return dict(zip(order, results))

    def lint(self, file: str, body: bytes, sha256: str) -> list[Finding]:
        cached = self._cached(sha256)
        if cached is not None:
            self.hits += 1
            return [Finding(file=file, **item) for item in cached]
        self.misses += 1
        findings = self._run(body)
        self._store(sha256, findings)
        return [Finding(file=file, **item) for item in findings]

    def _run(self, body: bytes) -> list[dict]:
        from cfnlint.decode.decode import decode_str

        template, errors = decode_str(body.decode("utf-8"))
        matches = list(errors or []) + (
            list(self._get_runner().validate_template(template)) if template else []
        )
        findings = [
            {
                "resource": "/".join(str(part) for part in (match.path or [])[:2]) or "(template)",
                "rule": match.rule.id,
                "message": match.message,
                "line": match.linenumber,
            }
            for match in matches
        ]
        return sorted(findings, key=lambda item: (item["line"], item["rule"], item["message"]))

    def _get_runner(self):
        if self._runner is None:
            from cfnlint.config import ConfigMixIn
            from cfnlint.runner import Runner

            config = ConfigMixIn(
                cli_args=["--config-file", str(CONFIG_FILE), "--append-rules", str(RULES_DIR)],
                regions=[self.region],
            )
            self._runner = Runner(config)
        return self._runner

    def _cached(self, sha256: str) -> list[dict] | None:
        if self.cache_dir is None:
            return None
        path = self.cache_dir / f"{sha256}.json"
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return None

    def _store(self, sha256: str, findings: list[dict]) -> None:
        if self.cache_dir is None:
            return
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        temporary = self.cache_dir / f"{sha256}.json.tmp"
        temporary.write_text(json.dumps(findings))
        temporary.replace(self.cache_dir / f"{sha256}.json")


# --- worker processes of lint_many ------------------------------------------

_worker_linter: Linter | None = None


def _start_worker(region: str) -> None:
    global _worker_linter
    _worker_linter = Linter(region, cache_dir=None, workers=1)


def _lint_in_worker(body: bytes) -> list[dict]:
    return _worker_linter._run(body)
