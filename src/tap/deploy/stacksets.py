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
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import botocore.exceptions

from tap import names
from tap.build import BOOTSTRAP
from tap.config.distribution import EDGE_REGION
from tap.deploy import artifacts, parameters
from tap.deploy.artifacts import Release
from tap.deploy.aws import Aws
from tap.deploy.commands import (
    Console,
    DeployOptions,
    Workspace,
    resolve_parameters,
    target_name,
)
from tap.errors import DeployFailed, UserError
from tap.systems.bootstrap import ADMINISTRATION_ROLE_NAME, EXECUTION_ROLE_NAME

SELF_MANAGED, SERVICE_MANAGED = "SELF_MANAGED", "SERVICE_MANAGED"
FINAL_OPERATION = ("SUCCEEDED", "FAILED", "STOPPED")
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
ACCOUNT = re.compile(r"^\d{12}$")
ORG_UNIT = re.compile(r"^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$")
REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
AMOUNT = re.compile(r"^(\d+)(%?)$")

# Systems that can live in one region only, and why.
REGION_BOUND = {
    "distribution": (EDGE_REGION, "its Lambda@Edge function, CloudFront key group and CLOUDFRONT-scope "
                     "WAF web ACL can only be created in us-east-1; each account gets one instance there"),
}


@dataclass(frozen=True)
class Targets:
    """Where instances go: accounts (self-managed) or OUs (service-managed), and regions."""

    accounts: tuple[str, ...] = ()
    org_units: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()

    @property
    def permission_model(self) -> str:
        return SERVICE_MANAGED if self.org_units else SELF_MANAGED

    def deployment(self, accounts: Iterable[str] = ()) -> dict[str, Any]:
        """The targets as the API takes them; `accounts` narrows OUs to those accounts."""
        chosen = list(accounts)
        if not self.org_units:
            return {"Accounts": chosen or list(self.accounts)}
        targets: dict[str, Any] = {"OrganizationalUnitIds": list(self.org_units)}
        if chosen:
            targets.update(Accounts=chosen, AccountFilterType="INTERSECTION")
        return {"DeploymentTargets": targets}


@dataclass(frozen=True)
class StackSetOptions:
    targets: Targets
    name: str | None = None
    max_concurrent: str | None = None
    failure_tolerance: str | None = None
    region_order: tuple[str, ...] = ()
    overrides_file: Path | None = None
    parameters: tuple[str, ...] = ()
    retain_stacks: bool = False
    yes: bool = False


@dataclass
class InstanceRow:
    account: str
    region: str
    status: str
    reason: str = ""


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


# --- the command line's values ---------------------------------------------------------


def parse_list(text: str | None, pattern: re.Pattern[str], option: str, shape: str) -> tuple[str, ...]:
    items = tuple(item.strip() for item in (text or "").split(",") if item.strip())
    for item in items:
        if not pattern.match(item):
            raise UserError(f"{option}: {item!r} is not {shape}")
    if len(set(items)) != len(items):
        raise UserError(f"{option}: a value is given twice; allowed: each once")
    return items


def targets_of(accounts: str | None, org_units: str | None, regions: str | None) -> Targets:
    targets = Targets(
        accounts=parse_list(accounts, ACCOUNT, "--accounts", "a 12-digit account id"),
        org_units=parse_list(org_units, ORG_UNIT, "--org-units", "an OU id (ou-xxxx-yyyyyyyy) or root id (r-xxxx)"),
        regions=parse_list(regions, REGION, "--regions", "a region name such as eu-west-1"),
    )
    if bool(targets.accounts) == bool(targets.org_units):
        raise UserError("give the targets as --accounts A,B (self-managed: the bootstrap's StackSet roles) "
                        "or --org-units ou-... (service-managed: AWS Organizations), one of the two")
    if not targets.regions:
        raise UserError("--regions is required: the regions to deploy to, such as --regions eu-west-1,us-east-1")
    return targets


def operation_preferences(options: StackSetOptions) -> dict[str, Any]:
    """--max-concurrent, --failure-tolerance (a count or a percentage) and --region-order."""
    preferences: dict[str, Any] = {"RegionConcurrencyType": "SEQUENTIAL"}
    for option, value, count_key, percent_key in (
        ("--max-concurrent", options.max_concurrent, "MaxConcurrentCount", "MaxConcurrentPercentage"),
        ("--failure-tolerance", options.failure_tolerance, "FailureToleranceCount",
         "FailureTolerancePercentage"),
    ):
        if value is None:
            continue
        match = AMOUNT.match(value)
        if match is None or (match.group(2) and not 0 <= int(match.group(1)) <= 100):
            raise UserError(f"{option} {value!r}: allowed: a count such as 2, or a percentage such as 25%")
        number = int(match.group(1))
        if option == "--max-concurrent" and number == 0:
            raise UserError(f"{option} {value!r}: allowed: at least 1 (or 1%)")
        preferences[percent_key if match.group(2) else count_key] = number
    count = preferences.get("FailureToleranceCount")
    if count is not None and preferences.get("MaxConcurrentCount", 1) > count + 1:
        raise UserError(f"--max-concurrent {options.max_concurrent} is more than --failure-tolerance "
                        f"{options.failure_tolerance} + 1, which StackSets refuses; allowed: at most "
                        f"{count + 1}")
    if options.region_order:
        unknown = set(options.region_order) - set(options.targets.regions)
        if unknown or len(options.region_order) != len(options.targets.regions):
            raise UserError(f"--region-order {','.join(options.region_order)} must name each region of "
                            f"--regions once; allowed: an order of {','.join(options.targets.regions)}")
    preferences["RegionOrder"] = list(options.region_order or options.targets.regions)
    return preferences


def read_overrides(path: Path | None, declared: Mapping[str, Any], accounts: Iterable[str]) -> dict[str, dict[str, str]]:
    """Per-account parameter overrides: {"<account>": [{"ParameterKey": ..., "ParameterValue": ...}]}."""
    if path is None:
        return {}
    shape = '{"<account id>": [{"ParameterKey": "...", "ParameterValue": "..."}]}'
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UserError(f"--overrides: cannot read {path}: {error.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UserError(f"--overrides {path}: not valid JSON ({error}); allowed: {shape}") from None
    if not isinstance(data, dict):
        raise UserError(f"--overrides {path}: the top level is not an object; allowed: {shape}")
    known = set(accounts)
    found = {}
    for account, entries in data.items():
        if not ACCOUNT.match(account):
            raise UserError(f"--overrides {path}: {account!r} is not a 12-digit account id; allowed: {shape}")
        if known and account not in known:
            raise UserError(f"--overrides {path}: account {account} is not a target; allowed: "
                            f"{', '.join(sorted(known))}")
        values = _entries(entries, f"--overrides {path} [{account}]", shape)
        for name in values:
            if name not in declared:
                raise UserError(f"--overrides {path} [{account}]: the root stack has no parameter {name!r}; "
                                f"allowed: {', '.join(sorted(declared))}")
        found[account] = values
    return found


def _entries(entries: Any, label: str, shape: str) -> dict[str, str]:
    if not isinstance(entries, list) or not all(
            isinstance(entry, dict) and set(entry) == {"ParameterKey", "ParameterValue"}
            and all(isinstance(v, str) for v in entry.values()) for entry in entries):
        raise UserError(f"{label}: {json.dumps(entries)[:80]} is not a list of parameters; allowed: {shape}")
    return {entry["ParameterKey"]: entry["ParameterValue"] for entry in entries}


# --- checks before anything starts -------------------------------------------------------


def check_regions(system: str, targets: Targets) -> None:
    bound = REGION_BOUND.get(system)
    if bound and set(targets.regions) != {bound[0]}:
        others = ", ".join(r for r in targets.regions if r != bound[0]) or "none"
        raise UserError(f"the {system} system deploys only to {bound[0]}: {bound[1]}; allowed: "
                        f"--regions {bound[0]} (asked for: {others})")


# Resources IAM keeps once per account, by the property that names them.
ACCOUNT_WIDE = {
    "AWS::IAM::OIDCProvider": "Url", "AWS::IAM::Role": "RoleName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName", "AWS::IAM::InstanceProfile": "InstanceProfileName",
    "AWS::IAM::User": "UserName", "AWS::IAM::Group": "GroupName",
}


def account_wide_names(release: Release, values: Mapping[str, str], regions: tuple[str, ...]) -> list[str]:
    """Named IAM resources the instances would create once per region in one account:
    the second region's instance fails on a name the first one took."""
    if len(regions) < 2:
        return []
    problems = []
    for path, template in sorted(release.templates_by_path().items()):
        given = dict(values) if not path else {}
        for logical_id, resource in sorted(template.get("Resources", {}).items()):
            name = ACCOUNT_WIDE.get(resource.get("Type", ""))
            if name is None or name not in resource.get("Properties", {}):
                continue
            if "Condition" in resource and _condition(template, resource["Condition"], given) is False:
                continue
            where = "/".join((*path, logical_id))
            problems.append(f"{where} ({resource['Type']}) exists once per account, but instances in "
                            f"{len(regions)} regions of each account would each create it (a StackSet "
                            "deploys one template everywhere); deploy to one region, or build without it"
                            + (" (create_oidc_provider = false in the config, the provider made once "
                               "per account)" if resource["Type"] == "AWS::IAM::OIDCProvider" else ""))
    return problems


def _condition(template: Mapping[str, Any], name: str, values: Mapping[str, str]) -> bool | None:
    """A condition's value from parameter values, or None when it cannot be known offline."""
    defaults = {k: str(v["Default"]) for k, v in template.get("Parameters", {}).items() if "Default" in v}
    known = {**defaults, **values}

    def value(node: Any) -> Any:
        if isinstance(node, dict) and len(node) == 1:
            (function, argument), = node.items()
            if function == "Ref":
                return known.get(argument)
            if function == "Condition":
                return _condition(template, argument, values)
            parts = [value(each) for each in argument] if isinstance(argument, list) else None
            if parts is None or None in parts:
                return None
            if function == "Fn::Equals":
                return str(parts[0]) == str(parts[1])
            if function == "Fn::Not":
                return not parts[0]
            if function == "Fn::And":
                return all(parts)
            if function == "Fn::Or":
                return any(parts)
            return None
        return node

    return value(template.get("Conditions", {}).get(name))


ARN_ACCOUNT = re.compile(r"arn:[^:\s]+:[^:\s]*:[^:\s]*:(\d{12}):")


def foreign_values(values: Mapping[str, str], targets: Targets,
                   per_account: Mapping[str, dict[str, str]]) -> list[str]:
    """Values naming another account's resource (a certificate or web ACL ARN from the
    config) would reach every instance: each target account must get its own."""
    problems = []
    for name, value in sorted(values.items()):
        match = ARN_ACCOUNT.search(value)
        if match is None:
            continue
        if targets.org_units:
            problems.append(f"{name} is {value}, a resource of account {match.group(1)}, and would reach every "
                            "account under the OUs; give such values per account (--accounts with --overrides)")
            continue
        missing = [account for account in targets.accounts
                   if account != match.group(1) and name not in per_account.get(account, {})]
        if missing:
            problems.append(f"{name} is {value}, a resource of account {match.group(1)}; accounts "
                            f"{', '.join(missing)} need their own in --overrides")
    return problems


def preflight(aws: Aws, system: str, targets: Targets, uses_artifacts: bool) -> list[str]:
    """Every reason the operation would fail for a target, found before it starts."""
    problems: list[str] = []
    organization = _organization(aws)
    if targets.permission_model == SELF_MANAGED:
        problems += _administration_role(aws)
    else:
        problems += _org_units(aws, organization, targets.org_units)
    if system != BOOTSTRAP:
        # Without shared artefacts only the StackSet's own template goes up (to the home region).
        for region in targets.regions if uses_artifacts else (aws.region,):
            problems += _artifact_bucket(aws, region, targets, organization)
    return problems


def _organization(aws: Aws) -> dict[str, Any] | None:
    try:
        return aws.client("organizations").describe_organization()["Organization"]
    except botocore.exceptions.ClientError as error:
        if error.response["Error"]["Code"] in ("AWSOrganizationsNotInUseException", "AccessDeniedException"):
            return None
        raise


def _administration_role(aws: Aws) -> list[str]:
    try:
        aws.client("iam").get_role(RoleName=ADMINISTRATION_ROLE_NAME)
    except botocore.exceptions.ClientError as error:
        if error.response["Error"]["Code"] != "NoSuchEntity":
            raise
        return [f"self-managed StackSets need the role {ADMINISTRATION_ROLE_NAME} in account "
                f"{aws.account_id}: ./deploy.sh bootstrap --parameter CreateAdministrationRole=true; and "
                f"{EXECUTION_ROLE_NAME} in each target: ./deploy.sh bootstrap --parameter "
                f"AdministratorAccountId={aws.account_id} run there"]
    return []


def _org_units(aws: Aws, organization: dict[str, Any] | None, units: Iterable[str]) -> list[str]:
    if organization is None:
        return [f"service-managed StackSets (--org-units) need AWS Organizations; account {aws.account_id} "
                "is in no organisation (or may not read it)"]
    if organization.get("FeatureSet") != "ALL":
        return [f"organisation {organization['Id']} has only consolidated billing; service-managed "
                "StackSets need all features enabled"]
    problems = []
    client = aws.client("organizations")
    for unit in units:
        try:
            if unit.startswith("ou-"):
                client.describe_organizational_unit(OrganizationalUnitId=unit)
            elif unit not in {root["Id"] for root in client.list_roots()["Roots"]}:
                problems.append(f"{unit} is not the root of organisation {organization['Id']}")
        except botocore.exceptions.ClientError as error:
            problems.append(f"{unit}: {error.response['Error']['Message'] or 'no such OU'} "
                            f"(in organisation {organization['Id']})")
    return problems


def _artifact_bucket(aws: Aws, region: str, targets: Targets, organization: dict[str, Any] | None) -> list[str]:
    """The administrator's bucket in `region` exists, and every target may read it."""
    bucket = names.bootstrap_bucket_name(aws.account_id, region)
    s3 = aws.client("s3", region)
    bootstrap = f"./deploy.sh bootstrap --region {region}"
    try:
        s3.head_bucket(Bucket=bucket, ExpectedBucketOwner=aws.account_id)
    except botocore.exceptions.ClientError:
        return [f"{region}: no artefact bucket {bucket} of account {aws.account_id}; instances there read "
                f"their nested templates and code from it: {bootstrap}"]
    readers = set(targets.accounts) - {aws.account_id}
    if not readers and not targets.org_units:
        return []
    readable_by = _organizations_reading(s3, bucket)
    if organization is None:
        return [f"{region}: bucket {bucket} is read by other accounts through their organisation, but account "
                f"{aws.account_id} is in none; deploy to accounts of one organisation"]
    if organization["Id"] not in readable_by:
        return [f"{region}: bucket {bucket} does not let organisation {organization['Id']} read it, so the "
                f"target accounts cannot read their templates and code: {bootstrap} --parameter "
                f"ReaderOrganizationId={organization['Id']}"]
    return [f"{region}: account {account} is not in organisation {organization['Id']}, so it cannot read "
            f"{bucket}" for account in sorted(readers) if not _member(aws, account)]


def _organizations_reading(s3: Any, bucket: str) -> set[str]:
    try:
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except botocore.exceptions.ClientError:
        return set()
    found = set()
    for statement in policy.get("Statement", []):
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if statement.get("Effect") == "Allow" and "s3:GetObject" in actions:
            given = statement.get("Condition", {}).get("StringEquals", {}).get("aws:PrincipalOrgID", [])
            found.update([given] if isinstance(given, str) else given)
    return found


def _member(aws: Aws, account: str) -> bool:
    try:
        aws.client("organizations").describe_account(AccountId=account)
    except botocore.exceptions.ClientError as error:
        if error.response["Error"]["Code"] == "AccessDeniedException":
            return True  # only the management account may look; StackSets will report it
        return False
    return True


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


def set_values(aws: Aws, workspace: Workspace, release: Release, options: StackSetOptions) -> dict[str, str]:
    """The set's parameter values: those a deploy would use, with the administrator's
    account as ArtifactAccount so every instance reads the administrator's buckets."""
    values = resolve_parameters(aws, workspace, release, None, DeployOptions(parameters=options.parameters))
    found = {value.name: value.value for value in values if value.value is not None}
    declared = release.template(release.manifest["root"]).get("Parameters", {})
    if names.ARTIFACT_ACCOUNT_PARAMETER in declared:
        found.setdefault(names.ARTIFACT_ACCOUNT_PARAMETER, aws.account_id)
    return found


def instance_overrides(aws: Aws, release: Release, values: Mapping[str, str], options: StackSetOptions,
                       accounts: Iterable[str], per_account: Mapping[str, dict[str, str]]) -> dict[tuple[str, str], dict[str, str]]:
    """Each instance's overrides: values looked up in its own region (when they differ
    from the set's) and the overrides file's values for its account."""
    declared = release.template(release.manifest["root"]).get("Parameters", {})
    looked_up = {}
    for region in options.targets.regions:
        lookups = parameters.lookups_for(aws.client("ec2", region))
        looked_up[region] = {name: lookup() for name, lookup in lookups.items()
                             if name in values and name in declared and name not in options_given(options)}
    found = {}
    for account in accounts:
        for region in options.targets.regions:
            own = {k: v for k, v in looked_up[region].items() if values.get(k) != v}
            own.update(per_account.get(account, {}))
            found[(account, region)] = own
    return found


def options_given(options: StackSetOptions) -> set[str]:
    return set(parameters.parse_overrides(list(options.parameters)))


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
        for accounts, regions_of in sorted(by_accounts.items()):
            calls.append((list(accounts), regions_of, json.loads(key)))
    # Named accounts before "" (every account under the OUs), or their overrides would come too late.
    return sorted(calls, key=lambda call: (min(region_order.index(region) for region in call[1]),
                                           "" in call[0]))


def as_parameters(values: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"ParameterKey": key, "ParameterValue": value} for key, value in sorted(values.items())]


# --- following an operation --------------------------------------------------------------


class OperationFollower:
    """Polls one operation to its end, printing a row whenever an instance's status changes."""

    def __init__(self, cfn: Any, name: str, console: Console, workspace: Workspace):
        self.cfn, self.name, self.console, self.workspace = cfn, name, console, workspace
        self.rows: dict[tuple[str, str], InstanceRow] = {}

    def follow(self, operation_id: str, what: str) -> dict[str, Any]:
        self.console.say(f"\n{what}: operation {operation_id}")
        while True:
            operation = self.cfn.describe_stack_set_operation(
                StackSetName=self.name, OperationId=operation_id)["StackSetOperation"]
            self._show(self._results(operation_id))
            if operation["Status"] in FINAL_OPERATION:
                self._show(self._results(operation_id))
                return operation
            self.workspace.sleep(self.workspace.poll_seconds)

    def _results(self, operation_id: str) -> list[InstanceRow]:
        rows = []
        paginator = self.cfn.get_paginator("list_stack_set_operation_results")
        for page in paginator.paginate(StackSetName=self.name, OperationId=operation_id):
            rows += [InstanceRow(each["Account"], each["Region"], each["Status"], each.get("StatusReason", ""))
                     for each in page["Summaries"]]
        return rows

    def _show(self, rows: list[InstanceRow]) -> None:
        for row in rows:
            key = (row.account, row.region)
            if self.rows.get(key) != row:
                self.rows[key] = row
                reason = f"  {row.reason}" if row.reason else ""
                self.console.say(f"  {row.account}  {row.region:<14} {row.status}{reason}")

    @property
    def failed(self) -> list[InstanceRow]:
        return [row for row in self.rows.values() if row.status == "FAILED"]


def table(rows: Iterable[InstanceRow]) -> str:
    rows = sorted(rows, key=lambda row: (row.region, row.account))
    lines = [f"{'account':<12}  {'region':<14}  {'status':<10}  reason"]
    lines += [f"{row.account:<12}  {row.region:<14}  {row.status:<10}  {row.reason}".rstrip() for row in rows]
    return "\n".join(lines)


def run_operation(follower: OperationFollower, start: Any, what: str) -> dict[str, Any]:
    operation_id = start()["OperationId"]
    return follower.follow(operation_id, what)


def finish(console: Console, follower: OperationFollower, operations: list[dict[str, Any]]) -> int:
    if follower.rows:
        console.say("\n" + table(follower.rows.values()))
    failed = follower.failed
    stopped = [op for op in operations if op["Status"] != "SUCCEEDED"]
    if failed or stopped:
        reasons = "; ".join(f"{row.account} {row.region}: {row.reason or row.status}" for row in failed)
        status = ", ".join(f"{op['Action']} {op['Status']}" + (f" ({op['StatusReason']})" if op.get("StatusReason")
                                                                 else "") for op in stopped)
        raise DeployFailed(f"StackSet {follower.name}: {status or 'instances failed'}"
                           + (f"; failed instances: {reasons}" if reasons else ""))
    console.say(f"\nStackSet {follower.name}: every operation succeeded")
    return 0


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
    values = set_values(aws, workspace, release, options)
    declared = release.template(release.manifest["root"]).get("Parameters", {})
    per_account = read_overrides(options.overrides_file, declared, options.targets.accounts)
    shared = checked(aws, console, release, values, options.targets, per_account)
    template = upload(aws, console, release, shared, options.targets)
    plan = plan_of(aws, release, name, values, options, per_account)
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
            per_account: Mapping[str, dict[str, str]]) -> Plan:
    cfn = aws.client("cloudformation")
    targets = options.targets
    existing = describe(cfn, name)
    current = {(each["Account"], each["Region"]) for each in instances(cfn, name)} if existing else set()
    # Under OUs the accounts are StackSets' to find: "" stands for every one of them.
    accounts = list(targets.accounts) or sorted({"", *per_account, *(account for account, _ in current)})
    changed = existing is None or existing.get("TemplateBody") != release.root.path.read_text(encoding="utf-8") \
        or {p["ParameterKey"]: p["ParameterValue"] for p in existing.get("Parameters", [])} != values
    plan = Plan(name, existing is not None, changed, release.root.sha256, values, current,
                instance_overrides(aws, release, values, options, accounts, per_account))
    plan.outdated = outdated_overrides(cfn, plan)
    return plan


def outdated_overrides(cfn: Any, plan: Plan) -> dict[tuple[str, str], dict[str, str]]:
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
