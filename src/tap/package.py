"""Deterministic zips of the Lambda functions in `functions/<name>/`.

The same sources always give the same bytes: entries sorted by path, a fixed
timestamp and fixed permissions, no compression (deflate output differs
between zlib builds, and the sha256 of the zip is committed in templates).
Files ending in `.j2` are jinja2 templates rendered with the values the
system supplies (Lambda@Edge has no environment variables, so its
configuration is rendered into the package); a missing value is an error.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from tap import names, paths

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold
_FILE_MODE = 0o644 << 16
_SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache"}
_SKIPPED_SUFFIXES = (".pyc", ".pyo")


@dataclass(frozen=True)
class FunctionPackage:
    """One function's zip, ready to upload under `s3_key`."""

    name: str
    data: bytes = field(repr=False)
    files: tuple[str, ...]
    kind: str = "function"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def s3_key(self) -> str:
        return names.function_key(self.name, self.sha256)


def source_files(source: Path) -> list[Path]:
    """The files of a function folder that belong in its zip, sorted by path."""
    found = []
    for path in source.rglob("*"):
        relative = path.relative_to(source)
        if path.is_dir() or _SKIPPED_DIRS.intersection(relative.parts):
            continue
        if path.name.startswith(".") or path.name.endswith(_SKIPPED_SUFFIXES):
            continue
        found.append(path)
    return sorted(found, key=lambda path: path.relative_to(source).as_posix())


def render_template(path: Path, values: Mapping[str, Any]) -> str:
    environment = jinja2.Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    )
    return environment.from_string(path.read_text(encoding="utf-8")).render(**values)


def zip_entries(entries: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.external_attr = _FILE_MODE
            info.create_system = 3  # unix, so the mode bits are honoured
            archive.writestr(info, entries[name])
    return buffer.getvalue()


def package_function(
    name: str,
    values: Mapping[str, Any] | None = None,
    functions_dir: Path = paths.FUNCTIONS_DIR,
) -> FunctionPackage:
    """Zip `functions/<name>/`, rendering its `.j2` files with `values`."""
    source = functions_dir / name
    if not source.is_dir():
        raise FileNotFoundError(f"no function folder {source}")
    entries: dict[str, bytes] = {}
    for path in source_files(source):
        relative = path.relative_to(source).as_posix()
        if relative.endswith(".j2"):
            if values is None:
                raise ValueError(f"{path} is a template but no values were given to render it")
            entries[relative[: -len(".j2")]] = render_template(path, values).encode("utf-8")
        else:
            entries[relative] = path.read_bytes()
    if not entries:
        raise ValueError(f"function folder {source} holds no files")
    return FunctionPackage(name=name, data=zip_entries(entries), files=tuple(sorted(entries)))


class FunctionPackager:
    """Packages functions on request and remembers each (name, values) result.

    Systems receive one of these instead of touching the file system: they
    ask for a function by name and get back bytes and a content-hashed key.
    """

    def __init__(self, functions_dir: Path = paths.FUNCTIONS_DIR):
        self.functions_dir = functions_dir
        self._made: dict[tuple, FunctionPackage] = {}

    def inline_code(self, name: str, values: Mapping[str, Any]) -> str:
        """The one source file of `functions/<name>/` as text, rendered if it is a .j2 file.

        For code a template carries inline (CloudFront Functions), not as a zip.
        """
        (path,) = source_files(self.functions_dir / name)
        if path.name.endswith(".j2"):
            return render_template(path, values)
        return path.read_text(encoding="utf-8")

    def __call__(self, name: str, values: Mapping[str, Any] | None = None) -> FunctionPackage:
        key = (name, json.dumps(values, sort_keys=True, default=str))
        if key not in self._made:
            self._made[key] = package_function(name, values, self.functions_dir)
        return self._made[key]
