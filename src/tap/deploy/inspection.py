"""`status`, `outputs` and `events`: what a deployed stack tree looks like now."""

from __future__ import annotations

import re
from typing import Any

from tap import names
from tap.deploy import stacks
from tap.deploy.aws import Aws
from tap.deploy.commands import Console, Workspace, print_outputs
from tap.deploy.progress import Event, Follower
from tap.errors import UserError


def existing_stack(cfn: Any, stack_name: str) -> dict[str, Any]:
    stack = stacks.describe(cfn, stack_name)
    if stack is None:
        raise UserError(f"no stack {stack_name} in this account and region; deploy it first "
                        "(or pass --stack-name, --region)")
    return stack


def status(aws: Aws, console: Console, stack_name: str) -> int:
    cfn = aws.client("cloudformation")
    root = existing_stack(cfn, stack_name)
    protection = "on" if root.get("EnableTerminationProtection") else "off"
    console.say(f"stack {stack_name} in account {aws.account_id}, {aws.region}: "
                f"{root['StackStatus']}, termination protection {protection}")
    if root.get("StackStatusReason"):
        console.say(f"  {root['StackStatusReason']}")
    rows = [("stack", "status", "updated")]
    for path, deployed in sorted(stacks.deployed_tree(cfn, root["StackId"]).items()):
        stack = stacks.describe(cfn, deployed.stack_id) or {}
        rows.append(("/".join(path) or "(root)", stack.get("StackStatus", "?"),
                     str(stack.get("LastUpdatedTime") or stack.get("CreationTime", ""))[:19]))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        console.say("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0


def outputs(aws: Aws, console: Console, stack_name: str) -> int:
    cfn = aws.client("cloudformation")
    root = existing_stack(cfn, stack_name)
    print_outputs(console, root)
    print_unit_outputs(console, unit_outputs(cfn, root))
    return 0


_UNIT_OUTPUT = re.compile(r"(?P<unit>[A-Z][A-Za-z0-9]*?)(?P<suffix>" + "|".join(names.PER_UNIT_OUTPUTS) + ")")


def unit_outputs(cfn: Any, root: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The per-unit outputs (`names.PER_UNIT_OUTPUTS`) of the root's nested stacks, by unit."""
    units: dict[str, dict[str, str]] = {}
    for logical_id, resource in sorted(stacks.list_resources(cfn, root["StackId"]).items()):
        if resource.get("ResourceType") != "AWS::CloudFormation::Stack":
            continue
        child = stacks.describe(cfn, resource["PhysicalResourceId"]) or {}
        for key, value in stacks.outputs_of(child).items():
            match = _UNIT_OUTPUT.fullmatch(key)
            if match:
                units.setdefault(match["unit"], {})[match["suffix"]] = value
    return units


def print_unit_outputs(console: Console, units: dict[str, dict[str, str]]) -> None:
    if not units:
        return
    width = max(map(len, names.PER_UNIT_OUTPUTS))
    console.say("\nper service")
    for unit, values in sorted(units.items()):
        console.say(f"  {unit}")
        for suffix in names.PER_UNIT_OUTPUTS:
            if suffix in values:
                console.say(f"    {suffix.ljust(width)}  {values[suffix]}")


def events(aws: Aws, console: Console, workspace: Workspace, stack_name: str, limit: int,
           follow: bool) -> int:
    """The latest events of the whole tree, oldest first; with `follow`, and while an
    operation runs, the events that come after them."""
    cfn = aws.client("cloudformation")
    root = existing_stack(cfn, stack_name)
    tree = stacks.deployed_tree(cfn, root["StackId"])
    latest: list[Event] = []
    for path, deployed in tree.items():
        page = cfn.describe_stack_events(StackName=deployed.stack_id)["StackEvents"]
        latest += [Event(path, raw["LogicalResourceId"], raw.get("ResourceType", ""),
                         raw.get("ResourceStatus", ""), raw.get("ResourceStatusReason", "") or "",
                         raw["Timestamp"], raw.get("PhysicalResourceId", "") or "")
                   for raw in page if not (path and raw.get("PhysicalResourceId") == deployed.stack_id)]
    for event in sorted(latest, key=lambda e: e.timestamp)[-limit:]:
        reason = f"  {event.reason}" if event.reason else ""
        console.say(f"  {event.timestamp:%Y-%m-%d %H:%M:%S}  {event.status:<35} {event.address}  "
                    f"{event.resource_type}{reason}")
    if follow and stacks.is_busy(root["StackStatus"]):
        console.say(f"following {stack_name} ({root['StackStatus']}); Ctrl-C stops following, not the stack")
        follower = Follower(cfn, root["StackId"], console.out, workspace.poll_seconds, workspace.sleep)
        follower.start({path: deployed.stack_id for path, deployed in tree.items()})
        try:
            final = follower.follow()
        except KeyboardInterrupt:
            return 130
        console.say(f"{stack_name}: {final}")
    return 0
