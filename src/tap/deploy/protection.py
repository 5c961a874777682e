"""What keeps a deployed stack from losing its data between reviews: termination
protection, a stack policy per stack that denies replacing or deleting its stateful
resources, and rollback triggers on the platform's own alarms.

A stack policy is the last line behind the review gate: even an update started from
the console cannot replace a table. An update that the review allowed to replace a
resource (`--allow-replace`), or that removes a resource its DeletionPolicy keeps,
lifts the policy for exactly those resources, for that update only.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

from tap import names
from tap.blocks.lifecycle import is_stateful
from tap.deploy.stacks import DeployedStack, Path, address, outputs_of

# Watch the alarms for this long after the resources are in place before the update
# counts as good and old resources are cleaned up.
MONITORING_MINUTES = 5


def protected_ids(template: Mapping[str, Any]) -> list[str]:
    return sorted(
        logical_id for logical_id, resource in template.get("Resources", {}).items()
        if is_stateful(resource["Type"])
    )


def stack_policy(logical_ids: Collection[str]) -> dict[str, Any]:
    """Allow every update except replacing or deleting these resources."""
    statements: list[dict[str, Any]] = [
        {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"},
    ]
    if logical_ids:
        statements.append({
            "Effect": "Deny",
            "Action": ["Update:Replace", "Update:Delete"],
            "Principal": "*",
            "Resource": [f"LogicalResourceId/{logical_id}" for logical_id in sorted(logical_ids)],
        })
    return {"Statement": statements}


def policies_for_update(
    old_protected: Mapping[Path, Collection[str]],
    new_protected: Mapping[Path, Collection[str]],
    lifted: Collection[str],
) -> dict[Path, dict[str, Any]]:
    """The policy of each deployed stack while the update runs: its stateful resources,
    old and new, except the addresses `lifted` for this update."""
    policies = {}
    for path, old_ids in old_protected.items():
        ids = set(old_ids) | set(new_protected.get(path, ()))
        policies[path] = stack_policy(
            [logical_id for logical_id in ids if address(path, logical_id) not in lifted]
        )
    return policies


def standing_policies(protected: Mapping[Path, Collection[str]]) -> dict[Path, dict[str, Any]]:
    """The policy of every stack between deploys: all its stateful resources protected."""
    return {path: stack_policy(ids) for path, ids in protected.items()}


def apply_policies(cfn: Any, policies: Mapping[Path, dict[str, Any]],
                   deployed: Mapping[Path, DeployedStack]) -> int:
    """Set each policy on its deployed stack; returns how many were set."""
    count = 0
    for path, policy in sorted(policies.items()):
        if path in deployed:
            cfn.set_stack_policy(StackName=deployed[path].stack_id,
                                 StackPolicyBody=json.dumps(policy, sort_keys=True))
            count += 1
    return count


def protect_from_deletion(cfn: Any, stack: Mapping[str, Any]) -> None:
    if not stack.get("EnableTerminationProtection"):
        cfn.update_termination_protection(EnableTerminationProtection=True, StackName=stack["StackId"])


def rollback_configuration(stack: Mapping[str, Any] | None) -> dict[str, Any]:
    """Roll the update back if one of the platform's deploy alarms fires. A first deploy
    has no alarms yet (a trigger on a missing alarm fails the whole operation)."""
    outputs = outputs_of(stack or {})
    triggers = [
        {"Arn": arn, "Type": kind}
        for output, kind in names.ROLLBACK_TRIGGER_TYPES.items()
        for arn in outputs.get(output, "").split(",") if arn
    ][: names.MAX_ROLLBACK_TRIGGERS]
    if not triggers:
        return {}
    return {"RollbackTriggers": triggers, "MonitoringTimeInMinutes": MONITORING_MINUTES}
