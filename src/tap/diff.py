"""`python build.py diff`: what a fresh build changes against the templates at a git ref,
resource by resource through every nested stack, and which changes replace a resource.

Offline, with no account: a property whose value changes is found by comparing the two
templates; whether the change replaces the resource comes from CloudFormation's resource
schemas (`tap.schemas`: a create-only property replaces). A value that is the same
expression as before but reads something that changes (a parameter fed by a sibling's
output, a resource that is replaced) cannot be known offline: the change is reported as
"may replace" (Conditional) with what it reads, decided by the same rules the deploy
review uses on change sets (`tap.valueflow`). A changed logical id, or a resource moved
to another nested stack, is a delete plus a create. Stateful resources are judged by
`tap.blocks.lifecycle`, exactly as the deploy review judges them.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path as FilePath
from typing import Any

from tap import names
from tap.blocks.lifecycle import fate_of
from tap.emit import Emission, template_paths
from tap.errors import UserError
from tap.schemas import create_only_paths, replaces
from tap.valueflow import (
    NESTED_STACK_TYPE,
    Path,
    ValueFlow,
    resource_of,
    sub_references,
)

Templates = Mapping[Path, dict[str, Any]]
# Resource attributes besides Properties whose change CloudFormation applies.
ATTRIBUTES = ("DeletionPolicy", "UpdateReplacePolicy", "DependsOn", "Condition", "Metadata")


@dataclass(frozen=True)
class Difference:
    """One resource that a deploy of the new build would add, remove or modify."""

    folder: str
    action: str  # Add | Remove | Modify
    address: str  # nested-stack logical ids and the resource's, as the deploy review names it
    resource_type: str
    properties: tuple[str, ...] = ()  # property paths that change, e.g. KeySchema[0].AttributeName
    replacement: str = ""  # True | Conditional | False (Modify only)
    why: str = ""
    fate: str = ""
    lost: bool = False


@dataclass
class FolderDiff:
    folder: str
    differences: list[Difference] = field(default_factory=list)

    @property
    def lost(self) -> list[Difference]:
        return [d for d in self.differences if d.lost]

    @property
    def left_behind(self) -> list[Difference]:
        return [d for d in self.differences if d.fate and not d.lost]


# --- reading the two sides -------------------------------------------------------------------


def templates_of(emission: Emission) -> dict[Path, dict[str, Any]]:
    """A fresh build's templates by stack path."""
    manifest = json.loads(emission.files[names.MANIFEST_FILE])
    return {path: json.loads(emission.files[file]) for path, file in template_paths(manifest).items()}


def configured_of(emission: Emission) -> dict[str, str]:
    """A fresh build's values of its root's configured parameters (per-account ARNs)."""
    return json.loads(emission.files[names.MANIFEST_FILE]).get("parameters", {})


def changed_parameters(old: Mapping[str, str], new: Mapping[str, str]) -> frozenset[str]:
    """Root parameters whose configured value differs between two builds: the templates
    take them as parameters, so a new certificate ARN changes the manifest only."""
    return frozenset(name for name in set(old) | set(new) if old.get(name) != new.get(name))


class GitTemplates:
    """The templates/ folders as committed at a git ref, read through one `git cat-file`."""

    def __init__(self, repo: FilePath, ref: str, templates_dir: str = "templates"):
        self.repo = repo
        self.ref = ref
        self.templates_dir = templates_dir
        self._manifests: dict[str, dict[str, Any] | None] = {}
        self._check_ref()

    def _git(self, *args: str, stdin: str | None = None) -> str:
        result = subprocess.run(["git", "-C", str(self.repo), *args], input=stdin, capture_output=True,
                                text=True, check=False)
        if result.returncode != 0:
            raise UserError(f"git {' '.join(args)}: {result.stderr.strip() or 'failed'}")
        return result.stdout

    def _check_ref(self) -> None:
        try:
            self._git("rev-parse", "--verify", "--quiet", f"{self.ref}^{{commit}}")
        except UserError:
            raise UserError(f"--against {self.ref!r}: not a commit in this repository; allowed: a "
                            "branch, tag or commit (default HEAD, the committed templates/)") from None

    def manifest(self, folder: str) -> dict[str, Any] | None:
        """A folder's manifest; None when the ref has no such folder."""
        if folder not in self._manifests:
            path = f"{self.templates_dir}/{folder}/{names.MANIFEST_FILE}"
            text = self._files([path]).get(path)
            self._manifests[folder] = None if text is None else json.loads(text)
        return self._manifests[folder]

    def configured(self, folder: str) -> dict[str, str]:
        """The configured root-parameter values the folder's manifest records."""
        return (self.manifest(folder) or {}).get("parameters", {})

    def folder(self, folder: str) -> dict[Path, dict[str, Any]]:
        """A folder's templates by stack path; empty when the ref has no such folder."""
        base = f"{self.templates_dir}/{folder}"
        manifest = self.manifest(folder)
        if manifest is None:
            return {}
        paths = template_paths(manifest)
        texts = self._files([f"{base}/{file}" for file in paths.values()])
        return {path: json.loads(texts[f"{base}/{file}"]) for path, file in paths.items()}

    def _files(self, paths: list[str]) -> dict[str, str]:
        """The text of each path at the ref that exists there, in one git process."""
        request = "".join(f"{self.ref}:{path}\n" for path in paths)
        output = subprocess.run(["git", "-C", str(self.repo), "cat-file", "--batch"], input=request.encode(),
                                capture_output=True, check=True).stdout
        found, position = {}, 0
        for path in paths:
            end = output.index(b"\n", position)
            header = output[position:end].decode()
            position = end + 1
            if header.endswith(" missing"):
                continue
            size = int(header.rsplit(" ", 1)[1])
            found[path] = output[position:position + size].decode("utf-8")
            position += size + 1
        return found


# --- the plan of one folder --------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    action: str
    properties: tuple[str, ...]
    replacement: str
    why: str


class Plan(ValueFlow):
    """What a deploy of `new` over `old` does to each resource, from the templates alone.
    Root parameters keep their values, except `changed_parameters`: the configured ones
    (per-account ARNs) whose config value the two builds' manifests record differently."""

    def __init__(self, old: Templates, new: Templates, changed_parameters: frozenset[str] = frozenset()):
        super().__init__(new.get, old.get, changed_parameters)
        self.old_templates = old
        self.new_templates = new
        self.change = lru_cache(maxsize=None)(self._change)

    def replaced(self, path: Path, logical_id: str) -> bool:
        change = self.change(path, logical_id)
        return change is not None and (change.action != "Modify" or change.replacement != "False")

    def unchanged(self, path: Path, logical_id: str) -> bool:
        return self.change(path, logical_id) is None

    def _change(self, path: Path, logical_id: str) -> Change | None:
        old, new = resource_of(self.old(path), logical_id), resource_of(self.new(path), logical_id)
        if not old:
            return Change("Add", (), "", "")
        if not new:
            return Change("Remove", (), "", "")
        if old["Type"] != new["Type"]:
            return Change("Modify", ("Type",), "True", f"the type changes from {old['Type']}")
        return self._modification(path, logical_id, old, new)

    def _modification(self, path: Path, logical_id: str, old: dict[str, Any],
                      new: dict[str, Any]) -> Change | None:
        resource_type = new["Type"]
        before, after = old.get("Properties", {}), new.get("Properties", {})
        written = sorted(changed_paths(before, after))
        read = sorted(name for name, value in after.items()
                      if before.get(name) == value and not self.value_unchanged(path, value))
        attributes = [name for name in ATTRIBUTES if old.get(name) != new.get(name)]
        if not (written or read or attributes):
            return None
        replacing = [p for p in written if replaces(resource_type, property_names(p))]
        if replacing:
            names_ = sorted({property_names(p)[0] for p in replacing})
            return Change("Modify", self._shown(written, read, attributes), "True",
                          f"{', '.join(names_)}: create-only, changed")
        maybe = [name for name in read if _may_replace(resource_type, name)]
        if maybe:
            sources = sorted({source for name in maybe for source in self.changing_sources(path, after[name])})
            return Change("Modify", self._shown(written, read, attributes), "Conditional",
                          f"may replace: {', '.join(maybe)} {_reads(sources)}")
        sources = sorted({source for name in read for source in self.changing_sources(path, after[name])})
        return Change("Modify", self._shown(written, read, attributes), "False",
                      _reads(sources) if sources else "")

    @staticmethod
    def _shown(written: list[tuple], read: list[str], attributes: list[str]) -> tuple[str, ...]:
        return tuple([*(dotted(p) for p in written), *read, *attributes])

    def changing_sources(self, path: Path, expression: Any) -> list[str]:
        """What an expression reads that changes: `parameter X`, `Y.Attr`, `Ref Z`."""
        if isinstance(expression, list):
            return [source for item in expression for source in self.changing_sources(path, item)]
        if not isinstance(expression, dict) or self.value_unchanged(path, expression):
            return []
        if len(expression) == 1:
            (function, argument), = expression.items()
            if function == "Ref":
                template = self.new(path) or {}
                return [f"parameter {argument}" if argument in template.get("Parameters", {}) else f"Ref {argument}"]
            if function == "Fn::GetAtt":
                return [".".join(argument)]
            if function == "Fn::Sub":
                return self.changing_sources(path, sub_references(argument))
        return [source for value in expression.values() for source in self.changing_sources(path, value)]


def _reads(sources: list[str]) -> str:
    return f"reads {', '.join(sources)}, which {'changes' if len(sources) == 1 else 'change'}"


def _may_replace(resource_type: str, name: str) -> bool:
    """A property that is create-only, or holds one."""
    return any(path[:1] == (name,) for path in create_only_paths(resource_type))


def changed_paths(before: Any, after: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Paths (keys and list indexes) where two JSON values differ, as deep as both agree
    on the shape."""
    if before == after:
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            yield from changed_paths(before.get(key), after.get(key), (*prefix, key))
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (old, new) in enumerate(zip(before, after)):
            yield from changed_paths(old, new, (*prefix, index))
    else:
        yield prefix


def property_names(path: tuple) -> tuple[str, ...]:
    """The property names of a path up to its first list index, as schemas name them."""
    names_ = []
    for part in path:
        if isinstance(part, int):
            break
        names_.append(part)
    return tuple(names_)


def dotted(path: tuple) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


# --- differences ---------------------------------------------------------------------------------


def diff_folder(folder: str, old: Templates, new: Templates,
                changed_parameters: frozenset[str] = frozenset()) -> FolderDiff:
    plan = Plan(old, new, changed_parameters)
    differences = [
        difference
        for path in sorted(set(old) | set(new))
        for difference in _stack_differences(folder, plan, path)
    ]
    return FolderDiff(folder, _note_moves(differences, plan))


def _stack_differences(folder: str, plan: Plan, path: Path) -> Iterator[Difference]:
    old, new = plan.old(path) or {}, plan.new(path) or {}
    logical_ids = sorted(set(old.get("Resources", {})) | set(new.get("Resources", {})))
    for logical_id in logical_ids:
        resource = resource_of(new, logical_id) or resource_of(old, logical_id)
        if resource["Type"] == NESTED_STACK_TYPE:
            continue  # its own template is compared at its own path
        change = plan.change(path, logical_id)
        if change is None:
            continue
        fate = fate_of(
            resource["Type"], change.action, change.replacement,
            deletion_policy=resource_of(old, logical_id).get("DeletionPolicy"),
            update_replace_policy=resource_of(new, logical_id).get("UpdateReplacePolicy"),
        )
        yield Difference(
            folder=folder, action=change.action, address="/".join((*path, logical_id)),
            resource_type=resource["Type"], properties=change.properties, replacement=change.replacement,
            why=change.why, fate=fate.summary if fate else "", lost=bool(fate and fate.lost),
        )


def _note_moves(differences: list[Difference], plan: Plan) -> list[Difference]:
    """A resource moved to another nested stack, or whose logical id changed, is a delete
    plus a create: say so on both rows."""
    removed = [d for d in differences if d.action == "Remove"]
    notes: dict[str, str] = {}
    for added in (d for d in differences if d.action == "Add"):
        source = next((r for r in removed if r.address not in notes and _same_resource(r, added, plan)), None)
        if source is None:
            continue
        moved = _stack_of(source.address) != _stack_of(added.address)
        verb = "moved" if moved else "renamed"
        notes[added.address] = f"{verb} from {source.address}: a new resource"
        notes[source.address] = f"{verb} to {added.address}: deleted here"
    return [_with_why(d, notes[d.address]) if d.address in notes else d for d in differences]


def _same_resource(removed: Difference, added: Difference, plan: Plan) -> bool:
    """The same logical id in another stack, or the same type and properties under
    another logical id in the same stack."""
    if removed.resource_type != added.resource_type:
        return False
    if _logical_id(removed.address) == _logical_id(added.address):
        return True
    if _stack_of(removed.address) != _stack_of(added.address):
        return False
    old = resource_of(plan.old(_stack_of(removed.address)), _logical_id(removed.address))
    new = resource_of(plan.new(_stack_of(added.address)), _logical_id(added.address))
    return old.get("Properties") == new.get("Properties")


def _stack_of(address: str) -> Path:
    return tuple(address.split("/")[:-1])


def _logical_id(address: str) -> str:
    return address.rsplit("/", 1)[-1]


def _with_why(difference: Difference, why: str) -> Difference:
    return Difference(**{**asdict(difference), "why": why})


# --- rendering -----------------------------------------------------------------------------------

COLUMNS = ("action", "resource", "type", "replace", "changed", "why")


def _cells(difference: Difference) -> tuple[str, ...]:
    return (difference.action, difference.address, difference.resource_type, difference.replacement or "-",
            ", ".join(difference.properties), difference.why)


def table(diffs: list[FolderDiff]) -> str:
    lines = []
    for folder in diffs:
        if not folder.differences:
            continue
        rows = [COLUMNS, *(_cells(d) for d in folder.differences)]
        widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
        lines += [f"templates/{folder.folder}", *(
            "  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows
        ), *_footer(folder), ""]
    unchanged = [folder.folder for folder in diffs if not folder.differences]
    if unchanged:
        lines.append(f"unchanged: {', '.join(unchanged)}")
    return "\n".join(lines).rstrip() + "\n"


def markdown(diffs: list[FolderDiff]) -> str:
    lines = []
    for folder in diffs:
        if not folder.differences:
            continue
        lines += [f"### templates/{folder.folder}", "", "| " + " | ".join(COLUMNS) + " |",
                  "|" + "---|" * len(COLUMNS)]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") or " " for cell in _cells(d)) + " |"
                  for d in folder.differences]
        lines += [*_footer(folder), ""]
    unchanged = [folder.folder for folder in diffs if not folder.differences]
    if unchanged:
        lines.append(f"Unchanged: {', '.join(unchanged)}")
    return "\n".join(lines).rstrip() + "\n"


def as_json(diffs: list[FolderDiff]) -> str:
    document = {
        "folders": [
            {"folder": folder.folder, "differences": [asdict(d) for d in folder.differences],
             "lost": [d.address for d in folder.lost], "left_behind": [d.address for d in folder.left_behind]}
            for folder in diffs
        ],
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def _footer(folder: FolderDiff) -> list[str]:
    lines = []
    for heading, rows in (("  left behind in the account (kept by their DeletionPolicy):", folder.left_behind),
                          ("  would lose stateful resources:", folder.lost)):
        if rows:
            lines += [heading, *(f"    {d.address} ({d.resource_type}): {d.fate}" for d in rows)]
    return lines


FORMATS = {"table": table, "json": as_json, "markdown": markdown}
