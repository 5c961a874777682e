"""Just enough of IAM's policy evaluation to ask "does this role allow this request":
actions and resources with `*` and `?` wildcards, Allow and Deny, and the condition
operators tap's roles use. An operator it does not know fails loudly rather than
answering for IAM.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Request:
    """One authorisation IAM makes: an action on a resource ("*" when the action has
    none), with the request's condition keys."""

    action: str
    resource: str
    context: tuple[tuple[str, str], ...] = field(default=())

    def key(self, name: str) -> str | None:
        return dict(self.context).get(name)


def _pattern(text: str, ignore_case: bool) -> re.Pattern:
    body = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in text)
    return re.compile(f"^{body}$", re.IGNORECASE if ignore_case else 0)


def _listed(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def action_matches(pattern: str, action: str) -> bool:
    return bool(_pattern(pattern, ignore_case=True).match(action))


def resource_matches(pattern: str, resource: str) -> bool:
    if resource == "*":
        return pattern == "*"
    return bool(_pattern(pattern, ignore_case=False).match(resource))


def _condition_holds(operator: str, key: str, wanted: Any, request: Request) -> bool:
    actual = request.key(key)
    if operator == "StringEquals":
        return actual is not None and actual in _listed(wanted)
    if operator == "StringLike":
        return actual is not None and any(_pattern(each, False).match(actual) for each in _listed(wanted))
    if operator == "Null":
        (absent,) = _listed(wanted)
        return (actual is None) == (str(absent).lower() == "true")
    raise AssertionError(f"condition operator {operator} is not modelled here; teach iam_policies.py")


def statement_matches(statement: Mapping[str, Any], request: Request) -> bool:
    assert not {"NotAction", "NotResource", "NotPrincipal"} & set(statement), statement
    if not any(action_matches(each, request.action) for each in _listed(statement["Action"])):
        return False
    if not any(resource_matches(each, request.resource) for each in _listed(statement["Resource"])):
        return False
    return all(
        _condition_holds(operator, key, wanted, request)
        for operator, keys in statement.get("Condition", {}).items()
        for key, wanted in keys.items()
    )


def allows(statements: Iterable[Mapping[str, Any]], request: Request) -> bool:
    """An explicit Allow and no explicit Deny (identity policies of one role)."""
    matching = [statement for statement in statements if statement_matches(statement, request)]
    return any(s["Effect"] == "Allow" for s in matching) and not any(s["Effect"] == "Deny" for s in matching)


def grants(statements: Iterable[Mapping[str, Any]]) -> list[tuple[str, str, str]]:
    """Every (statement id, action, resource) an Allow statement grants."""
    return [
        (statement.get("Sid", "?"), action, resource)
        for statement in statements if statement["Effect"] == "Allow"
        for action in _listed(statement["Action"])
        for resource in _listed(statement["Resource"])
    ]
