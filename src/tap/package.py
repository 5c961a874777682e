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
from tap.errors import UserError

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold
_FILE_MODE = 0o644 << 16
_SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache"}
_SKIPPED_SUFFIXES = (".pyc", ".pyo")
_COMPILED_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")
SHARED_LIST = "shared.txt"
VENDOR_LIST = "vendor.txt"
SHARED_DIR_NAME = "_shared"
REQUIREMENTS = paths.REPO / "requirements.txt"
LICENSES_DIR = "THIRD_PARTY_LICENSES"


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


def shown(path: Path) -> str:
    """A path as messages name it: relative to the checkout when it is inside it."""
    try:
        return str(path.relative_to(paths.REPO))
    except ValueError:
        return str(path)


def render_template(path: Path, values: Mapping[str, Any]) -> str:
    """A function's `.j2` file rendered; a mistake in it is the user's, reported in one line."""
    environment = jinja2.Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    )
    try:
        return environment.from_string(path.read_text(encoding="utf-8")).render(**values)
    except jinja2.TemplateSyntaxError as err:
        raise UserError(
            f"{shown(path)}:{err.lineno}: jinja2 syntax error: {err.message}; allowed: a jinja2 "
            "template (https://jinja.palletsprojects.com/templates/)"
        ) from None
    except jinja2.UndefinedError as err:
        raise UserError(
            f"{shown(path)}: {err.message}; allowed: the values the system supplies: "
            f"{', '.join(sorted(values))}"
        ) from None


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
            available = sorted(each.name for each in shared_dir.glob("*.py"))
            raise UserError(
                f"{shown(source / SHARED_LIST)}: no shared module {shown(path)}; allowed: a file of "
                f"{shown(shared_dir)}/ ({', '.join(available) or 'none there'})"
            )
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
        return f"{LICENSES_DIR}/{folder[: -len('.dist-info')]}/{rest.removeprefix('licenses/')}"
    return None


def distribution_entries(distribution: str, pins: Mapping[str, str], listed_in: Path) -> dict[str, bytes]:
    """The importable files (and licence) of one installed, pinned, pure-Python distribution."""
    pinned = pins.get(canonical_name(distribution))
    if pinned is None:
        raise UserError(
            f"{shown(listed_in)}: {distribution} is not pinned in requirements.txt; allowed: a "
            f"distribution requirements.txt pins as {distribution}==<version>"
        )
    import importlib.metadata  # only for functions that vendor a distribution

    try:
        installed = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        raise UserError(
            f"{shown(listed_in)}: {distribution}=={pinned} is not installed; run pip install -r requirements.txt"
        ) from None
    if installed.version != pinned:
        raise UserError(
            f"{shown(listed_in)}: {distribution} {installed.version} is installed but requirements.txt "
            f"pins {pinned}; run pip install -r requirements.txt"
        )
    root = Path(str(installed.locate_file(""))).resolve()
    entries = {}
    for record in installed.files or ():
        relative = record.as_posix()
        parts = relative.split("/")
        if ".." in parts or _SKIPPED_DIRS.intersection(parts) or relative.endswith(_SKIPPED_SUFFIXES):
            continue  # scripts installed outside site-packages, and bytecode
        if relative.endswith(_COMPILED_SUFFIXES):
            raise UserError(
                f"{shown(listed_in)}: {distribution} is not pure Python ({relative}); allowed: "
                "pure-Python distributions (the zip must run on any Lambda architecture)"
            )
        shipped = _shipped_path(relative)
        if shipped is not None:
            entries[shipped] = (root / relative).read_bytes()
    if not entries:
        raise UserError(
            f"{shown(listed_in)}: {distribution} has no file list (RECORD) to copy from; "
            "reinstall it with pip install -r requirements.txt"
        )
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
                raise UserError(
                    f"{shown(path)} is a template but its system renders no values into "
                    f"{shown(source)}; allowed: .j2 files only in the functions rendered at packaging"
                )
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
            raise UserError(
                f"function folder {shown(source)}: {', '.join(clashes)} would be packaged twice; "
                "allowed: each path from one source (own files, shared.txt, vendor.txt)"
            )
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
    source = function_folder(functions_dir, name)
    own = own_entries(source, values)
    if not own:
        raise UserError(f"function folder {shown(source)}/ holds no files; allowed: the function's code")
    entries = merge_entries(
        source, own, shared_entries(source, functions_dir), vendored_entries(source, requirements)
    )
    return FunctionPackage(name=name, data=zip_entries(entries), files=tuple(sorted(entries)))


def function_folder(functions_dir: Path, name: str) -> Path:
    """`functions/<name>/`, which must exist: the systems ask for their functions by name."""
    source = functions_dir / name
    if not source.is_dir():
        present = sorted(path.name for path in functions_dir.glob("*") if path.is_dir()) if (
            functions_dir.is_dir()) else []
        raise UserError(
            f"no function folder {shown(source)}/, which the build packages; allowed: a folder of "
            f"the function's code there (found: {', '.join(present) or 'none'})"
        )
    return source


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
        found = source_files(function_folder(self.functions_dir, name))
        if len(found) != 1:
            raise UserError(
                f"function folder {shown(self.functions_dir / name)}/ holds {len(found)} files; allowed: "
                "exactly one (its code, inline in the template)"
            )
        (path,) = found
        if path.name.endswith(".j2"):
            return render_template(path, values)
        return path.read_text(encoding="utf-8")

    def __call__(self, name: str, values: Mapping[str, Any] | None = None) -> FunctionPackage:
        key = (name, json.dumps(values, sort_keys=True, default=str))
        if key not in self._made:
            self._made[key] = package_function(name, values, self.functions_dir, self.requirements)
        return self._made[key]
