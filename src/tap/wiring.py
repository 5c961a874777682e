"""Typed wiring between the stacks of a tree: every parameter and output name is written once.

A stack's inputs, and its outputs, are each a frozen dataclass whose fields
are declared with `wire(doc, type, **constraints)`. A name is derived from its
field (`licenses_table_arn` → `LicensesTableArn`, after an optional prefix for
stacks that hold many of a thing), so the two ends of a wire never spell it
separately, and a misspelt field is an `AttributeError` (and a mypy error):

    # the child                                 # the parent
    inputs = declare(stack, EdgeInputs)          tables = database.outputs(DatabaseOutputs)
    ... inputs.licenses_table_arn ...            root.nest(edge_stack(...), EdgeInputs(
    publish(stack, EdgeOutputs(...))                 licenses_table_arn=tables.licenses_table_arn))

`declare` declares a parameter the first time its field is read, so a stack
declares only what it uses (cfn-lint rejects unused parameters) and one
inputs class can serve many stacks. `Stack.nest` passes each declared
parameter from the inputs it is given and fails the build when one is
missing, given twice, or given no value (`None`: a setting the config leaves
out). `NestedStack.outputs` reads a child's outputs as `Fn::GetAtt`, failing
the build when the child has no such output.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from troposphere import GetAtt, Ref

from tap.cfnvalue import CfnValue

if TYPE_CHECKING:
    from tap.stacktree import NestedStack, Stack

Wires = TypeVar("Wires")
# Words whose spelling `capitalize` would break in a parameter name.
_SPELLED = {"github": "GitHub"}


def wire(doc: str, type: str = "String", **constraints: Any) -> Any:
    """A field of an inputs or outputs class: its description, parameter type and any
    parameter constraints (Default, AllowedPattern, AllowedValues, ConstraintDescription)."""
    return dataclasses.field(metadata={"doc": doc, "type": type, "constraints": constraints})


def describe(doc: str, what: str) -> str:
    """A field's description for one of many things: `what` fills the doc's "{what}", or
    leads it ("orders: ..."); without `what`, the doc as written."""
    if not what:
        return doc
    return doc.format(what=what) if "{what}" in doc else f"{what}: {doc}"


def parameter_name(field: str, prefix: str = "") -> str:
    return prefix + "".join(_SPELLED.get(part) or part.capitalize() for part in field.split("_"))


@dataclass(frozen=True)
class Prefixed:
    """Inputs passed under a prefix: those of one of many things a stack holds."""

    values: Any
    prefix: str


def prefixed(values: Any, prefix: str) -> Prefixed:
    return Prefixed(values, prefix)


def passed(inputs: Any) -> Iterator[tuple[str, Any]]:
    """(parameter name, value) of every field of `inputs`: a wiring dataclass, a `Prefixed`
    one, or a mapping whose names both ends compute with one function."""
    if isinstance(inputs, Mapping):
        yield from inputs.items()
        return
    values, prefix = (inputs.values, inputs.prefix) if isinstance(inputs, Prefixed) else (inputs, "")
    # A sibling's outputs read by the parent pass on as they are.
    for field in dataclasses.fields(_class_of(values)):
        yield parameter_name(field.name, prefix), getattr(values, field.name)


class _Declared:
    """Reads of an inputs class's fields, each declaring its parameter on first use."""

    def __init__(self, stack: Stack, cls: type, prefix: str, what: str):
        self._stack = stack
        self._fields = {field.name: field for field in dataclasses.fields(cls)}
        self._prefix = prefix
        self._what = what
        self._refs: dict[str, Ref] = {}

    def __getattr__(self, name: str) -> Ref:
        field = self._fields.get(name)
        if field is None:
            raise AttributeError(name)
        if name not in self._refs:
            parameter = self._stack.parameter(
                parameter_name(name, self._prefix),
                Type=field.metadata["type"],
                Description=describe(field.metadata["doc"], self._what),
                **field.metadata["constraints"],
            )
            self._refs[name] = Ref(parameter)
        return self._refs[name]


def declare(stack: Stack, cls: type[Wires], prefix: str = "", what: str = "") -> Wires:
    """`cls`'s fields as parameters of `stack` (names start with `prefix`, descriptions
    with `what`), each declared when first read."""
    return _Declared(stack, cls, prefix, what)  # type: ignore[return-value]


def named(values: Any, cls: type, prefix: str = "") -> dict[str, CfnValue]:
    """Every field of `values` (an instance or a declared view of `cls`) by its name."""
    return {parameter_name(field.name, prefix): getattr(values, field.name) for field in dataclasses.fields(cls)}


def publish(
    stack: Stack, outputs: Any, prefix: str = "", what: str = "", suffix: str = "",
    condition: str | None = None,
) -> None:
    """One output of `stack` per field of `outputs` that holds a value (None: not made),
    described by the field's doc (see `describe`) and `suffix`, made under `condition` if
    given. `outputs` may be a child's outputs as its parent reads them: the parent passes
    them on, one level up."""
    for field in dataclasses.fields(_class_of(outputs)):
        value = getattr(outputs, field.name)
        if value is not None:
            output = stack.output(parameter_name(field.name, prefix), value,
                                  describe(field.metadata["doc"], what) + suffix)
            if condition is not None:
                output.Condition = condition


def _class_of(values: Any) -> Any:
    return values.cls if isinstance(values, _Read) else values


class _Read:
    """A child's outputs as its parent reads them: each field a `Fn::GetAtt`."""

    def __init__(self, nested: NestedStack, cls: type, prefix: str):
        self.cls = cls
        self._nested = nested
        self._fields = {field.name for field in dataclasses.fields(cls)}
        self._prefix = prefix

    def __getattr__(self, name: str) -> GetAtt:
        if name not in self._fields:
            raise AttributeError(name)
        return self._nested.output(parameter_name(name, self._prefix))


def read(nested: NestedStack, cls: type[Wires], prefix: str = "") -> Wires:
    return _Read(nested, cls, prefix)  # type: ignore[return-value]
