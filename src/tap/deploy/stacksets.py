"""`./deploy.sh stackset`, `stackset-remove` and `stackset-status`: the same emitted
templates deployed as a CloudFormation StackSet across accounts and regions.

Artefacts: by default the administrator account's bootstrap bucket in each target
region holds them (`tap-assets-<administrator>-<region>`), and every instance reads
them through the root's `ArtifactAccount` parameter; the bucket policy lets the
organisation read (`ReaderOrganizationId` of the bootstrap). Before anything starts,
each region's bucket, its policy, the organisation and the administration role are
checked, all problems reported at once.

Operations run one at a time per StackSet, as StackSets requires: the set itself,
then the instances that exist, then the new ones; each is followed to its end with
a row per instance as its status changes, and a final table.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tap import names
from tap.build import BOOTSTRAP
from tap.deploy import artifacts, images, parameters
from tap.deploy.artifacts import Release
from tap.deploy.aws import Aws
from tap.deploy.commands import (
    Console,
    DeployOptions,
    Workspace,
    resolve_parameters,
    target_name,
)
from tap.deploy.stackset_follow import (
    InstanceRow,
    OperationFollower,
    finish,
    run_operation,
    table,
)
from tap.deploy.stackset_preflight import (
    account_wide_names,
    check_regions,
    foreign_values,
    preflight,
)
from tap.deploy.stackset_targets import (
    SELF_MANAGED,
    SERVICE_MANAGED,
    StackSetOptions,
    Targets,
    operation_preferences,
    read_overrides,
)
from tap.errors import UserError

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]


@dataclass
class Plan:
    """What one `stackset` run does: the set's values and each instance's overrides."""

    name: str
    exists: bool
    template_changed: bool
    root_sha: str
    values: dict[str, str]
    existing: set[tuple[str, str]] = field(default_factory=set)
    overrides: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    outdated: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)


# --- what to do ---------------------------------------------------------------------------


def stack_set_name(system: str, env: str | None, given: str | None) -> str:
    return given or ("tap-bootstrap" if system == BOOTSTRAP else f"tap-{system}-{env}")


def describe(cfn: Any, name: str) -> dict[str, Any] | None:
    try:
        found = cfn.describe_stack_set(StackSetName=name)["StackSet"]
    except cfn.exceptions.StackSetNotFoundException:
        return None
    return None if found["Status"] == "DELETED" else found


def instances(cfn: Any, name: str) -> list[dict[str, Any]]:
    found = []
    for page in cfn.get_paginator("list_stack_instances").paginate(StackSetName=name):
        found += page["Summaries"]
    return found


def set_values(aws: Aws, workspace: Workspace, release: Release,
               options: StackSetOptions) -> tuple[dict[str, str], set[str]]:
    """The set's parameter values: those a deploy would use, with the administrator's
    account as ArtifactAccount so every instance reads the administrator's buckets; and
    the names a person gave (--parameter or the parameters file)."""
    values = resolve_parameters(aws, workspace, release, None, DeployOptions(parameters=options.parameters))
    found = {value.name: value.value for value in values if value.value is not None}
    given = {value.name for value in values
             if value.source == "--parameter" or value.source.endswith(parameters.PARAMETERS_SUFFIX)}
    declared = release.template(release.manifest["root"]).get("Parameters", {})
    if names.ARTIFACT_ACCOUNT_PARAMETER in declared:
        found.setdefault(names.ARTIFACT_ACCOUNT_PARAMETER, aws.account_id)
    return found, given


def no_image_lists(release: Release) -> dict[str, str]:
    """Each root list of service image tags with the no-image tag for every service.

    StackSets cannot see what a target account's repositories hold or its services run
    (their pipelines deploy outside CloudFormation), so a new instance starts with no
    task rather than pulling an image nobody pushed there. Later StackSet updates leave
    an instance's override as it is, so they never take a service back to an older
    image; a person starts an account's services by giving its tags in --overrides."""
    root = release.template(release.manifest["root"])
    lists: dict[str, list[str]] = {}
    for slot in images.slots(release.templates_by_path()):
        default = root.get("Parameters", {}).get(slot.list_name, {}).get("Default", "")
        tags = lists.setdefault(slot.list_name, str(default).split(","))
        tags[slot.index] = slot.no_image
    return {name: ",".join(tags) for name, tags in lists.items()}


def instance_overrides(regions: Iterable[str], accounts: Iterable[str],
                       per_account: Mapping[str, dict[str, str]]) -> dict[tuple[str, str], dict[str, str]]:
    """Each instance's overrides: the overrides file's values for its account."""
    return {(account, region): dict(per_account.get(account, {}))
            for account in accounts for region in regions}


def groups(overrides: Mapping[tuple[str, str], dict[str, str]],
           region_order: list[str]) -> list[tuple[list[str], list[str], dict[str, str]]]:
    """Instances with the same overrides, as (accounts, regions, overrides) calls, in the
    order of the regions."""
    by_values: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for (account, region), values in overrides.items():
        by_values[json.dumps(values, sort_keys=True)][region].add(account)
    calls = []
    for key, regions in sorted(by_values.items()):
        by_accounts: dict[tuple[str, ...], list[str]] = defaultdict(list)
        for region, accounts in sorted(regions.items()):
            by_accounts[tuple(sorted(accounts))].append(region)
        for named, regions_of in sorted(by_accounts.items()):
            calls.append((list(named), regions_of, json.loads(key)))
    # Named accounts before "" (every account under the OUs), or their overrides would come too late.
    return sorted(calls, key=lambda call: (min(region_order.index(region) for region in call[1]),
                                           "" in call[0]))


def as_parameters(values: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"ParameterKey": key, "ParameterValue": value} for key, value in sorted(values.items())]


# --- the commands -------------------------------------------------------------------------


def deploy(aws: Aws, console: Console, workspace: Workspace, system: str, env: str | None,
           options: StackSetOptions) -> int:
    """Create or update the StackSet and its instances from templates/."""
    check_regions(system, options.targets)
    preferences = operation_preferences(options)
    release = artifacts.prepare(system, env, workspace.config_dir, workspace.templates_dir, workspace.cache_dir)
    name = stack_set_name(system, env, options.name)
    console.say(f"tap stackset {target_name(system, env)} -> StackSet {name} administered from account "
                f"{aws.account_id}, {aws.region} "
                f"({options.targets.permission_model.lower().replace('_', '-')})")
    values, given = set_values(aws, workspace, release, options)
    declared = release.template(release.manifest["root"]).get("Parameters", {})
    per_account = read_overrides(options.overrides_file, declared, options.targets.accounts)
    shared = checked(aws, console, release, values, options.targets, per_account)
    template = upload(aws, console, release, shared, options.targets)
    plan = plan_of(aws, release, name, values, options, per_account, given)
    show_plan(console, plan, options.targets)
    if not options.yes and not console.confirm("Go ahead? [y/N] "):
        console.say("nothing started")
        return 0
    follower = OperationFollower(aws.client("cloudformation"), name, console, workspace)
    operations = run_plan(follower, plan, release, template, options.targets, preferences)
    if not operations:
        console.say("\nno changes: the StackSet and its instances already match templates/ and the parameters")
        return 0
    return finish(console, follower, operations)


def checked(aws: Aws, console: Console, release: Release, values: Mapping[str, str], targets: Targets,
            per_account: Mapping[str, dict[str, str]]) -> bool:
    """Run the pre-flight; True when instances read the administrator's shared buckets
    (an empty ArtifactAccount makes each read its own account's: docs/stacksets.md)."""
    shared = release.system != BOOTSTRAP and values.get(names.ARTIFACT_ACCOUNT_PARAMETER) != ""
    if release.system != BOOTSTRAP and not shared:
        console.say("  artefacts   each account's own bucket (ArtifactAccount empty): not checked or "
                    "uploaded from here")
    problems = account_wide_names(release, values, targets.regions)
    problems += foreign_values(values, targets, per_account)
    problems += preflight(aws, release.system, targets, shared)
    if problems:
        raise UserError("pre-flight found problems before starting StackSet operations:\n  - "
                        + "\n  - ".join(problems))
    console.say("  pre-flight  passed: " + ("administration role" if targets.permission_model == SELF_MANAGED
                                            else "organisation and OUs")
                + (", artefact bucket and its organisation read in " + ", ".join(targets.regions)
                   if shared else ""))
    return shared


def upload(aws: Aws, console: Console, release: Release, shared: bool, targets: Targets) -> dict[str, str]:
    """Upload to the administrator's bucket in every target region (only the home region's
    when instances read their own buckets); the StackSet's template argument."""
    if release.system == BOOTSTRAP:  # small, and no artefacts: sent as the body
        return {"TemplateBody": release.root.path.read_text(encoding="utf-8")}
    for region in targets.regions if shared else (aws.region,):
        bucket = names.bootstrap_bucket_name(aws.account_id, region)
        summary = artifacts.upload(aws.client("s3", region), bucket, release.artifacts, aws.account_id)
        console.say(f"  upload      {region}: {len(release.artifacts)} artefacts to s3://{bucket}: "
                    f"{summary.uploaded} sent, {summary.skipped} already there")
    return {"TemplateURL": artifacts.template_url(names.bootstrap_bucket_name(aws.account_id, aws.region),
                                                  aws.region, aws.url_suffix, release.root.s3_key)}


def plan_of(aws: Aws, release: Release, name: str, values: dict[str, str], options: StackSetOptions,
            per_account: Mapping[str, dict[str, str]], given: set[str]) -> Plan:
    cfn = aws.client("cloudformation")
    targets = options.targets
    existing = describe(cfn, name)
    current = {(each["Account"], each["Region"]) for each in instances(cfn, name)} if existing else set()
    # Under OUs the accounts are StackSets' to find: "" stands for every one of them.
    accounts = list(targets.accounts) or sorted({"", *per_account, *(account for account, _ in current)})
    changed = existing is None or existing.get("TemplateBody") != release.root.path.read_text(encoding="utf-8") \
        or {p["ParameterKey"]: p["ParameterValue"] for p in existing.get("Parameters", [])} != values
    plan = Plan(name, existing is not None, changed, release.root.sha256, values, current,
                instance_overrides(targets.regions, accounts, per_account))
    lists = no_image_lists(release)
    start_without_images(plan, lists, given, per_account)
    # An instance's image lists are its own once it exists (what its services run).
    plan.outdated = outdated_overrides(cfn, plan, kept=set(lists) - given)
    return plan


def start_without_images(plan: Plan, lists: Mapping[str, str], given: set[str],
                         per_account: Mapping[str, dict[str, str]]) -> None:
    """New instances get the no-image lists as overrides, unless a person gave the lists."""
    for (account, region), own in plan.overrides.items():
        if (account, region) in plan.existing:
            continue
        for name, tags in lists.items():
            if name not in given and name not in per_account.get(account, {}):
                own[name] = tags


def outdated_overrides(cfn: Any, plan: Plan, kept: set[str]) -> dict[tuple[str, str], dict[str, str]]:
    """Existing instances whose overrides differ from what they should be, with the values
    to send: StackSets keeps an override that is not sent, so one to drop is sent back at
    the StackSet's own value."""
    found = {}
    for (account, region), wanted in plan.overrides.items():
        if (account, region) not in plan.existing:
            continue
        instance = cfn.describe_stack_instance(StackSetName=plan.name, StackInstanceAccount=account,
                                               StackInstanceRegion=region)["StackInstance"]
        current = {each["ParameterKey"]: each["ParameterValue"] for each in instance.get("ParameterOverrides", [])}
        wanted = {**{key: value for key, value in current.items() if key in kept}, **wanted}
        if current != wanted:
            found[(account, region)] = {**{key: plan.values[key] for key in current if key in plan.values},
                                        **wanted}
    return found


def run_plan(follower: OperationFollower, plan: Plan, release: Release, template: dict[str, str],
             targets: Targets, preferences: dict[str, Any]) -> list[dict[str, Any]]:
    """The StackSet created or updated (its instances with it), then the new instances;
    one operation at a time, stopping after one that did not succeed."""
    cfn = follower.cfn
    common = {"StackSetName": plan.name, "OperationPreferences": preferences}
    arguments = {**template, "Parameters": as_parameters(plan.values), "Capabilities": CAPABILITIES,
                 "Description": f"tap {target_name(release.system, release.env)}",
                 "Tags": [{"Key": k, "Value": v} for k, v in sorted(release.manifest.get("stack_tags", {}).items())]}
    operations = []
    if not plan.exists:
        cfn.create_stack_set(StackSetName=plan.name, PermissionModel=targets.permission_model,
                             **_model_arguments(targets), **arguments)
        follower.console.say(f"  created     StackSet {plan.name}")
    elif plan.template_changed and plan.existing:
        operations.append(run_operation(follower, lambda: cfn.update_stack_set(
            **common, **arguments, **_model_arguments(targets, update=True)),
            f"updating {len(plan.existing & set(plan.overrides)) or len(plan.existing)} instance(s)"))
    elif plan.template_changed:
        cfn.update_stack_set(StackSetName=plan.name, **arguments)
    new = {key: value for key, value in plan.overrides.items() if key not in plan.existing}
    for accounts, regions, own in groups(new, preferences["RegionOrder"]):
        if operations and operations[-1]["Status"] != "SUCCEEDED":
            break
        chosen = [account for account in accounts if account]
        what = f"{len(chosen)} account(s)" if chosen else f"every account under {', '.join(targets.org_units)}"
        operations.append(run_operation(follower, lambda: cfn.create_stack_instances(
            **common, **targets.deployment(chosen), Regions=regions, ParameterOverrides=as_parameters(own)),
            f"creating instances: {what} x {len(regions)} region(s)"))
    for accounts, regions, own in groups(plan.outdated, preferences["RegionOrder"]):
        if operations and operations[-1]["Status"] != "SUCCEEDED":
            break
        operations.append(run_operation(follower, lambda: cfn.update_stack_instances(
            **common, **targets.deployment(accounts), Regions=regions, ParameterOverrides=as_parameters(own)),
            f"overriding {', '.join(sorted(own))}: {len(accounts)} account(s) x {len(regions)} region(s)"))
    return operations


def _model_arguments(targets: Targets, update: bool = False) -> dict[str, Any]:
    if targets.permission_model == SERVICE_MANAGED:
        found: dict[str, Any] = {"AutoDeployment": {"Enabled": True, "RetainStacksOnAccountRemoval": True}}
        if update:
            found.update(DeploymentTargets={"OrganizationalUnitIds": list(targets.org_units)},
                         Regions=list(targets.regions))
        return found
    return {"Accounts": list(targets.accounts), "Regions": list(targets.regions)} if update else {}


def show_plan(console: Console, plan: Plan, targets: Targets) -> None:
    wanted = set(plan.overrides)
    new = sorted(wanted - plan.existing)
    kept = sorted(wanted & plan.existing)
    console.say(f"  StackSet    {plan.name}: " + ("exists" if plan.exists else "new"))
    state = "changed" if plan.template_changed else "unchanged"
    console.say(f"  template    {state if plan.exists else 'root ' + plan.root_sha[:12]}; parameters: "
                + ", ".join(sorted(plan.values)))
    if targets.org_units:
        console.say(f"  targets     every account under {', '.join(targets.org_units)} in "
                    f"{', '.join(targets.regions)}; new accounts there get an instance automatically")
    overridden = sorted(plan.outdated)
    for label, chosen in (("update", kept if plan.template_changed else []), ("create", new),
                          ("override", overridden)):
        for account, region in chosen:
            own = plan.outdated.get((account, region)) or plan.overrides.get((account, region)) or {}
            extra = f" (overrides: {', '.join(sorted(own))})" if own else ""
            console.say(f"  {label:<11} {account} {region}{extra}")


def remove(aws: Aws, console: Console, workspace: Workspace, system: str, env: str | None,
           options: StackSetOptions) -> int:
    """Remove instances (their stacks too, unless --retain-stacks); an emptied StackSet goes."""
    name = stack_set_name(system, env, options.name)
    cfn = aws.client("cloudformation")
    if describe(cfn, name) is None:
        raise UserError(f"no StackSet {name} in account {aws.account_id}, {aws.region}")
    targets = options.targets
    what = "their stacks stay in each account (--retain-stacks)" if options.retain_stacks else \
        "their stacks are deleted; resources with DeletionPolicy Retain or Snapshot stay"
    console.say(f"removing instances of StackSet {name} in {', '.join(targets.regions)}: {what}")
    if not options.yes and console.ask(f"Type the StackSet name ({name}) to remove them: ").strip() != name:
        console.say("nothing removed")
        return 0
    follower = OperationFollower(cfn, name, console, workspace)
    operation = run_operation(follower, lambda: cfn.delete_stack_instances(
        StackSetName=name, **targets.deployment(), Regions=list(targets.regions),
        RetainStacks=options.retain_stacks, OperationPreferences=operation_preferences(options)),
        "removing instances")
    result = finish(console, follower, [operation])
    if not instances(cfn, name):
        cfn.delete_stack_set(StackSetName=name)
        console.say(f"StackSet {name} had no instance left and was deleted")
    return result


def status(aws: Aws, console: Console, system: str, env: str | None, name: str | None) -> int:
    name = stack_set_name(system, env, name)
    cfn = aws.client("cloudformation")
    found = describe(cfn, name)
    if found is None:
        raise UserError(f"no StackSet {name} in account {aws.account_id}, {aws.region}")
    console.say(f"StackSet {name} ({found['Status']}, {found.get('PermissionModel', SELF_MANAGED).lower()})")
    rows = [InstanceRow(each["Account"], each["Region"],
                        each.get("StackInstanceStatus", {}).get("DetailedStatus") or each["Status"],
                        each.get("StatusReason", "")) for each in instances(cfn, name)]
    console.say(table(rows) if rows else "no instances")
    operations = cfn.list_stack_set_operations(StackSetName=name, MaxResults=5)["Summaries"]
    if operations:
        console.say("\nlatest operations")
        for op in operations:
            reason = f"  {op['StatusReason']}" if op.get("StatusReason") else ""
            console.say(f"  {op['CreationTimestamp']:%Y-%m-%d %H:%M:%S}  {op['Action']:<7} {op['Status']}{reason}")
    return 0
