"""The canonical form of an emitted file: its JSON data, and its bytes.

Sorted keys, two-space indent, ASCII only (anything else escaped as \\uXXXX), a
trailing newline: exactly `json.dumps(document, sort_keys=True, indent=2)`, which
templates and manifests have always been. orjson writes the same bytes for an
ASCII document about ten times faster (Python's json falls back to its pure-Python
encoder whenever it indents); a document with other characters goes through json,
whose escaping orjson does not offer.

A template is written straight from its troposphere objects: orjson asks `_encoded`
for each object it does not know, and that object's own dict goes on through orjson,
so no plain copy of the template is ever built.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from troposphere import AWSHelperFn, BaseAWSObject, Template

_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS


def dumps(document: Any) -> bytes:
    """The canonical bytes of JSON data, or of a template's `sections`."""
    data = orjson.dumps(document, default=_encoded, option=_OPTIONS)
    if data.isascii():
        return data + b"\n"
    return (json.dumps(plain(document), sort_keys=True, indent=2) + "\n").encode("ascii")


def loads(data: bytes) -> Any:
    """The data of a file `dumps` wrote."""
    return orjson.loads(data)


def sections(template: Template) -> dict[str, Any]:
    """The template's sections as `template.to_dict()` has them, still troposphere
    objects: `dumps` writes them as `to_dict` would, validating each object as it does,
    without troposphere's quadratic walk (its `encode_to_dict` encodes each object's
    dict and then the result again at every level above it)."""
    sections = {
        "Description": template.description,
        "Metadata": template.metadata,
        "Conditions": template.conditions,
        "Mappings": template.mappings,
        "Outputs": template.outputs,
        "Parameters": template.parameters,
        "AWSTemplateFormatVersion": template.version,
        "Transform": template.transform,
        "Rules": template.rules,
        "Globals": template.globals,
    }
    found = {name: value for name, value in sections.items() if value}
    found["Resources"] = template.resources
    return found


def plain(value: Any) -> Any:
    """`value` as JSON data (dicts, lists and scalars): what `troposphere.encode_to_dict`
    makes of it, encoded as `dumps` encodes it."""
    return orjson.loads(orjson.dumps(value, default=_encoded))


def _own_dict(value: BaseAWSObject) -> dict[str, Any]:
    """What `BaseAWSObject.to_dict` encodes, before encoding it: validated first."""
    if value.do_validation:
        value._validate_props()
        value.validate()
    if value.properties:
        return value.resource
    if hasattr(value, "resource_type"):
        return {name: item for name, item in value.resource.items() if name != "Properties"}
    return {}


# How `_encoded` treats each class it meets, found once per class (a template has
# ~100,000 objects of a few hundred classes).
_OBJECT, _HELPER, _TO_DICT, _JSON_REPR, _UNKNOWN = range(5)
_kinds: dict[type, int] = {}


def _kind(cls: type) -> int:
    to_dict = getattr(cls, "to_dict", None)
    if to_dict is BaseAWSObject.to_dict:
        kind = _OBJECT
    elif to_dict is AWSHelperFn.to_dict:
        kind = _HELPER  # Ref, GetAtt, Sub, Join...
    elif to_dict is not None:
        kind = _TO_DICT
    elif hasattr(cls, "JSONrepr"):  # awacs
        kind = _JSON_REPR
    else:
        kind = _UNKNOWN
    _kinds[cls] = kind
    return kind


def _encoded(value: Any) -> Any:
    """orjson's `default`, for an object it does not know: that object's own data, one
    level deep; orjson encodes it, asking again for the objects inside."""
    cls = type(value)
    kind = _kinds.get(cls)
    if kind is None:
        kind = _kind(cls)
    if kind == _OBJECT:
        return _own_dict(value)
    if kind == _HELPER:
        return value.data
    if kind == _TO_DICT:
        return value.to_dict()
    if kind == _JSON_REPR:
        return value.JSONrepr()
    raise TypeError(f"{cls.__name__} is not JSON data")
