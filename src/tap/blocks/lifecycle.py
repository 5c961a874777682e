"""What happens to a resource's data: DeletionPolicy, UpdateReplacePolicy, and which
changes lose it.

This module is the project's one answer to "is this resource stateful, and does this
change lose it": the blocks use it to keep stateful resources, the invariant tests to
check every template keeps them, and the deploy review to gate a change set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Resources whose contents or identity cannot be recreated from the template: a
# replacement gives a new, empty one, a deletion loses what it held. Log groups hold
# the record of what happened; an edge version is replicated to every CloudFront
# location and cannot be deleted for hours, so it is never replaced silently either.
STATEFUL_TYPES = frozenset({
    "AWS::Cognito::UserPool",
    "AWS::DocDB::DBCluster",
    "AWS::DynamoDB::GlobalTable",
    "AWS::DynamoDB::Table",
    "AWS::ECR::Repository",
    "AWS::EFS::FileSystem",
    "AWS::ElastiCache::CacheCluster",
    "AWS::ElastiCache::ReplicationGroup",
    "AWS::ElastiCache::ServerlessCache",
    "AWS::FSx::FileSystem",
    "AWS::KMS::Key",
    "AWS::Kinesis::Stream",
    "AWS::Lambda::Version",
    "AWS::Logs::LogGroup",
    "AWS::OpenSearchService::Domain",
    "AWS::RDS::DBCluster",
    "AWS::RDS::DBInstance",
    "AWS::S3::Bucket",
    "AWS::SQS::Queue",
    "AWS::SecretsManager::Secret",
})

# DeletionPolicy values that leave the data behind when CloudFormation deletes the
# resource (Snapshot keeps a final snapshot; RetainExceptOnCreate keeps anything that
# was ever created successfully).
KEEPING_POLICIES = frozenset({"Retain", "Snapshot", "RetainExceptOnCreate"})


def is_stateful(resource_type: str) -> bool:
    return resource_type in STATEFUL_TYPES


def keeps_data(policy: str | None) -> bool:
    """True when a DeletionPolicy or UpdateReplacePolicy value keeps the old resource's data."""
    return policy in KEEPING_POLICIES


@dataclass(frozen=True)
class Fate:
    """What a change does to a stateful resource: `lost` changes are gated, the rest listed."""

    lost: bool
    summary: str


def fate_of(
    resource_type: str,
    action: str,
    replacement: str | None = None,
    deletion_policy: str | None = None,
    update_replace_policy: str | None = None,
) -> Fate | None:
    """The fate of a resource under a change-set action (`Add`, `Modify`, `Remove`, ...),
    or None when nothing stateful is at stake.

    `replacement` is the change set's value ("True", "Conditional" or "False"): a
    conditional replacement may happen, so it counts as one.
    """
    if not is_stateful(resource_type):
        return None
    if action == "Modify" and replacement in ("True", "Conditional"):
        old = {
            "Retain": "the old one stays in the account, outside the stack",
            "Snapshot": "the old one is deleted after a final snapshot",
        }.get(update_replace_policy or "Delete", "the old one is deleted with its data")
        certainty = "would be replaced" if replacement == "True" else "may be replaced"
        return Fate(True, f"{certainty}: the stack moves to a new, empty resource; {old}")
    if action == "Remove":
        if deletion_policy == "Snapshot":
            return Fate(False, "removed from the stack after a final snapshot")
        if keeps_data(deletion_policy):
            return Fate(False, "removed from the stack and left in the account (DeletionPolicy "
                        f"{deletion_policy})")
        return Fate(True, "would be deleted with its data (no DeletionPolicy keeps it)")
    return None


def retain(resource: Any) -> Any:
    """Keep the resource and its data when it is removed from a stack or replaced."""
    resource.DeletionPolicy = "Retain"
    resource.UpdateReplacePolicy = "Retain"
    return resource


def snapshot(resource: Any) -> Any:
    """Take a final snapshot when the resource is deleted or replaced."""
    resource.DeletionPolicy = "Snapshot"
    resource.UpdateReplacePolicy = "Snapshot"
    return resource


def suppress(resource: Any, **reasons: str) -> Any:
    """Record why a security-scanner (checkov) check does not apply to this resource.

    Keys are check ids with '_' (CKV_AWS_18=...); each needs a written reason.
    """
    metadata = dict(getattr(resource, "Metadata", {}) or {})
    skips = list(metadata.get("checkov", {}).get("skip", []))
    known = {skip["id"] for skip in skips}
    for check_id, reason in sorted(reasons.items()):
        if not reason.strip():
            raise ValueError(f"suppressing {check_id} needs a reason")
        if check_id not in known:
            skips.append({"id": check_id, "comment": reason})
    metadata["checkov"] = {"skip": sorted(skips, key=lambda skip: skip["id"])}
    resource.Metadata = metadata
    return resource
