"""The canonical form of an emitted file: its JSON data, and its bytes.

Sorted keys, two-space indent, ASCII only (anything else escaped as \\uXXXX), a
trailing newline: exactly `json.dumps(document, sort_keys=True, indent=2)`, which
templates and manifests have always been. orjson writes the same bytes for an
ASCII document about ten times faster (Python's json falls back to its pure-Python
encoder whenever it indents); a document with other characters goes through json,
whose escaping orjson does not offer.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from troposphere import AWSHelperFn, BaseAWSObject, Template

_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS


def dumps(document: Any) -> bytes:
    data = orjson.dumps(document, option=_OPTIONS)
    if data.isascii():
        return data + b"\n"
    return (json.dumps(document, sort_keys=True, indent=2) + "\n").encode("ascii")


def loads(data: bytes) -> Any:
    """The data of a file `dumps` wrote."""
    return orjson.loads(data)


def document(template: Template) -> dict[str, Any]:
    """`template.to_dict()`, the same data, without troposphere's quadratic walk: its
    `encode_to_dict` encodes each object's dict and then encodes the result again at
    every level above it (3.5 million calls at 1,000 services). Objects are validated
    as `to_dict` validates them."""
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
    return plain(found)


def plain(value: Any) -> Any:
    """`troposphere.encode_to_dict(value)`: JSON data made of dicts, lists and scalars."""
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, dict):
        return {name: plain(item) for name, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, BaseAWSObject) and type(value).to_dict is BaseAWSObject.to_dict:
        return _object(value)
    if isinstance(value, AWSHelperFn) and type(value).to_dict is AWSHelperFn.to_dict:
        return plain(value.data)  # Ref, GetAtt, Sub, Join...
    if hasattr(value, "to_dict"):
        return plain(value.to_dict())
    if hasattr(value, "JSONrepr"):  # awacs
        return plain(value.JSONrepr())
    return value


def _object(value: BaseAWSObject) -> Any:
    """BaseAWSObject.to_dict(validation=True), recursing through `plain`."""
    if value.do_validation:
        value._validate_props()
        value.validate()
    if value.properties:
        return plain(value.resource)
    if hasattr(value, "resource_type"):
        return {name: plain(item) for name, item in value.resource.items() if name != "Properties"}
    return {}
