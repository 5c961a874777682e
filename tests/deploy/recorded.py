"""CloudFormation responses in the shapes of the API reference (DescribeChangeSet,
DescribeStacks, DescribeStackEvents), for states the emulator cannot produce.

botocore's Stubber checks every response against the service model, so a field
misspelt here fails the test rather than passing silently.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

ACCOUNT = "123456789012"
REGION = "us-east-1"
T0 = datetime(2026, 12, 2, 6, 0, 0, tzinfo=timezone.utc)


def stack_arn(name: str, suffix: str = "0a1b2c3d-4e5f-6789-abcd-ef0123456789") -> str:
    return f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{name}/{suffix}"


def change_set_arn(name: str, suffix: str) -> str:
    return f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:changeSet/{name}/{suffix}"


def detail(name: str, recreation: str, evaluation: str, source: str, entity: str | None = None) -> dict:
    found = {
        "Target": {"Attribute": "Properties", "Name": name, "RequiresRecreation": recreation},
        "Evaluation": evaluation,
        "ChangeSource": source,
    }
    if entity:
        found["CausingEntity"] = entity
    return found


def resource_change(action: str, logical_id: str, resource_type: str, *, physical_id: str | None = None,
                    replacement: str | None = None, details: list | None = None,
                    nested: str | None = None) -> dict:
    change = {"Action": action, "LogicalResourceId": logical_id, "ResourceType": resource_type}
    if physical_id:
        change["PhysicalResourceId"] = physical_id
    if action == "Modify":
        change["Replacement"] = replacement or "False"
        change["Scope"] = ["Properties"]
        change["Details"] = details or []
    if nested:
        change["ChangeSetId"] = nested
    return {"Type": "Resource", "ResourceChange": change}


def change_set(name: str, arn: str, stack_name: str, stack_id: str, changes: list, *,
               parent: str | None = None, root: str | None = None, status: str = "CREATE_COMPLETE",
               reason: str | None = None, parameters: list | None = None) -> dict:
    found = {
        "ChangeSetName": name,
        "ChangeSetId": arn,
        "StackId": stack_id,
        "StackName": stack_name,
        "Parameters": parameters or [],
        "CreationTime": T0,
        "ExecutionStatus": "AVAILABLE" if status == "CREATE_COMPLETE" else "UNAVAILABLE",
        "Status": status,
        "NotificationARNs": [],
        "RollbackConfiguration": {},
        "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
        "Changes": changes,
        "IncludeNestedStacks": True,
    }
    if reason:
        found["StatusReason"] = reason
    if parent:
        found["ParentChangeSetId"] = parent
        found["RootChangeSetId"] = root or parent
    return found


def stack(name: str, status: str, *, stack_id: str | None = None, reason: str | None = None,
          outputs: dict | None = None, parameters: dict | None = None, protected: bool = False) -> dict:
    found = {
        "StackId": stack_id or stack_arn(name),
        "StackName": name,
        "CreationTime": T0,
        "StackStatus": status,
        "EnableTerminationProtection": protected,
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in (parameters or {}).items()],
        "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in (outputs or {}).items()],
        "Tags": [],
    }
    if reason:
        found["StackStatusReason"] = reason
    return found


def event(stack_name: str, stack_id: str, logical_id: str, resource_type: str, status: str, seconds: int,
          *, physical_id: str = "", reason: str | None = None) -> dict:
    found = {
        "StackId": stack_id,
        "EventId": f"{logical_id}-{status}-{seconds}",
        "StackName": stack_name,
        "LogicalResourceId": logical_id,
        "PhysicalResourceId": physical_id,
        "ResourceType": resource_type,
        "Timestamp": T0 + timedelta(seconds=seconds),
        "ResourceStatus": status,
    }
    if reason:
        found["ResourceStatusReason"] = reason
    return found
