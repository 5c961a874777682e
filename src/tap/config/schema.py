"""Turn a TOML table into a frozen, typed settings dataclass.

Settings classes are plain frozen dataclasses whose fields are declared with
`setting(...)`. The field's type annotation says what the TOML value must be
(bool, int, float, str, Literal[...], Optional[...], tuple[X, ...],
Mapping[str, str] or another settings class); an optional `check` narrows
the value (a range, a pattern). A class may define `validate(self)` for
rules that span fields and raise `Invalid` from it.

Every rejection names the dotted key, the bad value and what is allowed;
the loader adds the file name.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING
from typing import Any, Callable, Literal, Union, get_args, get_origin


class Invalid(Exception):
    """A rejected value: what is wrong with it and what would be accepted.

    `key` is relative to the table being parsed; parents prefix their own
    path as the error travels up.
    """

    def __init__(self, problem: str, allowed: str, key: str = ""):
        super().__init__(problem)
        self.problem = problem
        self.allowed = allowed
        self.key = key

    def under(self, prefix: str) -> "Invalid":
        self.key = join_key(prefix, self.key)
        return self


@dataclasses.dataclass(frozen=True)
class Check:
    """A named predicate: `allowed` is shown to the user when `test` fails."""

    allowed: str
    test: Callable[[Any], bool]

    def __call__(self, value: Any) -> None:
        if not self.test(value):
            raise Invalid(f"{show(value)} is not allowed", self.allowed)


def setting(default: Any = MISSING, *, check: Check | None = None, doc: str = "") -> Any:
    """Declare a settings field; a field without a default is required."""
    metadata = {"check": check, "doc": doc}
    if isinstance(default, (list, dict)):
        frozen_default = _freeze(default)
        return dataclasses.field(default_factory=lambda: frozen_default, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def internal(default: Any = "") -> Any:
    """A field the loader fills in (such as the environment name); not allowed in files."""
    return dataclasses.field(default=default, metadata={"internal": True})


def join_key(prefix: str, key: str) -> str:
    if not prefix:
        return key
    if not key:
        return prefix
    return f"{prefix}{key}" if key.startswith("[") else f"{prefix}.{key}"


def show(value: Any) -> str:
    """A value as the user wrote it in TOML (strings quoted, booleans lower-case)."""
    if isinstance(value, Mapping):
        return "a table"
    try:
        return json.dumps(value)
    except TypeError:
        return repr(value)


def parse(cls: type, table: Any, **internal_values: Any) -> Any:
    """Build `cls` from a TOML table, raising `Invalid` with a dotted key on the first problem."""
    if not isinstance(table, Mapping):
        raise Invalid(f"{show(table)} is not a table", describe(cls))
    hints, declared = _fields_of(cls)
    _reject_unknown_keys(table, declared)

    values: dict[str, Any] = dict(internal_values)
    for name, spec in declared.items():
        if name not in table:
            if spec.default is MISSING and spec.default_factory is MISSING:
                raise Invalid("required setting is missing", describe(hints[name]), key=name)
            continue
        try:
            value = convert(hints[name], table[name])
            check = spec.metadata.get("check")
            if check is not None:
                check(value)
        except Invalid as err:
            raise err.under(name) from None
        values[name] = value

    settings = cls(**values)
    validate = getattr(settings, "validate", None)
    if validate is not None:
        validate()
    return settings


@functools.cache
def _fields_of(cls: type) -> tuple[dict[str, Any], dict[str, dataclasses.Field]]:
    """A settings class's type hints and its settable fields (asked once per class: a
    config of 1,000 services parses one table per service)."""
    declared = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    return typing.get_type_hints(cls), declared


def _reject_unknown_keys(table: Mapping, declared: Mapping[str, Any]) -> None:
    for key in table:
        if key in declared:
            continue
        close = difflib.get_close_matches(key, list(declared), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        allowed = ", ".join(sorted(declared)) or "no keys"
        raise Invalid(f"unknown setting{hint}", allowed, key=key)


def convert(kind: Any, value: Any) -> Any:
    """Check `value` against the annotation `kind` and return it in its frozen form."""
    origin = get_origin(kind)
    if origin is Literal:
        choices = get_args(kind)
        if value not in choices or isinstance(value, bool) != isinstance(choices[0], bool):
            raise Invalid(f"{show(value)} is not one of the choices", describe(kind))
        return value
    if origin in (Union, types.UnionType):
        (inner,) = [arg for arg in get_args(kind) if arg is not type(None)]
        return convert(inner, value)
    if origin is tuple:
        return _convert_list(get_args(kind)[0], value, kind)
    if origin in (Mapping, dict, typing.Mapping) or kind is Mapping:
        return _convert_string_table(value, kind)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return parse(kind, value)
    return _convert_scalar(kind, value)


def _convert_list(item_kind: Any, value: Any, kind: Any) -> tuple:
    if not isinstance(value, list):
        raise Invalid(f"{show(value)} is not a list", describe(kind))
    items = []
    for index, item in enumerate(value):
        try:
            items.append(convert(item_kind, item))
        except Invalid as err:
            raise err.under(f"[{index}]") from None
    return tuple(items)


def _convert_string_table(value: Any, kind: Any) -> Mapping[str, str]:
    if not isinstance(value, Mapping):
        raise Invalid(f"{show(value)} is not a table", describe(kind))
    for key, item in value.items():
        if not isinstance(item, str):
            raise Invalid(f"{show(item)} is not a string", "a string value", key=key)
    return types.MappingProxyType(dict(sorted(value.items())))


def _convert_scalar(kind: Any, value: Any) -> Any:
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif kind is str:
        ok = isinstance(value, str)
    else:
        raise TypeError(f"settings field type {kind!r} is not supported")
    if not ok:
        raise Invalid(f"{show(value)} has the wrong type", describe(kind))
    return value


def describe(kind: Any) -> str:
    """What a value of annotation `kind` looks like, in words a user understands."""
    origin = get_origin(kind)
    if origin is Literal:
        return "one of " + ", ".join(show(choice) for choice in get_args(kind))
    if origin in (Union, types.UnionType):
        (inner,) = [arg for arg in get_args(kind) if arg is not type(None)]
        return describe(inner)
    if origin is tuple:
        return f"a list of {describe(get_args(kind)[0])}"
    if origin in (Mapping, dict, typing.Mapping):
        return "a table of string values"
    if dataclasses.is_dataclass(kind):
        keys = [f.name for f in dataclasses.fields(kind) if not f.metadata.get("internal")]
        return "a table with keys " + ", ".join(keys)
    names = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}
    return names.get(kind, str(kind))


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return types.MappingProxyType(dict(value))
    if isinstance(value, list):
        return tuple(value)
    return value
