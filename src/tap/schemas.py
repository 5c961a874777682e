"""CloudFormation's resource schemas, as the pinned cfn-lint ships them: which property
changes replace a resource, and which attributes a type declares.

The offline diff (`python build.py diff`) and the local emulator both predict
replacement from here, so they agree with each other and with cfn-lint's version of
the AWS schemas.
"""

from __future__ import annotations

import functools
from typing import Any

# Schemas differ little between regions; one region's are read for every prediction.
SCHEMA_REGION = "us-east-1"

# IAM resources a template names itself, by the property holding the name: they need
# CAPABILITY_NAMED_IAM, and IAM keeps each name once per account (not per region).
IAM_NAME_PROPERTIES = {
    "AWS::IAM::Role": "RoleName", "AWS::IAM::User": "UserName", "AWS::IAM::Group": "GroupName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName", "AWS::IAM::InstanceProfile": "InstanceProfileName",
}


@functools.cache
def schema(resource_type: str) -> dict[str, Any]:
    """The type's schema; empty for a type cfn-lint does not know."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    try:
        return PROVIDER_SCHEMA_MANAGER.get_resource_schema(SCHEMA_REGION, resource_type).schema
    except Exception:  # cfn-lint raises its own error types for an unknown type
        return {}


# Properties the CloudFormation reference documents as "Update requires: Replacement"
# that a resource's registry schema does not list as create-only (the handler replaces
# the resource itself).
REPLACED_BEYOND_SCHEMA: dict[str, tuple[tuple[str, ...], ...]] = {
    "AWS::DynamoDB::Table": (("KeySchema",), ("LocalSecondaryIndexes",)),
}


@functools.cache
def create_only_paths(resource_type: str) -> tuple[tuple[str, ...], ...]:
    """Property paths whose change replaces the resource, e.g. ("TableName",). Within an
    array ("/properties/Foo/*/Bar") the whole array counts."""
    paths = []
    for path in schema(resource_type).get("createOnlyProperties", []):
        parts = path.split("/")[2:]
        if "*" in parts:
            parts = parts[: parts.index("*")]
        paths.append(tuple(parts))
    return (*paths, *REPLACED_BEYOND_SCHEMA.get(resource_type, ()))


def replaces(resource_type: str, property_path: tuple[str, ...]) -> bool:
    """Whether changing the value at `property_path` (top-level name first) replaces the
    resource: it is a create-only path or lies inside one."""
    return any(property_path[: len(path)] == path for path in create_only_paths(resource_type))


def requires_recreation(resource_type: str, name: str) -> str:
    """How changing top-level property `name` affects the resource, in a change set's
    words: Always (create-only), Conditionally (something inside it is), Never."""
    paths = create_only_paths(resource_type)
    if (name,) in paths:
        return "Always"
    if any(path[:1] == (name,) for path in paths):
        return "Conditionally"
    return "Never"


def attributes(resource_type: str) -> list[str]:
    """Read-only properties: what `Fn::GetAtt` can ask of the type ("Endpoint.Address")."""
    return [".".join(path.split("/")[2:]) for path in schema(resource_type).get("readOnlyProperties", [])]
