"""`destroy`: delete a stack tree after the person types its name, and say what stays."""

from __future__ import annotations

from dataclasses import dataclass

from tap.blocks.lifecycle import keeps_data
from tap.deploy import stacks
from tap.deploy.aws import Aws
from tap.deploy.commands import INTERRUPTED, Console, Workspace
from tap.deploy.inspection import existing_stack
from tap.deploy.progress import Follower, explain_failure
from tap.deploy.stacks import NESTED_STACK_TYPE, DeployedStack, Path
from tap.errors import DeployFailed, UserError


@dataclass(frozen=True)
class Kept:
    address: str
    resource_type: str
    physical_id: str
    policy: str


def kept_resources(cfn, tree: dict[Path, DeployedStack]) -> list[Kept]:
    """Resources whose DeletionPolicy keeps them (or their snapshot) when the stack goes."""
    kept = []
    for path, deployed in sorted(tree.items()):
        template = deployed.template(cfn).get("Resources", {})
        for logical_id, summary in sorted(deployed.resources.items()):
            policy = template.get(logical_id, {}).get("DeletionPolicy")
            if summary["ResourceType"] != NESTED_STACK_TYPE and keeps_data(policy) \
                    and not summary.get("ResourceStatus", "").startswith("DELETE_COMPLETE"):
                kept.append(Kept(stacks.address(path, logical_id), summary["ResourceType"],
                                 summary.get("PhysicalResourceId", ""), policy))
    return kept


def destroy(aws: Aws, console: Console, workspace: Workspace, stack_name: str, target: str) -> int:
    cfn = aws.client("cloudformation")
    root = existing_stack(cfn, stack_name)
    if stacks.is_busy(root["StackStatus"]):
        raise UserError(f"stack {stack_name} is {root['StackStatus']}; wait for it to end "
                        f"(`./deploy.sh events {target} --follow`) and run destroy again")
    tree = stacks.deployed_tree(cfn, root["StackId"])
    kept = kept_resources(cfn, tree)
    console.say(f"This deletes stack {stack_name} and its {len(tree) - 1} nested stacks in account "
                f"{aws.account_id}, {aws.region}.")
    _list_kept(console, kept, "These stay in the account (their DeletionPolicy keeps them):")
    answer = _ask(console, f"Type the stack name ({stack_name}) to delete it: ")
    if answer != stack_name:
        raise UserError(f"typed {answer!r}, not {stack_name!r}: nothing was deleted")
    if root.get("EnableTerminationProtection"):
        cfn.update_termination_protection(EnableTerminationProtection=False, StackName=root["StackId"])
    follower = Follower(cfn, root["StackId"], console.out, workspace.poll_seconds, workspace.sleep)
    follower.start({path: deployed.stack_id for path, deployed in tree.items()})
    cfn.delete_stack(StackName=root["StackId"])
    try:
        final = follower.follow()
    except KeyboardInterrupt:
        console.say(f"\nstopped following; the deletion goes on (`./deploy.sh events {target} --follow`)")
        return INTERRUPTED
    if final != "DELETE_COMPLETE":
        raise DeployFailed(explain_failure(final, follower.root_cause(), target))
    console.say(f"\n{stack_name} deleted.")
    _list_kept(console, kept, "Left behind in the account (delete them yourself once you no longer need them):")
    return 0


def _ask(console: Console, question: str) -> str:
    try:
        return console.ask(question).strip()
    except EOFError:
        raise UserError("destroy needs the stack name typed at the prompt; nothing was deleted") from None


def _list_kept(console: Console, kept: list[Kept], heading: str) -> None:
    if not kept:
        return
    console.say(heading)
    for item in kept:
        console.say(f"  {item.address} ({item.resource_type}, {item.policy}): {item.physical_id}")
