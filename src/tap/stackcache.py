"""Rendered nested stacks kept between builds, by the hash of everything that made them.

A system that makes many stacks of the same kind (the microservices platform's
service shards) asks `stacks.stack(material, make)`: `material` is a text that
says everything the stack depends on (the settings it reads), and `make` builds
it. When a build of the same tap code made a stack from the same material, its
bytes are read back instead of building it again; otherwise `make` runs, and once
the build has rendered the tree, `keep()` stores the bytes of the stack and its
descendants. So editing one service of a thousand builds one shard, and the output
is the same bytes either way.

The key also holds a digest of tap's own sources and of the troposphere and awacs
versions: a change to the code that renders stacks misses every entry. Entries are
written whole (to a temporary folder, then renamed), so an interrupted build leaves
no half entry; a damaged one is rebuilt. Stacks that upload assets (function code)
are not kept: their assets are not bytes of the tree.

The system stays free of I/O: it only calls `stack(...)`; this object, made by
the build tooling, reads and writes `.cache/stacks/`.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from collections.abc import Callable
from functools import cache
from importlib import metadata
from pathlib import Path

from tap import canonical, paths
from tap.stacktree import Stack

_TREE = "tree.json"


class StackCache:
    """Stacks by material; `StackCache()` keeps nothing and always makes."""

    def __init__(self, folder: Path | None = None):
        self.folder = None if folder is None else folder / code_digest()
        self.reused = 0
        self.made = 0
        self._pending: list[tuple[Path, Stack]] = []

    @classmethod
    def default(cls) -> StackCache:
        """`.cache/stacks/`, without the entries of other versions of the code (they would
        never be read again, and a thousand services keep about 45 MB)."""
        folder = paths.CACHE_DIR / "stacks"
        if folder.is_dir():
            for other in folder.iterdir():
                if other.name != code_digest():
                    shutil.rmtree(other, ignore_errors=True)
        return cls(folder)

    def stack(self, material: str, make: Callable[[], Stack]) -> Stack:
        """The stack `make` would build from `material`: kept bytes if any, else made."""
        entry = None if self.folder is None else self.folder / hashlib.sha256(material.encode()).hexdigest()
        if entry is not None and (kept := _read(entry)) is not None:
            self.reused += 1
            return kept
        stack = make()
        self.made += 1
        if entry is not None:
            self._pending.append((entry, stack))
        return stack

    def keep(self) -> None:
        """Write the stacks made since the last call, once their tree has rendered them
        (a nested stack's bytes hold what its tree gives it, such as the tags)."""
        for entry, stack in self._pending:
            if not any(member.assets for member in stack.walk()):
                _write(entry, stack)
        self._pending.clear()


def _write(entry: Path, stack: Stack) -> None:
    entry.parent.mkdir(parents=True, exist_ok=True)
    temporary = entry.parent / f".{entry.name}.{uuid.uuid4().hex}"
    temporary.mkdir()
    tree = []
    for member in stack.walk():
        (temporary / f"{member.name}.json").write_bytes(member.body)
        tree.append({"name": member.name, "children": [nested.stack.name for nested in member.children]})
    (temporary / _TREE).write_bytes(canonical.dumps(tree))
    try:
        temporary.rename(entry)
    except OSError:  # another build kept the same entry first: the same bytes
        shutil.rmtree(temporary, ignore_errors=True)


def _read(entry: Path) -> Stack | None:
    def restore(name: str) -> Stack:
        return Stack.rendered(name, bodies[name], [restore(child) for child in children[name]])

    try:
        tree = canonical.loads((entry / _TREE).read_bytes())
        bodies = {member["name"]: (entry / f"{member['name']}.json").read_bytes() for member in tree}
        children = {member["name"]: member["children"] for member in tree}
        return restore(tree[0]["name"])
    except (OSError, ValueError, TypeError, KeyError, IndexError):
        return None  # absent, or damaged: made again


@cache
def code_digest() -> str:
    """A digest of what renders a stack: tap's sources and the template libraries' versions."""
    digest = hashlib.sha256()
    package = Path(__file__).parent
    for path in sorted(package.rglob("*")):
        if path.is_file() and path.suffix in {".py", ".j2", ".json"}:
            digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes() + b"\0")
    for library in ("troposphere", "awacs"):
        digest.update(f"{library}=={metadata.version(library)}\0".encode())
    return digest.hexdigest()[:16]
