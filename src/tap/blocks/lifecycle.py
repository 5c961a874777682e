"""DeletionPolicy, UpdateReplacePolicy and scanner suppressions on resources."""

from __future__ import annotations

from typing import Any


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
