"""Typed wiring into stacks that are made many times (service and pipeline shards).

A wiring class is a frozen dataclass whose fields are declared with
`wire(doc, type)`. The child calls `declare` and reads fields off the
result: the first read of a field declares its parameter and every read
returns a `Ref` to it, so a shard declares only the parameters it uses
(cfn-lint rejects unused ones). The parent builds an instance holding the
values and passes `arguments(values, child)`: the parameters the child
declared. Both sides derive names from the same fields, so no parameter
name is ever typed twice.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from troposphere import Ref

from tap.stacktree import Stack

Wiring = TypeVar("Wiring")


def wire(doc: str, type: str = "String") -> Any:
    return dataclasses.field(metadata={"doc": doc, "type": type})


def parameter_name(field: str, prefix: str = "") -> str:
    return prefix + "".join(part.capitalize() for part in field.split("_"))


class _Declared:
    """Reads of a wiring class's fields, each declaring its parameter on first use."""

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
                Description=(f"{self._what}: " if self._what else "") + field.metadata["doc"],
            )
            self._refs[name] = Ref(parameter)
        return self._refs[name]


def declare(stack: Stack, cls: type[Wiring], prefix: str = "", what: str = "") -> Wiring:
    """`cls`'s fields as parameters of `stack` (names start with `prefix`), declared when read."""
    return _Declared(stack, cls, prefix, what)  # type: ignore[return-value]


def arguments(values: Any, child: Stack, prefix: str = "") -> dict[str, Any]:
    """The nested-stack parameters that pass `values` to `child`: those it declared."""
    declared = child.template.parameters
    return {
        name: getattr(values, field.name)
        for field in dataclasses.fields(values)
        if (name := parameter_name(field.name, prefix)) in declared
    }


def subnets_and_group(stack: Stack, subnets: str, group: str, admits: str) -> tuple[Ref, Ref]:
    """The two parameters that place a resource: a subnet list and the security group that
    `admits` whom it should."""
    subnet_ids = stack.parameter(
        subnets, Type="List<AWS::EC2::Subnet::Id>",
        Description=f"{subnets.removesuffix('SubnetIds')} subnets, one per AZ.",
    )
    security_group = stack.parameter(
        group, Type="AWS::EC2::SecurityGroup::Id", Description=f"Admits {admits}."
    )
    return Ref(subnet_ids), Ref(security_group)
