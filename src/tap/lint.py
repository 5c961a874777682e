"""cfn-lint, in-process, over emitted templates; results cached by content.

The rules are cfn-lint's defaults, I3011 (stateful resources must set
DeletionPolicy and UpdateReplacePolicy) and the project's own rules in
`tap/lintrules/` (E9001...), the same set `.cfnlintrc` gives the command line.
cfn-lint sees each template under the name the build gives it
(`templates/<system>/<env>/<name>.template.json`, the path the command line sees,
behind a folder that is not on disk: `in_memory`), so a rule can tell a prod
template by its folder (tap/lintrules/_environment.py).
A template's findings are cached under the sha256 of its bytes, whether its path
is in prod, the cfn-lint version, a digest of the project rules' sources and the
region, so an unchanged template is never linted twice and a changed rule
relints everything.

`lint_many` lints the cache misses of a batch in a pool of worker processes
(one cfn-lint runner each) when there are enough of them to pay for it;
results and cache entries are the same as linting one by one.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Literal

from tap import cpus, paths
from tap.lintrules._environment import in_prod

# An explicit config file keeps a user's ~/.cfnlintrc and the project's
# .cfnlintrc (whose template globs suit the command line) out of the build.
CONFIG_FILE = Path(__file__).with_name("cfnlint.yaml")
# The folder that prefixes every name the build gives cfn-lint (see `in_memory`).
IN_MEMORY = "<in-memory>"
# The project's rules; `.cfnlintrc` names the same directory for the command line.
RULES_DIR = Path(__file__).with_name("lintrules")
# What the rules' findings depend on besides the template: their own code and the
# project modules they read (the stateful types, the services without source keys).
RULE_SOURCES = (
    *sorted(RULES_DIR.glob("*.py")),
    Path(__file__).parent / "blocks" / "lifecycle.py",
    Path(__file__).parent / "blocks" / "iam.py",
)


# Told (templates linted, of how many) as a batch goes.
Progress = Callable[[int, int], None]


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
    # From the installed distribution's metadata: importing cfnlint.version imports all
    # of cfn-lint (about half a second), which a fully cached build never needs.
    return metadata.version("cfn-lint")


# Below this many uncached templates a batch is linted in this process: starting a
# worker (each loads cfn-lint's schemas) would cost more than it saves. Measured on 2
# CPUs, cold cache: microservices/dev (14 templates) 5.2 s in-process, 2.5 s with two
# workers; distribution/dev (8) 3.0 s either way; 10 generated services (30) 6.4 s
# against 4.9 s. The build lints every folder's uncached templates as one batch.
PARALLEL_FROM = 8


def rules_digest() -> str:
    """A short digest of the project rules' sources, part of the cache key."""
    digest = hashlib.sha256()
    for path in RULE_SOURCES:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def cache_key(file: str, sha256: str) -> str:
    """What a template's findings depend on besides the rules: its bytes, and whether
    its path puts it in prod (E9014 checks prod templates only)."""
    return f"{sha256}-prod" if in_prod(file) else sha256


# A nested stack's TemplateURL names its child's bytes by their sha256 (tap.names).
_CHILD_DIGEST = re.compile(rb"(templates/[a-z0-9-]+-)[0-9a-f]{64}(\.json)")


def shape_key(file: str, body: bytes) -> str:
    """A key that ignores which bytes the children's TemplateURLs name: editing one service
    changes its shard and so the root's URL of it, and nothing else of the root. A clean
    result is stored under this key too; no rule reads a URL's digest (64 hex digits stay
    64, so lines and findings stay put), and only a clean result is taken from it, so no
    finding can name a digest of another build."""
    shape = hashlib.sha256(_CHILD_DIGEST.sub(rb"\1<child>\2", body)).hexdigest()
    return "shape-" + cache_key(file, shape)


def in_memory(file: str) -> str:
    """The name cfn-lint sees for the bytes of `file`: the same folders, so a rule reads
    the environment as on the command line, under a folder that is not on disk, so
    cfn-lint's rules that open the file itself (template size, a nested stack's
    parameters) find nothing, as with no name, and the findings depend only on the
    bytes and the name: what the cache keys on."""
    return f"{IN_MEMORY}/{file}"


class Linter:
    """Lints template bytes for one region, reusing one cfn-lint runner."""

    def __init__(
        self, region: str, cache_dir: Path | None | Literal["default"] = "default",
        workers: int | None = None,
    ):
        """`cache_dir=None` disables the cache; by default it lives in .cache/lint/.
        `workers`: processes for `lint_many` (default: the CPUs this process may use)."""
        if cache_dir == "default":
            cache_dir = paths.CACHE_DIR / "lint"
        self.region = region
        self.cache_dir = cache_dir / cfn_lint_version() / rules_digest() / region if cache_dir else None
        self.workers = cpus.available() if workers is None else workers
        self._runner = None
        self.hits = 0
        self.misses = 0

    def lint_many(
        self, templates: Sequence[tuple[str, bytes, str]], progress: Progress | None = None,
    ) -> list[list[Finding]]:
        """Findings of each (file, body, sha256), in order; uncached ones linted in parallel.
        `progress(done, total)` hears of each uncached template linted."""
        known: dict[str, list[dict]] = {}
        todo: dict[str, tuple[str, bytes]] = {}
        shapes: dict[str, str] = {}
        for file, body, sha256 in templates:
            key = cache_key(file, sha256)
            if key in known or key in todo:
                continue
            cached = self._cached(key)
            if cached is None:
                shapes[key] = shape_key(file, body)
                cached = [] if self._cached(shapes[key]) == [] else None
            if cached is None:
                todo[key] = (file, body)
            else:
                known[key] = cached
        self.hits += len(known)
        self.misses += len(todo)
        for done, (key, findings) in enumerate(self._run_batch(todo), start=1):
            self._store(key, findings)
            if not findings:
                self._store(shapes[key], findings)
            known[key] = findings
            if progress is not None:
                progress(done, len(todo))
        return [
            [Finding(file=file, **item) for item in known[cache_key(file, sha256)]]
            for file, _, sha256 in templates
        ]

    def _run_batch(self, templates: dict[str, tuple[str, bytes]]) -> Iterator[tuple[str, list[dict]]]:
        """(cache key, findings) of each template, as each is linted."""
        workers = min(self.workers, len(templates))
        if workers < 2 or len(templates) < PARALLEL_FROM:
            for key, template in templates.items():
                yield key, self._run(*template)
            return
        # Largest first, one at a time, so no worker is left with a big one at the end.
        order = sorted(templates, key=lambda key: -len(templates[key][1]))
        with ProcessPoolExecutor(workers, initializer=_start_worker, initargs=(self.region,)) as pool:
            yield from zip(order, pool.map(_lint_in_worker, [templates[key] for key in order]))

    def lint(self, file: str, body: bytes, sha256: str) -> list[Finding]:
        return self.lint_many([(file, body, sha256)])[0]

    def _run(self, file: str, body: bytes) -> list[dict]:
        # Runner.validate_template lints a template without a file name (cfn.filename
        # None); E9014 reads the name, so call what it calls, with a name, as
        # `cfn-lint FILE` does. A private function of the pinned cfn-lint: the prod
        # tests in tests/lintrules fail if an upgrade moves it.
        from cfnlint.decode.decode import decode_str
        from cfnlint.runner.template.runner import _run_template

        template, errors = decode_str(body.decode("utf-8"))
        runner = self._get_runner()
        matches = list(errors or []) + (
            list(_run_template(in_memory(file), template, runner.config, runner.rules)) if template else []
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

    def _cached(self, key: str) -> list[dict] | None:
        if self.cache_dir is None:
            return None
        path = self.cache_dir / f"{key}.json"
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return None

    def _store(self, key: str, findings: list[dict]) -> None:
        if self.cache_dir is None:
            return
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        temporary = self.cache_dir / f"{key}.json.tmp"
        temporary.write_text(json.dumps(findings))
        temporary.replace(self.cache_dir / f"{key}.json")


# --- worker processes of lint_many ------------------------------------------

_worker_linters: list[Linter] = []  # the one linter of a worker process


def _start_worker(region: str) -> None:
    _worker_linters.append(Linter(region, cache_dir=None, workers=1))


def _lint_in_worker(template: tuple[str, bytes]) -> list[dict]:
    return _worker_linters[0]._run(*template)
