"""The review of a change set: one row per resource change across the root and every
nested change set, the gate that stops a deploy from losing a stateful resource, and
the review rendered as a table, JSON and Markdown.

Nested change sets report a resource whose property comes from a nested-stack
parameter fed by a sibling's `Fn::GetAtt ... Outputs` as possibly replaced, because
CloudFormation does not follow values across stacks (see
aws-cloudformation/cloudformation-coverage-roadmap#759). Every tap child is wired that
way, so the review reconciles: when the value's source cannot have changed (the
sibling's template and inputs are the deployed ones) and the consumer's own template
did not change the property, the change is marked as caused by an unchanged sibling
output and does not count as a replacement.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

from tap.blocks.lifecycle import fate_of
from tap.deploy.changesets import ChangeSetNode
from tap.deploy.stacks import NESTED_STACK_TYPE, DeployedStack, Path, address
from tap.errors import GateRefused, UserError
from tap.valueflow import TemplateOf, ValueFlow, resource_of

UNCHANGED_SOURCE = "caused by an unchanged sibling output"
ISSUE_759 = "https://github.com/aws-cloudformation/cloudformation-coverage-roadmap/issues/759"


@dataclass(frozen=True)
class Row:
    """One resource change, as a person reads it."""

    action: str
    address: str
    resource_type: str
    replacement: str = ""  # True | Conditional | False, as CloudFormation says (Modify only)
    properties: tuple[str, ...] = ()
    causes: tuple[str, ...] = ()
    physical_id: str = ""
    reconciled: str = ""  # set when the change cannot change anything (see Reconciler)
    fate: str = ""  # what happens to a stateful resource's data
    lost: bool = False



@dataclass(frozen=True)
class ParameterChange:
    name: str
    old: str | None
    new: str | None
    source: str


@dataclass
class Review:
    stack_name: str
    change_set_arn: str
    change_set_type: str
    account: str
    region: str
    rows: list[Row]
    parameters: list[ParameterChange] = field(default_factory=list)
    allowed: tuple[str, ...] = ()
    stack_last_updated: str | None = None
    # Stateful logical ids of each stack in the new templates, by stack path ("" is the
    # root): what `execute` protects with stack policies, without the build at hand.
    protected: dict[str, list[str]] = field(default_factory=dict)
    target: str = ""  # what ./deploy.sh commands name: "distribution dev", "bootstrap"

    @property
    def lost(self) -> list[Row]:
        return [row for row in self.rows if row.lost]

    @property
    def blocked(self) -> list[Row]:
        return [row for row in self.lost if row.address not in self.allowed]

    @property
    def left_behind(self) -> list[Row]:
        return [row for row in self.rows if row.fate and not row.lost]

    @property
    def adopted(self) -> list[Row]:
        """Resources the change set imports: they exist outside any stack (retained by an
        earlier one) and join this one as they are, data and all."""
        return [row for row in self.rows if row.action == "Import"]

    @property
    def real(self) -> list[Row]:
        """The changes that change something (the rest only echo other stacks' outputs)."""
        return [row for row in self.rows if not row.reconciled]

    @property
    def echoes(self) -> list[Row]:
        return [row for row in self.rows if row.reconciled]

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for row in self.real:
            found[row.action] = found.get(row.action, 0) + 1
        return found

    def to_json(self) -> str:
        document = asdict(self)
        document["blocked"] = [row.address for row in self.blocked]
        document["left_behind"] = [row.address for row in self.left_behind]
        return json.dumps(document, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "Review":
        document = json.loads(text)
        document.pop("blocked", None)
        document.pop("left_behind", None)
        document["rows"] = [Row(**{**row, "properties": tuple(row["properties"]),
                                   "causes": tuple(row["causes"])}) for row in document["rows"]]
        document["parameters"] = [ParameterChange(**change) for change in document["parameters"]]
        document["allowed"] = tuple(document["allowed"])
        return cls(**document)


# --- building the rows -------------------------------------------------------------------


def build_rows(
    tree: ChangeSetNode,
    new_template: TemplateOf,
    old_template: TemplateOf,
    deployed: Mapping[Path, DeployedStack],
    changed_root_parameters: frozenset[str],
) -> list[Row]:
    reconciler = Reconciler(tree, new_template, old_template, changed_root_parameters)
    return list(_rows(tree, new_template, old_template, deployed, reconciler))


def _rows(
    node: ChangeSetNode, new_template: TemplateOf, old_template: TemplateOf,
    deployed: Mapping[Path, DeployedStack], reconciler: "Reconciler",
) -> Iterator[Row]:
    for logical_id, change in _changes_by_id(node).items():
        if change["ResourceType"] == NESTED_STACK_TYPE:
            if logical_id in node.children:
                yield from _rows(node.children[logical_id], new_template, old_template, deployed,
                                 reconciler)
                continue
            if change["Action"] == "Remove" and (*node.path, logical_id) in deployed:
                yield from _removed_stack_rows((*node.path, logical_id), old_template, deployed)
                continue
        reconciled = UNCHANGED_SOURCE if reconciler.spurious(node.path, logical_id) else ""
        yield _row(node.path, change, new_template, old_template, reconciled)


def _changes_by_id(node: ChangeSetNode) -> dict[str, dict[str, Any]]:
    return {change["LogicalResourceId"]: change for change in node.changes}


def _row(
    path: Path, change: dict[str, Any], new_template: TemplateOf, old_template: TemplateOf,
    reconciled: str,
) -> Row:
    logical_id = change["LogicalResourceId"]
    action = change["Action"]
    details = change.get("Details", [])
    replacement = change.get("Replacement", "") if action == "Modify" else ""
    new = resource_of(new_template(path), logical_id)
    old = resource_of(old_template(path), logical_id)
    fate = fate_of(
        change["ResourceType"], action, "False" if reconciled else replacement,
        deletion_policy=old.get("DeletionPolicy"), update_replace_policy=new.get("UpdateReplacePolicy"),
    )
    return Row(
        action=action,
        address=address(path, logical_id),
        resource_type=change["ResourceType"],
        replacement=replacement,
        properties=tuple(sorted({_target_name(detail) for detail in details if "Target" in detail})),
        causes=tuple(sorted({_cause(detail) for detail in details})),
        physical_id=change.get("PhysicalResourceId", ""),
        reconciled=reconciled,
        fate=fate.summary if fate else "",
        lost=bool(fate and fate.lost),
    )


def _removed_stack_rows(
    path: Path, old_template: TemplateOf, deployed: Mapping[Path, DeployedStack]
) -> Iterator[Row]:
    """A removed nested stack has no nested change set; its resources go with it."""
    template = old_template(path) or {}
    for logical_id, summary in sorted(deployed[path].resources.items()):
        if summary["ResourceType"] == NESTED_STACK_TYPE and (*path, logical_id) in deployed:
            yield from _removed_stack_rows((*path, logical_id), old_template, deployed)
            continue
        policy = resource_of(template, logical_id).get("DeletionPolicy")
        fate = fate_of(summary["ResourceType"], "Remove", deletion_policy=policy)
        yield Row(
            action="Remove", address=address(path, logical_id), resource_type=summary["ResourceType"],
            causes=("nested stack removed",), physical_id=summary.get("PhysicalResourceId", ""),
            fate=fate.summary if fate else "", lost=bool(fate and fate.lost),
        )


def _target_name(detail: dict[str, Any]) -> str:
    target = detail["Target"]
    return target.get("Name") or target.get("Attribute", "")


def _cause(detail: dict[str, Any]) -> str:
    source = detail.get("ChangeSource", "")
    entity = detail.get("CausingEntity", "")
    if source == "DirectModification":
        return "template"
    if source == "ParameterReference":
        return f"parameter {entity}"
    if source in ("ResourceReference", "ResourceAttribute"):
        return entity or source
    if source == "Automatic":
        return "nested stack"
    return source or detail.get("Evaluation", "")


class Reconciler(ValueFlow):
    """Decides whether a change CloudFormation reports can be real, following its causes
    back through the stack's own resources, its parameters, and up to the outputs of the
    sibling stacks that feed them, each read in its own nested change set."""

    def __init__(self, tree: ChangeSetNode, new_template: TemplateOf, old_template: TemplateOf,
                 changed_root_parameters: frozenset[str]):
        super().__init__(new_template, old_template, changed_root_parameters)
        self.changes = {node.path: _changes_by_id(node) for node in tree.walk()}
        self.spurious = lru_cache(maxsize=None)(self._spurious)

    def _spurious(self, path: Path, logical_id: str) -> bool:
        """True when the change of `logical_id` in the stack at `path` cannot change
        anything: each of its details is a value whose source is unchanged, feeding a
        property the template did not change. A resource not in the change set is not
        changing at all."""
        change = self.changes.get(path, {}).get(logical_id)
        if change is None:
            return True
        if change["Action"] != "Modify" or not change.get("Details"):
            return False
        return all(self._detail_spurious(path, logical_id, detail) for detail in change["Details"])

    def _detail_spurious(self, path: Path, logical_id: str, detail: dict[str, Any]) -> bool:
        target = detail.get("Target", {})
        name = target.get("Name") if target.get("Attribute") == "Properties" else None
        if not self.property_unchanged(path, logical_id, name):
            return False
        source, entity = detail.get("ChangeSource"), detail.get("CausingEntity", "")
        if source == "ParameterReference":
            return self.input_unchanged(path, entity)
        if source == "ResourceReference":
            return not self.replaced(path, entity)
        if source == "ResourceAttribute":
            source_id, _, attribute = entity.partition(".")
            return self.attribute_unchanged(path, source_id, attribute)
        return False

    def replaced(self, path: Path, logical_id: str) -> bool:
        change = self.changes.get(path, {}).get(logical_id)
        if change is None:
            return False
        if change["Action"] != "Modify":
            return True
        return change.get("Replacement", "False") != "False" and not self.spurious(path, logical_id)

    def unchanged(self, path: Path, logical_id: str) -> bool:
        return self.spurious(path, logical_id)


# --- the gate ---------------------------------------------------------------------------------


def gate(review: Review) -> None:
    """Stop (exit 3) when the change set would lose a stateful resource nobody allowed."""
    losing = {row.address for row in review.lost}
    unknown = sorted(set(review.allowed) - losing)
    if unknown:
        would = ", ".join(sorted(losing)) or "none"
        raise UserError(f"--allow-replace {', '.join(unknown)}: not a stateful resource this change "
                        f"set replaces or deletes; it would: {would}")
    if review.blocked:
        lines = "\n".join(f"  {row.address} ({row.resource_type}): {row.fate}" for row in review.blocked)
        flags = " ".join(f"--allow-replace {row.address}" for row in review.blocked)
        raise GateRefused(
            f"the change set would lose stateful resources:\n{lines}\n"
            f"Nothing was executed. If losing them is intended, run again with {flags}"
        )


# --- rendering --------------------------------------------------------------------------------

COLUMNS = ("action", "resource", "type", "replace", "changed", "cause")


def _cells(row: Row) -> tuple[str, ...]:
    return (row.action, row.address, row.resource_type, row.replacement or "-", ", ".join(row.properties),
            ", ".join(row.causes))


def table(review: Review) -> str:
    """The review as a person reads it in a terminal: the changes that change something,
    then what they mean for stateful resources."""
    rows = [COLUMNS, *(_cells(row) for row in review.real)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    return "\n".join([_heading(review), "", *lines, "", *_footer(review)]).rstrip() + "\n"


def markdown(review: Review) -> str:
    def escape(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [f"### {_heading(review)}", "", "| " + " | ".join(COLUMNS) + " |",
             "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(escape(cell) or " " for cell in _cells(row)) + " |" for row in review.real]
    return "\n".join([*lines, "", *_footer(review)]).rstrip() + "\n"


def _heading(review: Review) -> str:
    what = "create" if review.change_set_type == "CREATE" else "update"
    return (f"Change set {review.change_set_arn.rsplit('/', 2)[-2]} to {what} stack "
            f"{review.stack_name} (account {review.account}, {review.region})")


def _footer(review: Review) -> list[str]:
    counts = review.counts()
    summary = ", ".join(f"{counts[action]} {verb}" for action, verb in (
        ("Add", "to add"), ("Modify", "to modify"), ("Remove", "to remove"), ("Import", "to import"),
        ("Dynamic", "dynamic")) if action in counts)
    lines = [f"{len(review.real)} changes: {summary or 'none'}"]
    for change in review.parameters:
        lines.append(f"parameter {change.name}: {_shown(change.old)} -> {_shown(change.new)} "
                     f"({change.source})")
    if review.echoes:
        stacks: dict[str, int] = {}
        for row in review.echoes:
            stack = row.address.rsplit("/", 1)[0] if "/" in row.address else "(root)"
            stacks[stack] = stacks.get(stack, 0) + 1
        where = ", ".join(f"{stack} {count}" for stack, count in stacks.items())
        lines.append(f"and {len(review.echoes)} more that CloudFormation lists because their values come "
                     f"from other stacks' outputs, which this update leaves as they are ({where}; "
                     f"in the saved review; {ISSUE_759})")
    if review.adopted:
        lines += ["", "Imported with their data (they exist outside any stack, retained by an earlier one):",
                  *(f"  {row.address} ({row.resource_type}): {row.physical_id}" for row in review.adopted)]
    for heading, rows in (("Left behind in the account (kept by their DeletionPolicy):", review.left_behind),
                          ("Allowed by --allow-replace:", [r for r in review.lost if r.address in review.allowed]),
                          ("Would lose stateful resources (the deploy stops):", review.blocked)):
        if rows:
            lines += ["", heading, *(f"  {row.address} ({row.resource_type}): {row.fate}" for row in rows)]
    return lines


def _shown(value: str | None) -> str:
    if value is None:
        return "(none)"
    flat = " ".join(value.split())
    return flat if len(flat) <= 48 else flat[:45] + "..."
