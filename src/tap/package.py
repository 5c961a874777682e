"""Deterministic zips of the Lambda functions in `functions/<name>/`.

The same sources always give the same bytes: entries sorted by path, a fixed
timestamp and fixed permissions, no compression (deflate output differs
between zlib builds, and the sha256 of the zip is committed in templates).
Files ending in `.j2` are jinja2 templates rendered with the values the
system supplies (Lambda@Edge has no environment variables, so its
configuration is rendered into the package); a missing value is an error.

Two lists in a function folder pull in code from outside it; they steer the
packager and are not shipped:
- `shared.txt` names modules of `functions/_shared/` (code that two or more
  functions must agree on, such as what makes a licence valid), copied to
  the root of the zip beside the handler.
- `vendor.txt` names pure-Python distributions the Lambda runtime lacks.
  Each must be installed at exactly the version `requirements.txt` pins, so
  the zip is a function of the checkout; its files are copied from the
  installed distribution's RECORD (no `__pycache__`, no scripts, no
  metadata; its licence goes to `THIRD_PARTY_LICENSES/<name>-<version>/`).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import json
import re
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
_COMPILED_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")
SHARED_LIST = "shared.txt"
VENDOR_LIST = "vendor.txt"
SHARED_DIR_NAME = "_shared"
REQUIREMENTS = paths.REPO / "requirements.txt"
LICENCES_DIR = "THIRD_PARTY_LICENSES"


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


def listed_names(path: Path) -> list[str]:
    """The names in a `shared.txt` or `vendor.txt`: one a line, `#` starts a comment."""
    if not path.is_file():
        return []
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


def canonical_name(distribution: str) -> str:
    """A distribution name as PEP 503 compares them (`PyASN1` and `pyasn1` are one)."""
    return re.sub(r"[-_.]+", "-", distribution).lower()


def requirement_pins(requirements: Path) -> dict[str, str]:
    """`name==version` lines of a requirements file, by canonical name (extras dropped)."""
    pins = {}
    for line in listed_names(requirements):
        name, separator, version = line.partition("==")
        if separator:
            pins[canonical_name(name.split("[", 1)[0].strip())] = version.strip()
    return pins


def shared_entries(source: Path, functions_dir: Path) -> dict[str, bytes]:
    """The `functions/_shared/` modules that `source/shared.txt` names, by file name."""
    shared_dir = functions_dir / SHARED_DIR_NAME
    entries = {}
    for module in listed_names(source / SHARED_LIST):
        path = shared_dir / module
        if "/" in module or not path.is_file():
            raise FileNotFoundError(f"{source / SHARED_LIST}: no shared module {path}")
        entries[module] = path.read_bytes()
    return entries


def _shipped_path(relative: str) -> str | None:
    """Where a RECORD file goes in the zip: importable files as they are; of the
    `.dist-info` folder only the licence, moved to `THIRD_PARTY_LICENSES/` (a partial
    `.dist-info` would be found by importlib.metadata and report no version)."""
    folder, _, rest = relative.partition("/")
    if not folder.endswith(".dist-info"):
        return relative
    name = rest.rpartition("/")[2]
    if rest.startswith("licenses/") or name.upper().startswith(("LICENSE", "LICENCE", "COPYING", "NOTICE")):
        return f"{LICENCES_DIR}/{folder[: -len('.dist-info')]}/{rest.removeprefix('licenses/')}"
    return None


def distribution_entries(distribution: str, pins: Mapping[str, str], listed_in: Path) -> dict[str, bytes]:
    """The importable files (and licence) of one installed, pinned, pure-Python distribution."""
    pinned = pins.get(canonical_name(distribution))
    if pinned is None:
        raise ValueError(f"{listed_in}: {distribution} is not pinned (name==version) in requirements.txt")
    try:
        installed = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        raise ValueError(
            f"{listed_in}: {distribution}=={pinned} is not installed; run pip install -r requirements.txt"
        ) from None
    if installed.version != pinned:
        raise ValueError(
            f"{listed_in}: {distribution} {installed.version} is installed but requirements.txt pins {pinned}"
        )
    root = Path(installed.locate_file("")).resolve()
    entries = {}
    for record in installed.files or ():
        relative = record.as_posix()
        parts = relative.split("/")
        if ".." in parts or _SKIPPED_DIRS.intersection(parts) or relative.endswith(_SKIPPED_SUFFIXES):
            continue  # scripts installed outside site-packages, and bytecode
        if relative.endswith(_COMPILED_SUFFIXES):
            raise ValueError(f"{listed_in}: {distribution} is not pure Python ({relative})")
        shipped = _shipped_path(relative)
        if shipped is not None:
            entries[shipped] = (root / relative).read_bytes()
    if not entries:
        raise ValueError(f"{listed_in}: {distribution} has no file list (RECORD) to copy from")
    return entries


def vendored_entries(source: Path, requirements: Path) -> dict[str, bytes]:
    """Every distribution that `source/vendor.txt` names, merged."""
    listed_in = source / VENDOR_LIST
    distributions = listed_names(listed_in)
    if not distributions:
        return {}
    pins = requirement_pins(requirements)
    return merge_entries(
        source, *(distribution_entries(distribution, pins, listed_in) for distribution in distributions)
    )


def own_entries(source: Path, values: Mapping[str, Any] | None) -> dict[str, bytes]:
    """The function folder's own files, `.j2` templates rendered, package lists left out."""
    entries: dict[str, bytes] = {}
    for path in source_files(source):
        relative = path.relative_to(source).as_posix()
        if relative in (SHARED_LIST, VENDOR_LIST):
            continue
        if relative.endswith(".j2"):
            if values is None:
                raise ValueError(f"{path} is a template but no values were given to render it")
            entries[relative[: -len(".j2")]] = render_template(path, values).encode("utf-8")
        else:
            entries[relative] = path.read_bytes()
    return entries


def merge_entries(source: Path, *groups: Mapping[str, bytes]) -> dict[str, bytes]:
    """One zip's entries; two groups that supply the same path are an error, not a silent overwrite."""
    merged: dict[str, bytes] = {}
    for group in groups:
        clashes = sorted(set(merged).intersection(group))
        if clashes:
            raise ValueError(f"function folder {source}: {', '.join(clashes)} would be packaged twice")
        merged.update(group)
    return merged


def package_function(
    name: str,
    values: Mapping[str, Any] | None = None,
    functions_dir: Path = paths.FUNCTIONS_DIR,
    requirements: Path = REQUIREMENTS,
) -> FunctionPackage:
    """Zip `functions/<name>/`, rendering its `.j2` files with `values`, with the
    shared modules and vendored distributions it lists."""
    source = functions_dir / name
    if not source.is_dir():
        raise FileNotFoundError(f"no function folder {source}")
    own = own_entries(source, values)
    if not own:
        raise ValueError(f"function folder {source} holds no files")
    entries = merge_entries(
        source, own, shared_entries(source, functions_dir), vendored_entries(source, requirements)
    )
    return FunctionPackage(name=name, data=zip_entries(entries), files=tuple(sorted(entries)))


class FunctionPackager:
    """Packages functions on request and remembers each (name, values) result.

    Systems receive one of these instead of touching the file system: they
    ask for a function by name and get back bytes and a content-hashed key.
    """

    def __init__(self, functions_dir: Path = paths.FUNCTIONS_DIR, requirements: Path = REQUIREMENTS):
        self.functions_dir = functions_dir
        self.requirements = requirements
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
            self._made[key] = package_function(name, values, self.functions_dir, self.requirements)
        return self._made[key]
