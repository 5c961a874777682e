"""Stacks a system makes many of: read back from earlier builds, or made in parallel.

A system that makes many stacks of one kind (the microservices platform's service
shards) hands them to `StackMaker.make` as requests: each a text that says
everything its stack depends on (the settings it reads; its "material") and a
function that builds it. The output is the same bytes whichever way a stack came:

- **Kept.** When a build of the same tap code made a stack from the same material,
  its rendered bytes (and its descendants') are read back from `.cache/stacks/`
  instead of building it again, so editing one service of a thousand builds one
  shard. `keep()`, once the tree has rendered, stores the stacks this build made.
  The key holds a digest of tap's sources and of the troposphere and awacs
  versions; entries are written whole (a temporary file, then renamed), and one
  whose bytes do not match their sha256 is made again. Stacks that upload assets (function code) are not
  kept: their assets are not bytes of the tree.
- **Made in parallel.** When enough stacks are missing and more than one CPU is
  free, forked worker processes build and render them and send back the bytes. A
  request whose stack uploads assets, or whose build fails, is made again in this
  process, so errors are raised where the build reports them. A stack rendered
  before it is nested must be made with its tree's tags (`Stack(..., tags=)`).

The system stays free of I/O: it only calls `make`; this object, made by the build
tooling, reads and writes the cache and starts the workers.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

import awacs
import orjson
import troposphere

from tap import cpus, paths
from tap.stacktree import Outline, Stack

# Below this many stacks to build, starting workers costs more than it saves.
PARALLEL_FROM = 16

Request = tuple[str, Callable[[], Stack]]  # (material, make)
# Each stack of a tree, root first: (name, body, its children's names, its outline).
Rendered = list[tuple[str, bytes, list[str], Outline]]


class StackMaker:
    """`StackMaker()` keeps nothing and makes every stack here; `default()` is the build's."""

    def __init__(self, folder: Path | None = None, workers: int = 1, parallel_from: int = PARALLEL_FROM):
        self.folder = None if folder is None else folder / code_digest()
        self.workers = workers
        self.parallel_from = parallel_from
        self.reused = 0
        self.made = 0
        self._pending: list[tuple[Path, Stack]] = []

    @classmethod
    def default(cls, workers: int | None = None) -> StackMaker:
        """`.cache/stacks/`, without the entries of other versions of the code (they would
        never be read again, and a thousand services keep about 45 MB), and `workers`
        processes (default: a worker per CPU)."""
        folder = paths.CACHE_DIR / "stacks"
        if folder.is_dir():
            for other in folder.iterdir():
                if other.name != code_digest():
                    shutil.rmtree(other, ignore_errors=True)
        return cls(folder, cpus.available() if workers is None else workers)

    def make(self, requests: Sequence[Request]) -> list[Stack]:
        """The stack of each request, in order."""
        entries = [self._entry(material) for material, _ in requests]
        stacks: list[Stack | None] = [None if entry is None else _read(entry) for entry in entries]
        self.reused += sum(stack is not None for stack in stacks)
        missing = [index for index, stack in enumerate(stacks) if stack is None]
        rendered = self._render_in_workers([(requests[index][1], entries[index]) for index in missing])
        for index, tree in zip(missing, rendered):
            self.made += 1
            if tree is not None:  # rendered, and kept, by a worker
                stacks[index] = _restore(tree)
                continue
            stack = stacks[index] = requests[index][1]()
            if (entry := entries[index]) is not None:
                self._pending.append((entry, stack))
        return [stack for stack in stacks if stack is not None]

    def keep(self) -> None:
        """Store the stacks made since the last call, once their tree has rendered them."""
        for entry, stack in self._pending:
            if not any(member.assets for member in stack.walk()):
                _write(entry, _rendered(stack))
        self._pending.clear()

    def _entry(self, material: str) -> Path | None:
        return None if self.folder is None else self.folder / hashlib.sha256(material.encode()).hexdigest()

    def _render_in_workers(self, makes: list[tuple[Callable[[], Stack], Path | None]]) -> list[Rendered | None]:
        """Each stack built, rendered and kept (at its entry) by a forked worker, or None:
        made here instead."""
        workers = min(self.workers, len(makes))
        if workers < 2 or len(makes) < self.parallel_from:
            return [None] * len(makes)
        import multiprocessing  # imported here: most builds start no workers

        if "fork" not in multiprocessing.get_all_start_methods():
            return [None] * len(makes)
        _batch[:] = makes  # the workers inherit the functions: closures need no pickling
        try:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                return pool.map(_render_one, range(len(makes)), chunksize=max(1, len(makes) // (4 * workers)))
        finally:
            _batch.clear()


_batch: list[tuple[Callable[[], Stack], Path | None]] = []


def _render_one(index: int) -> Rendered | None:
    """In a worker: build request `index` of the batch, render its tree and keep it."""
    make, entry = _batch[index]
    try:
        stack = make()
        if any(member.assets for member in stack.walk()):
            stack.release()
            return None
        rendered = _rendered(stack)
        if entry is not None:
            _write(entry, rendered)
        # Freed now, not by the cycle collector the build switches off: a worker stays
        # at its size after forking however many stacks it makes.
        stack.release()
        return rendered
    except Exception:  # noqa: BLE001 - made again in the parent, which reports it
        return None


def _rendered(stack: Stack) -> Rendered:
    return [(member.name, member.body, [nested.stack.name for nested in member.children],
             member.outline()) for member in stack.walk()]


def _restore(tree: Rendered) -> Stack:
    members = {name: (body, children, outline) for name, body, children, outline in tree}

    def restore(name: str) -> Stack:
        body, children, outline = members[name]
        return Stack.rendered(name, body, [restore(child) for child in children], outline)

    return restore(tree[0][0])


def _write(entry: Path, tree: Rendered) -> None:
    """One file per entry (creating files is the slow part): a line of JSON describing
    each stack, then their bodies one after the other."""
    index = [
        {"name": name, "bytes": len(body), "sha256": hashlib.sha256(body).hexdigest(),
         "children": children, "outline": outline}
        for name, body, children, outline in tree
    ]
    entry.parent.mkdir(parents=True, exist_ok=True)
    temporary = entry.parent / f".{entry.name}.{uuid.uuid4().hex}"
    with temporary.open("wb") as file:
        file.write(orjson.dumps(index) + b"\n")
        for _, body, _, _ in tree:
            file.write(body)
    temporary.replace(entry)  # whole, or not at all


def _read(entry: Path) -> Stack | None:
    try:
        data = entry.read_bytes()
        line, _, rest = data.partition(b"\n")
        index = orjson.loads(line)
        bodies, offset = [], 0
        for member in index:
            bodies.append(rest[offset:offset + member["bytes"]])
            offset += member["bytes"]
        # A body that is not the one kept (a damaged file) makes the entry miss; the digest
        # is the stack's own sha256, which its parent names it by anyway.
        if offset != len(rest) or any(
            hashlib.sha256(body).hexdigest() != member["sha256"] for body, member in zip(bodies, index)
        ):
            return None
        return _restore([(member["name"], body, member["children"], member["outline"])
                         for member, body in zip(index, bodies)])
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
    for library in (troposphere, awacs):
        digest.update(f"{library.__name__}=={library.__version__}\0".encode())
    return digest.hexdigest()[:16]
