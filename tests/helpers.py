"""Assertions on emitted templates, in the spirit of aws-cdk's `assertions` module."""

from __future__ import annotations

import json
from typing import Any

from tap.stacktree import Stack


def as_dict(stack: Stack) -> dict[str, Any]:
    """The template exactly as emitted (rendering freezes the stack)."""
    return json.loads(stack.body)


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template.get("Resources", {}).items()
        if resource["Type"] == resource_type
    }


def only_resource(template: dict[str, Any], resource_type: str) -> dict[str, Any]:
    found = resources_of_type(template, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.values()))


def matches(actual: Any, expected: Any) -> bool:
    """True when `expected` is contained in `actual`: dicts partially, lists element-wise."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and matches(actual[key], value) for key, value in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(matches(a, e) for a, e in zip(actual, expected))
        )
    return actual == expected


def has_resource_properties(template: dict[str, Any], resource_type: str, partial: dict) -> bool:
    return any(
        matches(resource.get("Properties", {}), partial)
        for resource in resources_of_type(template, resource_type).values()
    )


def policy_statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return document["Statement"]


def statement_by_sid(document: dict[str, Any], sid: str) -> dict[str, Any]:
    found = [statement for statement in document["Statement"] if statement.get("Sid") == sid]
    assert found, f"no statement {sid!r} in {[s.get('Sid') for s in document['Statement']]}"
    return found[0]


def inline_policy(role: dict[str, Any]) -> dict[str, Any]:
    (policy,) = role["Properties"]["Policies"]
    return policy["PolicyDocument"]


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def text(template: dict[str, Any]) -> str:
    return json.dumps(template, sort_keys=True)
