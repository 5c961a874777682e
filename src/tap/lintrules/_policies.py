"""What the rules share: walking policy documents, intrinsic branches, and paths.

A rule file is loaded by cfn-lint by file path, outside any package; `importable()`
puts `src/` on sys.path so `from tap.lintrules._policies import ...` works there too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

# Where each resource type keeps its policy documents: identity policies, resource
# policies (bucket, key, topic, queue, secret, repository) and trust policies.
POLICY_DOCUMENTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "AWS::IAM::Role": (("AssumeRolePolicyDocument",), ("Policies", "*", "PolicyDocument")),
    "AWS::IAM::Policy": (("PolicyDocument",),),
    "AWS::IAM::ManagedPolicy": (("PolicyDocument",),),
    "AWS::IAM::RolePolicy": (("PolicyDocument",),),
    "AWS::S3::BucketPolicy": (("PolicyDocument",),),
    "AWS::KMS::Key": (("KeyPolicy",),),
    "AWS::SNS::TopicPolicy": (("PolicyDocument",),),
    "AWS::SNS::TopicInlinePolicy": (("PolicyDocument",),),
    "AWS::SQS::QueuePolicy": (("PolicyDocument",),),
    "AWS::SQS::QueueInlinePolicy": (("PolicyDocument",),),
    "AWS::SecretsManager::ResourcePolicy": (("ResourcePolicy",),),
    "AWS::ECR::Repository": (("RepositoryPolicyText",),),
}

TRUST = "AssumeRolePolicyDocument"
KEY_POLICY = "KeyPolicy"


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def branches(value: Any, path: list) -> Iterator[tuple[Any, list]]:
    """Each value `value` may take: both sides of every Fn::If, never AWS::NoValue."""
    if isinstance(value, dict) and len(value) == 1 and "Fn::If" in value:
        condition = value["Fn::If"]
        if isinstance(condition, list) and len(condition) == 3:
            for index in (1, 2):
                yield from branches(condition[index], [*path, "Fn::If", index])
            return
    if isinstance(value, dict) and value == {"Ref": "AWS::NoValue"}:
        return
    yield value, path


def resources(template: dict, *types: str) -> Iterator[tuple[str, dict, list]]:
    for logical_id, resource in (template.get("Resources") or {}).items():
        if isinstance(resource, dict) and (not types or resource.get("Type") in types):
            yield logical_id, resource, ["Resources", logical_id]


def properties(resource: dict) -> dict:
    value = resource.get("Properties")
    return value if isinstance(value, dict) else {}


def _at(value: Any, keys: tuple[str, ...], path: list) -> Iterator[tuple[Any, list]]:
    if not keys:
        yield from branches(value, path)
        return
    head, rest = keys[0], keys[1:]
    for branch, branch_path in branches(value, path):
        if head == "*" and isinstance(branch, list):
            for index, item in enumerate(branch):
                yield from _at(item, rest, [*branch_path, index])
        elif isinstance(branch, dict) and head in branch:
            yield from _at(branch[head], rest, [*branch_path, head])


def documents(template: dict) -> Iterator[tuple[str, str, dict, list]]:
    """(logical id, property holding it, document, path) for every policy document."""
    for logical_id, resource, path in resources(template, *POLICY_DOCUMENTS):
        for keys in POLICY_DOCUMENTS[resource["Type"]]:
            for document, document_path in _at(properties(resource), keys, [*path, "Properties"]):
                if isinstance(document, dict):
                    yield logical_id, keys[0], document, document_path


def statements(template: dict) -> Iterator[tuple[str, str, dict, list]]:
    """(logical id, property, statement, path) for every statement of every document."""
    for logical_id, kind, document, path in documents(template):
        for listed, listed_path in branches(document.get("Statement", []), [*path, "Statement"]):
            items = listed if isinstance(listed, list) else [listed]
            for index, item in enumerate(items):
                item_path = [*listed_path, index] if isinstance(listed, list) else listed_path
                for statement, statement_path in branches(item, item_path):
                    if isinstance(statement, dict):
                        yield logical_id, kind, statement, statement_path


def strings(value: Any, path: list) -> Iterator[tuple[str, list]]:
    """Every string in `value`, with its path."""
    if isinstance(value, str):
        yield value, path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(item, [*path, key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings(item, [*path, index])


def references(value: Any) -> set[str]:
    """Logical ids `value` names through Ref, Fn::GetAtt or Fn::Sub."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                found.add(item)
            elif key == "Fn::GetAtt":
                target = item[0] if isinstance(item, list) else str(item).split(".")[0]
                found.add(target)
            elif key == "Fn::Sub":
                text = item[0] if isinstance(item, list) else item
                if isinstance(text, str):
                    found.update(name.split(".")[0] for name in re.findall(r"\$\{([^!}][^}]*)\}", text))
                found |= references(item)
            else:
                found |= references(item)
    elif isinstance(value, list):
        for item in value:
            found |= references(item)
    return found
