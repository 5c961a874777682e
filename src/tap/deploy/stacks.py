"""What is deployed: a stack's state, its tree of nested stacks, their templates and outputs.

Resources are addressed by their path of nested-stack logical ids from the root and
their own logical id (`DatabaseStack/LicensesTable`), the names CloudFormation itself
uses, so an address means the same in a review, a stack policy and an event.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions

from tap.errors import UserError

NESTED_STACK_TYPE = "AWS::CloudFormation::Stack"
Path = tuple[str, ...]

# Stacks in these states take a change set (UPDATE).
UPDATABLE = frozenset({
    "CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE",
    "IMPORT_ROLLBACK_COMPLETE",
})
# A first deploy that failed: the stack holds nothing and can only be deleted.
FAILED_CREATE = frozenset({"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED"})
SUCCEEDED = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE", "DELETE_COMPLETE"})


def address(path: Path, logical_id: str) -> str:
    return "/".join((*path, logical_id))


def is_busy(status: str) -> bool:
    """Another operation is running (a stack awaiting its first change set is not busy)."""
    return status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS"


def describe(cfn: Any, name: str) -> dict[str, Any] | None:
    """The stack's description, or None when there is no such stack."""
    try:
        return cfn.describe_stacks(StackName=name)["Stacks"][0]
    except botocore.exceptions.ClientError as error:
        if "does not exist" in error.response["Error"].get("Message", ""):
            return None
        raise


def describe_existing(cfn: Any, name: str) -> dict[str, Any]:
    """The description of a stack that must exist (one a change set or a running operation
    names); one that has gone meanwhile is reported, not a traceback."""
    found = describe(cfn, name)
    if found is None:
        raise UserError(f"stack {name} does not exist any more (deleted meanwhile?)")
    return found


def wait_while_busy(
    cfn: Any, name: str, on_wait: Callable[[str], None], poll_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any] | None:
    """Wait for another operation on the stack to end; returns the stack afterwards."""
    stack = describe(cfn, name)
    told = False
    while stack is not None and is_busy(stack["StackStatus"]):
        if not told:
            on_wait(stack["StackStatus"])
            told = True
        sleep(poll_seconds)
        stack = describe(cfn, name)
    return stack


def check_updatable(stack: dict[str, Any], recreate: bool) -> None:
    """Refuse, with what to do, a stack that cannot take a change set."""
    status = stack["StackStatus"]
    name = stack["StackName"]
    if status in UPDATABLE or status == "REVIEW_IN_PROGRESS":
        return
    if status in FAILED_CREATE:
        if recreate:
            return
        raise UserError(
            f"stack {name} is {status}: its first deploy failed and rolled back, so it holds no "
            "resources and CloudFormation can only delete it. See why with `./deploy.sh events`; "
            "run again with --recreate to delete it and deploy anew"
        )
    if status == "UPDATE_ROLLBACK_FAILED":
        raise UserError(
            f"stack {name} is UPDATE_ROLLBACK_FAILED: a rollback could not finish. Fix what "
            "`./deploy.sh events` names, then continue the rollback (console: Stack actions > "
            "Continue update rollback, skipping resources that cannot roll back) and deploy again"
        )
    raise UserError(f"stack {name} is {status} and cannot be updated; allowed: "
                    f"{', '.join(sorted(UPDATABLE))} (see `./deploy.sh events`)")


@dataclass
class DeployedStack:
    """One deployed stack of a tree: where it sits, its id and its resources."""

    path: Path
    stack_id: str
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)  # by logical id
    _template: dict[str, Any] | None = None

    def physical_id(self, logical_id: str) -> str | None:
        resource = self.resources.get(logical_id)
        return resource.get("PhysicalResourceId") if resource else None

    def template(self, cfn: Any) -> dict[str, Any]:
        if self._template is None:
            self._template = template_of(cfn, self.stack_id)
        return self._template


def deployed_tree(cfn: Any, root_id: str) -> dict[Path, DeployedStack]:
    """Every deployed stack under the root, by path."""
    found: dict[Path, DeployedStack] = {}
    pending: list[tuple[Path, str]] = [((), root_id)]
    while pending:
        path, stack_id = pending.pop()
        stack = DeployedStack(path, stack_id, list_resources(cfn, stack_id))
        found[path] = stack
        for logical_id, resource in stack.resources.items():
            physical = resource.get("PhysicalResourceId", "")
            if resource["ResourceType"] == NESTED_STACK_TYPE and physical.startswith("arn:"):
                if not resource.get("ResourceStatus", "").startswith("DELETE_COMPLETE"):
                    pending.append(((*path, logical_id), physical))
    return found


def list_resources(cfn: Any, stack_id: str) -> dict[str, dict[str, Any]]:
    resources = {}
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack_id):
        for summary in page["StackResourceSummaries"]:
            resources[summary["LogicalResourceId"]] = summary
    return resources


def template_of(cfn: Any, stack_id: str) -> dict[str, Any]:
    body = cfn.get_template(StackName=stack_id, TemplateStage="Original")["TemplateBody"]
    # boto3 hands back JSON bodies already parsed; YAML ones (none of ours) as text.
    return body if isinstance(body, dict) else json.loads(body)


def outputs_of(stack: Mapping[str, Any]) -> dict[str, str]:
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def parameters_of(stack: dict[str, Any] | None) -> dict[str, str]:
    if stack is None:
        return {}
    return {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
