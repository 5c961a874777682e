"""cfn-lint, in-process, over emitted templates; results cached by content.

The rules are cfn-lint's defaults plus I3011 (stateful resources must set
DeletionPolicy and UpdateReplacePolicy), the same set `.cfnlintrc` gives
the command line. A template's findings are cached under the sha256 of its
bytes, the cfn-lint version and the region, so an unchanged template is
never linted twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tap import paths

# An explicit config file keeps a user's ~/.cfnlintrc and the project's
# .cfnlintrc (whose template globs suit the command line) out of the build.
CONFIG_FILE = Path(__file__).with_name("cfnlint.yaml")


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


class Linter:
    """Lints template bytes for one region, reusing one cfn-lint runner."""

    def __init__(self, region: str, cache_dir: Path | None | str = "default"):
        """`cache_dir=None` disables the cache; by default it lives in .cache/lint/."""
        if cache_dir == "default":
            cache_dir = paths.CACHE_DIR / "lint"
        self.region = region
        self.cache_dir = cache_dir / cfn_lint_version() / region if cache_dir else None
        self._runner = None
        self.hits = 0
        self.misses = 0

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
                cli_args=["--config-file", str(CONFIG_FILE)], regions=[self.region]
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
