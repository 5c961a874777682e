"""The StackSet pre-flight: every reason an operation would fail for a target, found
before it starts (regions, named IAM resources, foreign ARNs, roles, organisation, OUs,
and each region's shared artefact bucket)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

import botocore.exceptions

from tap import names
from tap.build import BOOTSTRAP
from tap.config.distribution import EDGE_REGION
from tap.deploy.artifacts import Release
from tap.deploy.aws import Aws
from tap.deploy.preflight import is_present
from tap.deploy.stackset_targets import SELF_MANAGED, Targets
from tap.errors import UserError
from tap.schemas import IAM_NAME_PROPERTIES
from tap.systems.bootstrap import ADMINISTRATION_ROLE_NAME, EXECUTION_ROLE_NAME

# Systems that can live in one region only, and why.
REGION_BOUND = {
    "distribution": (EDGE_REGION, "its Lambda@Edge function, CloudFront key group and CLOUDFRONT-scope "
                     "WAF web ACL can only be created in us-east-1; each account gets one instance there"),
}


def check_regions(system: str, targets: Targets) -> None:
    bound = REGION_BOUND.get(system)
    if bound and set(targets.regions) != {bound[0]}:
        others = ", ".join(r for r in targets.regions if r != bound[0]) or "none"
        raise UserError(f"the {system} system deploys only to {bound[0]}: {bound[1]}; allowed: "
                        f"--regions {bound[0]} (asked for: {others})")


# Resources IAM keeps once per account, by the property that names them.
ACCOUNT_WIDE = {**IAM_NAME_PROPERTIES, "AWS::IAM::OIDCProvider": "Url"}


def account_wide_names(release: Release, values: Mapping[str, str], regions: tuple[str, ...]) -> list[str]:
    """Named IAM resources the instances would create once per region in one account:
    the second region's instance fails on a name the first one took."""
    if len(regions) < 2:
        return []
    problems = []
    for path, template in sorted(release.templates_by_path().items()):
        defaults = {k: str(v["Default"]) for k, v in template.get("Parameters", {}).items() if "Default" in v}
        given = {**defaults, **values} if not path else defaults
        for logical_id, resource in sorted(template.get("Resources", {}).items()):
            name = ACCOUNT_WIDE.get(resource.get("Type", ""))
            if name is None or name not in resource.get("Properties", {}):
                continue
            if not is_present(template, resource, given):
                continue
            where = "/".join((*path, logical_id))
            problems.append(f"{where} ({resource['Type']}) exists once per account, but instances in "
                            f"{len(regions)} regions of each account would each create it (a StackSet "
                            "deploys one template everywhere); deploy to one region, or build without it"
                            + (" (create_oidc_provider = false in the config, the provider made once "
                               "per account)" if resource["Type"] == "AWS::IAM::OIDCProvider" else ""))
    return problems


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


def preflight(aws: Aws, system: str, targets: Targets, shared: bool) -> list[str]:
    """Every reason the operation would fail for a target, found before it starts.
    `shared`: instances read the administrator's bucket in their region."""
    problems: list[str] = []
    organization = _organization(aws)
    if targets.permission_model == SELF_MANAGED:
        problems += _administration_role(aws)
    else:
        problems += _org_units(aws, organization, targets.org_units)
    if system == BOOTSTRAP:  # its template goes as the StackSet's body: no bucket
        return problems
    if not shared:  # only the StackSet's own template goes up, to the home region
        return problems + _artifact_bucket(aws, aws.region, None, organization)
    for region in targets.regions:
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


def _artifact_bucket(aws: Aws, region: str, targets: Targets | None,
                     organization: dict[str, Any] | None) -> list[str]:
    """The administrator's bucket in `region` exists, and every target (if given) may read it."""
    bucket = names.bootstrap_bucket_name(aws.account_id, region)
    s3 = aws.client("s3", region)
    bootstrap = f"./deploy.sh bootstrap --region {region}"
    try:
        s3.head_bucket(Bucket=bucket, ExpectedBucketOwner=aws.account_id)
    except botocore.exceptions.ClientError:
        return [f"{region}: no artefact bucket {bucket} of account {aws.account_id}; instances there read "
                f"their nested templates and code from it: {bootstrap}"]
    if targets is None:
        return []
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
    found: set[str] = set()
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


