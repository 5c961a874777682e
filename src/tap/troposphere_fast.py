"""troposphere's object set-up, made cheap: the same objects, errors and templates.

A build at 1,000 services makes ~100,000 troposphere objects, and setting them up was
a third of its time. For every object, `BaseAWSObject.__init__` copies its class's
property names into a new set and looks each of them up on the class for a default
(60 lookups for a resource of 60 properties, to set one or two), and every property
set goes through a `__setattr__` that re-derives from scratch how to check it.

`install()` replaces those two methods with versions that work that out once per class
and otherwise do exactly what troposphere does, in the same order; any case they do not
handle on a fast path (a list of types, a validator that raises, an unknown name) goes
to troposphere's own method, so errors are troposphere's word for word. They are
written against one troposphere version: with any other, `install()` leaves troposphere
as it is (`tests/tooling/test_troposphere_fast.py` holds them to the original).
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Any

import troposphere
from troposphere import AWSHelperFn, BaseAWSObject, Tags

WRITTEN_FOR = "4.11.1"

_ATTRIBUTES = [
    "Condition", "CreationPolicy", "DeletionPolicy", "DependsOn", "Metadata", "UpdatePolicy",
    "UpdateReplacePolicy",
]

original_init = BaseAWSObject.__init__
original_setattr = BaseAWSObject.__setattr__

# How a property's value is checked, by the first element of its `props` entry.
_TYPE, _FUNCTION, _OTHER = range(3)


@dataclass(frozen=True)
class _Shape:
    """What troposphere recomputes for every object of a class."""

    propnames: set[str]  # shared by the class's objects; troposphere never changes it
    defaults: list[tuple[str, Any]]  # properties given a value on the class itself
    dictname: str | None
    resource_type: str | None
    checks: dict[str, tuple[int, Any]]  # property name: (how to check, what to check with)


_shapes: dict[type, _Shape] = {}


def _check_of(expected: Any) -> tuple[int, Any]:
    if isinstance(expected, types.FunctionType):
        return _FUNCTION, expected
    if isinstance(expected, type) or (
        isinstance(expected, tuple) and all(isinstance(member, type) for member in expected)
    ):
        return _TYPE, expected
    return _OTHER, expected


def _shape_of(cls: type) -> _Shape:
    props = cls.props  # type: ignore[attr-defined]
    shape = _Shape(
        propnames=set(props),
        defaults=[(name, getattr(cls, name)) for name in props if getattr(cls, name, None) is not None],
        dictname=getattr(cls, "dictname", None),
        resource_type=getattr(cls, "resource_type", None),
        checks={name: _check_of(spec[0]) for name, spec in props.items() if name not in _ATTRIBUTES},
    )
    _shapes[cls] = shape
    return shape


def _init(self: Any, title: str | None, template: Any = None, validation: bool = True,
          **kwargs: Any) -> None:
    """`BaseAWSObject.__init__`, with what depends only on the class worked out once."""
    shape = _shapes.get(type(self)) or _shape_of(type(self))
    state = self.__dict__
    state["title"] = title
    state["template"] = template
    state["do_validation"] = validation
    state["propnames"] = shape.propnames
    state["attributes"] = _ATTRIBUTES  # never changed by troposphere either
    if title:
        self.validate_title()
    properties: dict[str, Any] = {}
    state["properties"] = properties
    state["resource"] = {shape.dictname: properties} if shape.dictname else properties
    if shape.resource_type is not None:
        state["resource"]["Type"] = shape.resource_type
    state["_BaseAWSObject__initialized"] = True
    for name, value in shape.defaults:
        if name not in kwargs:
            self.__setattr__(name, value)
    for name, value in kwargs.items():
        self.__setattr__(name, value)
    self.add_to_template()


def _setattr(self: Any, name: str, value: Any) -> None:
    """`BaseAWSObject.__setattr__` for a property checked by type or by a validator that
    accepts the value; anything else is troposphere's own."""
    state = self.__dict__
    if "_BaseAWSObject__initialized" in state and name not in state:
        shape = _shapes.get(type(self))
        check = shape.checks.get(name) if shape is not None else None
        if check is not None:
            how, expected = check
            if isinstance(value, AWSHelperFn) and not isinstance(value, Tags):
                state["properties"][name] = value  # checked by CloudFormation, as troposphere says
                return
            if how == _TYPE and isinstance(value, expected):
                state["properties"][name] = value
                return
            if how == _FUNCTION:
                try:
                    state["properties"][name] = expected(value)
                    return
                except Exception:  # noqa: BLE001 - troposphere's own method reports it
                    pass
    original_setattr(self, name, value)


def install() -> bool:
    """Use the fast set-up if troposphere is the version it was written for."""
    if troposphere.__version__ != WRITTEN_FOR:
        return False
    BaseAWSObject.__init__ = _init
    BaseAWSObject.__setattr__ = _setattr
    return True
