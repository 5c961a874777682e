"""Change sets: create one for the root with its nested change sets, wait for it, and
read the whole tree back.

CloudFormation makes one nested change set per nested stack it adds or modifies when
`IncludeNestedStacks` is set; the root's change for a nested stack names it in
`ChangeSetId`. `ChangeSetNode` holds one change set and its children by the nested
stack's logical id.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from tap.deploy.stacks import NESTED_STACK_TYPE, Path

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
# What CloudFormation says when a change set would change nothing.
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")


@dataclass
class ChangeSetNode:
    arn: str
    stack_id: str
    stack_name: str
    path: Path
    status: str
    execution_status: str
    status_reason: str
    changes: list[dict[str, Any]]
    parameters: list[dict[str, Any]]
    children: dict[str, "ChangeSetNode"] = field(default_factory=dict)

    def walk(self) -> Iterator["ChangeSetNode"]:
        yield self
        for child in self.children.values():
            yield from child.walk()

    @property
    def is_empty(self) -> bool:
        """No change anywhere in the tree (CloudFormation may still list nested stacks
        whose change sets turned out empty)."""
        if self.status == "FAILED" and any(reason in self.status_reason for reason in NO_CHANGES):
            return True
        return self.status != "FAILED" and all(
            change["ResourceType"] == NESTED_STACK_TYPE and change["LogicalResourceId"] in self.children
            and self.children[change["LogicalResourceId"]].is_empty
            for change in self.changes
        )


def new_name(now: datetime | None = None) -> str:
    """A change-set name that sorts by time and is unique even within a second:
    tap-20261202-061652-3f9c2a."""
    return (now or datetime.now(timezone.utc)).strftime("tap-%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]


def create(
    cfn: Any,
    *,
    stack_name: str,
    change_set_name: str,
    change_set_type: str,
    template: dict[str, str],
    parameters: list[dict[str, Any]],
    tags: dict[str, str],
    rollback_configuration: dict[str, Any],
    description: str,
    role_arn: str | None = None,
    import_existing: bool = False,
) -> str:
    """Create the change set; `template` is {"TemplateURL": ...} or {"TemplateBody": ...}.
    With `role_arn`, CloudFormation makes every call of this and later operations on the
    stack as that service role; without, as the stack's role if it has one, else as the caller.
    With `import_existing`, a resource with a static custom name and DeletionPolicy Retain
    that exists outside any stack is imported (its change is `Import`), not created."""
    response = cfn.create_change_set(
        StackName=stack_name,
        ChangeSetName=change_set_name,
        ChangeSetType=change_set_type,
        Parameters=parameters,
        Capabilities=CAPABILITIES,
        Tags=[{"Key": key, "Value": value} for key, value in sorted(tags.items())],
        RollbackConfiguration=rollback_configuration,
        IncludeNestedStacks=True,
        Description=description[:1024],
        **template,
        **({"RoleARN": role_arn} if role_arn else {}),
        **({"ImportExistingResources": True} if import_existing else {}),
    )
    return response["Id"]


def wait_until_created(
    cfn: Any, arn: str, poll_seconds: float, sleep: Callable[[float], None] = time.sleep
) -> dict[str, Any]:
    """Poll until CloudFormation has computed the change set (or failed to)."""
    while True:
        description = cfn.describe_change_set(ChangeSetName=arn)
        if description["Status"] in ("CREATE_COMPLETE", "FAILED"):
            return description
        sleep(poll_seconds)


def describe(cfn: Any, arn: str) -> dict[str, Any]:
    """One change set with the changes of every page."""
    description = cfn.describe_change_set(ChangeSetName=arn)
    changes = list(description.get("Changes", []))
    token = description.get("NextToken")
    while token:
        page = cfn.describe_change_set(ChangeSetName=arn, NextToken=token)
        changes.extend(page.get("Changes", []))
        token = page.get("NextToken")
    return {**description, "Changes": changes}


def read_tree(cfn: Any, arn: str, path: Path = ()) -> ChangeSetNode:
    """The change set at `arn` and, recursively, its nested change sets."""
    description = describe(cfn, arn)
    node = ChangeSetNode(
        arn=description["ChangeSetId"],
        stack_id=description["StackId"],
        stack_name=description["StackName"],
        path=path,
        status=description["Status"],
        execution_status=description.get("ExecutionStatus", ""),
        status_reason=description.get("StatusReason", ""),
        changes=[change["ResourceChange"] for change in description["Changes"]
                 if change.get("Type") == "Resource"],
        parameters=description.get("Parameters", []),
    )
    for change in node.changes:
        nested = change.get("ChangeSetId")
        if change["ResourceType"] == NESTED_STACK_TYPE and nested:
            logical_id = change["LogicalResourceId"]
            node.children[logical_id] = read_tree(cfn, nested, (*path, logical_id))
    return node
