"""Pre-flight: refuse in seconds what CloudFormation would fail twenty minutes in.

Every check reads the templates about to be deployed (not any system's settings) and
asks the account one question; all problems are reported together, exit code 2. What
it finds that CloudFormation can take over instead (a retained resource with a fixed
name, see `adoptions`) it returns, so the change set imports it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions

from tap.deploy.aws import Aws
from tap.deploy.stacks import DeployedStack, Path, address
from tap.errors import UserError
from tap.valueflow import NESTED_STACK_TYPE

CERTIFICATE_ARN = re.compile(r"arn:aws[\w-]*:acm:([a-z0-9-]+):(\d{12}):certificate/[\w-]+")
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")
Templates = Mapping[Path, dict[str, Any]]


@dataclass
class Target:
    """What the checks look at: the account, the templates, and what is deployed."""

    aws: Aws
    stack_name: str
    templates: Templates
    root_parameters: Mapping[str, str]
    deployed: Mapping[Path, DeployedStack] = field(default_factory=dict)
    bucket: str | None = None  # None: the deploy uploads nothing (bootstrap)
    bucket_owner: str | None = None  # the account that must own it (default: this one)

    def pseudo_parameters(self, path: Path) -> dict[str, str]:
        values = {
            "AWS::AccountId": self.aws.account_id, "AWS::Region": self.aws.region,
            "AWS::Partition": self.aws.partition, "AWS::URLSuffix": self.aws.url_suffix,
        }
        if not path:
            values["AWS::StackName"] = self.stack_name
        return values

    def owns(self, path: Path, logical_id: str, physical_id: str) -> bool:
        stack = self.deployed.get(path)
        return stack is not None and stack.physical_id(logical_id) == physical_id


def check(target: Target) -> list[Adoption]:
    """Refuse the deploy with every problem found; else the resources its change set
    must import (ImportExistingResources) rather than create."""
    problems = [
        *bucket_problems(target), *image_problems(target), *certificate_problems(target),
        *fixed_name_problems(target), *oidc_provider_problems(target),
    ]
    if problems:
        raise UserError("pre-flight refused the deploy:\n  - " + "\n  - ".join(problems))
    return adoptions(target)


# --- the artefact bucket -----------------------------------------------------------------


def bucket_problems(target: Target) -> Iterator[str]:
    if target.bucket is None:
        return
    s3 = target.aws.client("s3")
    owner = target.bucket_owner or target.aws.account_id
    try:
        s3.head_bucket(Bucket=target.bucket, ExpectedBucketOwner=owner)
    except botocore.exceptions.ClientError as error:
        region = target.aws.region
        if error.response["Error"]["Code"] in ("404", "NoSuchBucket", "NotFound"):
            yield (f"no artefact bucket {target.bucket} in account {owner}, "
                   f"region {region}: run `./deploy.sh bootstrap --region {region}` first")
        else:
            yield (f"artefact bucket {target.bucket} exists but this account cannot use it "
                   f"({error.response['Error']['Code']}): it belongs to another account or "
                   "denies access")


# --- container images ----------------------------------------------------------------------


def image_problems(target: Target) -> Iterator[str]:
    """A service that starts tasks needs its image: without it the service never
    stabilises and its circuit breaker rolls back the whole deploy. An image tag and a
    task count the deploy passes as parameters are read as passed (the deploy passes a
    tag its repository holds, or none and no task: see tap.deploy.images)."""
    ecr = target.aws.client("ecr")
    known = known_parameters(target.templates, target.root_parameters)
    for path, template in target.templates.items():
        values = {**known.get(path, {}), **target.pseudo_parameters(path)}
        resources = template.get("Resources", {})
        for logical_id, resource in resources.items():
            if resource["Type"] != "AWS::ECS::Service" or _desired_count(template, resource, values) == 0:
                continue
            for repository_id, written in _images(resources, resource):
                tag = resolve_text({"Fn::Sub": written}, values)
                if tag is None:
                    continue  # decided at deploy time by what is not known here
                where = address(path, logical_id)
                repository = (target.deployed[path].physical_id(repository_id)
                              if path in target.deployed else None)
                if repository is None:
                    yield (f"{where} runs image tag {tag} of {address(path, repository_id)}, a "
                           "repository this deploy creates, so it cannot hold the image yet: deploy "
                           "without naming an image (./deploy.sh then passes none, and the service "
                           "runs no task until its pipeline pushes one)")
                elif not _image_exists(ecr, repository, tag):
                    yield (f"{where} runs image tag {tag}, which repository {repository} does not "
                           "hold: push it first (the service's pipeline does) or name another")


def _desired_count(template: dict[str, Any], service: dict[str, Any], values: Mapping[str, str]) -> int | None:
    count = service.get("Properties", {}).get("DesiredCount", 1)
    branches = count.get("Fn::If") if isinstance(count, dict) else None
    if isinstance(branches, list) and len(branches) == 3:
        holds = _condition(template, branches[0], values)
        count = None if holds is None else branches[1 if holds else 2]
    return count if isinstance(count, int) else None


def _images(resources: Mapping[str, Any], service: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(repository logical id, tag as written: text or `${Parameter}`) of each container of
    the service's task definition whose image is `${Repository}:tag` of a repository in
    the same template."""
    task = service.get("Properties", {}).get("TaskDefinition", {})
    definition = resources.get(task.get("Ref", "")) if isinstance(task, dict) else None
    if definition is None:
        return
    for container in definition.get("Properties", {}).get("ContainerDefinitions", []):
        image = container.get("Image")
        sub = image.get("Fn::Sub") if isinstance(image, dict) else None
        if not (isinstance(sub, list) and sub[0].startswith("${Repository}:")):
            continue
        source = sub[1].get("Repository", {}).get("Fn::GetAtt", [None])[0]
        if source in resources and resources[source]["Type"] == "AWS::ECR::Repository":
            yield source, sub[0].split(":", 1)[1]


def _image_exists(ecr: Any, repository: str, tag: str) -> bool:
    return _answers(lambda: ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}]),
                    "ImageNotFoundException", "RepositoryNotFoundException")


# --- certificates --------------------------------------------------------------------------


def certificate_problems(target: Target) -> Iterator[str]:
    """Every certificate a resource names, written in the template or (as the templates
    take them: an ARN names an account) passed down from a root parameter."""
    checked: dict[str, dict[str, Any] | str] = {}
    known = known_parameters(target.templates, target.root_parameters)
    for path, template in target.templates.items():
        values = {**known.get(path, {}), **target.pseudo_parameters(path)}
        for logical_id, resource in template.get("Resources", {}).items():
            if resource["Type"] == NESTED_STACK_TYPE:
                continue  # it passes the certificate on; the child's resource that uses it is checked
            properties = resolve_known(resource.get("Properties", {}), values)
            for match in CERTIFICATE_ARN.finditer(json.dumps(properties)):
                arn, region, account = match.group(0), match.group(1), match.group(2)
                where = address(path, logical_id)
                if account != target.aws.account_id:
                    yield (f"{where} uses certificate {arn} of account {account}; a certificate "
                           f"must be in this account ({target.aws.account_id})")
                    continue
                if arn not in checked:
                    checked[arn] = _certificate(target.aws, arn, region)
                certificate = checked[arn]
                if isinstance(certificate, str):
                    yield f"{where} uses certificate {arn}, which {certificate}"
                    continue
                for alias in _aliases(resource):
                    if not _covers(certificate, alias):
                        names = ", ".join(_certificate_names(certificate))
                        yield (f"{where} serves {alias}, which certificate {arn} does not cover "
                               f"(it covers: {names})")


def _certificate(aws: Aws, arn: str, region: str) -> dict[str, Any] | str:
    """The certificate's description, or what is wrong with it."""
    try:
        certificate = aws.client("acm", region).describe_certificate(CertificateArn=arn)["Certificate"]
    except botocore.exceptions.ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            return f"does not exist in {region}"
        raise
    if certificate.get("Status") != "ISSUED":
        return f"is {certificate.get('Status')}, not ISSUED"
    return certificate


def _aliases(resource: dict[str, Any]) -> list[str]:
    if resource["Type"] != "AWS::CloudFront::Distribution":
        return []
    aliases = resource["Properties"].get("DistributionConfig", {}).get("Aliases", [])
    return [alias for alias in aliases if isinstance(alias, str)]


def _certificate_names(certificate: dict[str, Any]) -> list[str]:
    return sorted({certificate["DomainName"], *certificate.get("SubjectAlternativeNames", [])})


def _covers(certificate: dict[str, Any], host: str) -> bool:
    for name in _certificate_names(certificate):
        if name.lower() == host.lower():
            return True
        # A wildcard covers exactly one more label: *.example.com covers a.example.com only.
        if name.startswith("*.") and host.lower().split(".", 1)[-1] == name[2:].lower():
            return True
    return False


# --- resources with fixed names ------------------------------------------------------------


def _answers(call: Callable[[], Any], *missing: str) -> bool:
    """True when the call finds its resource; False when AWS answers with a `missing` code."""
    try:
        call()
    except botocore.exceptions.ClientError as error:
        if error.response["Error"]["Code"] in missing:
            return False
        raise
    return True


def _table_exists(aws: Aws, name: str) -> bool:
    return _answers(lambda: aws.client("dynamodb").describe_table(TableName=name), "ResourceNotFoundException")


def _role_exists(aws: Aws, name: str) -> bool:
    return _answers(lambda: aws.client("iam").get_role(RoleName=name), "NoSuchEntity")


def _bucket_exists(aws: Aws, name: str) -> bool:
    try:
        aws.client("s3").head_bucket(Bucket=name)
    except botocore.exceptions.ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchBucket", "NotFound"):
            return False
        if error.response["Error"]["Code"] in ("403", "AccessDenied"):
            return True  # taken, by another account: bucket names are global
        raise
    return True


def _log_group_exists(aws: Aws, name: str) -> bool:
    groups = aws.client("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    return any(group["logGroupName"] == name for group in groups)


# The name property of each type a template may name, and how to ask whether it exists.
FIXED_NAMES: dict[str, tuple[str, Callable[[Aws, str], bool]]] = {
    "AWS::DynamoDB::Table": ("TableName", _table_exists),
    "AWS::IAM::Role": ("RoleName", _role_exists),
    "AWS::S3::Bucket": ("BucketName", _bucket_exists),
    "AWS::Logs::LogGroup": ("LogGroupName", _log_group_exists),
}


@dataclass(frozen=True)
class Adoption:
    """A resource that exists outside the stack and that the change set imports."""

    address: str
    resource_type: str
    name: str


# DeletionPolicy values under which CloudFormation imports an existing resource.
IMPORTABLE_POLICIES = frozenset({"Retain", "RetainExceptOnCreate"})


def _existing_fixed_names(target: Target) -> Iterator[tuple[str, dict[str, Any], str, bool]]:
    """(address, resource, name, importable) of each resource the templates name that
    already exists outside the stack, often one an earlier stack retained: after a
    first create that rolled back, or after the stack was deleted."""
    known = known_parameters(target.templates, target.root_parameters)
    for path, template in target.templates.items():
        values = {**known.get(path, {}), **target.pseudo_parameters(path)}
        for logical_id, resource in template.get("Resources", {}).items():
            if resource["Type"] not in FIXED_NAMES or not is_present(template, resource, values):
                continue
            prop, exists = FIXED_NAMES[resource["Type"]]
            written = resource.get("Properties", {}).get(prop)
            name = resolve_text(written, values)
            if name is None or target.owns(path, logical_id, name) or not exists(target.aws, name):
                continue
            yield address(path, logical_id), resource, name, is_importable(resource, written)


def is_importable(resource: dict[str, Any], written_name: Any) -> bool:
    """Whether a change set created with ImportExistingResources adopts the existing
    resource: its custom name is static (written as text, not built with Ref or Sub) and
    its DeletionPolicy keeps it (AWS CloudFormation User Guide, "Import AWS resources
    into a CloudFormation stack automatically"). A resource that another stack holds is
    not imported; CloudFormation then fails the create on its name, which it names."""
    return isinstance(written_name, str) and resource.get("DeletionPolicy") in IMPORTABLE_POLICIES


def fixed_name_problems(target: Target) -> Iterator[str]:
    """A named resource that exists outside the stack and that CloudFormation cannot
    import makes the create fail: it will not create one with that name again."""
    for where, resource, name, importable in _existing_fixed_names(target):
        if not importable:
            yield (f"{where}: a {resource['Type']} named {name} already exists outside this stack "
                   "(perhaps retained when an earlier stack was deleted); CloudFormation cannot "
                   "create it again, nor import it (its name is built from parameters or it has no "
                   "DeletionPolicy Retain). Delete it after keeping what you need, or rename it")


def adoptions(target: Target) -> list[Adoption]:
    """Retained resources with a static name that the change set imports, data and all."""
    return [Adoption(where, resource["Type"], name)
            for where, resource, name, importable in _existing_fixed_names(target) if importable]


# --- the GitHub OIDC provider --------------------------------------------------------------


def oidc_provider_problems(target: Target) -> Iterator[str]:
    """An account holds one IAM OIDC provider per URL; a second fails to create. A
    provider whose Condition is false (the bootstrap's, when given an existing one's ARN)
    is not created."""
    iam = target.aws.client("iam")
    existing = None
    known = known_parameters(target.templates, target.root_parameters)
    for path, template in target.templates.items():
        values = {**known.get(path, {}), **target.pseudo_parameters(path)}
        for logical_id, resource in template.get("Resources", {}).items():
            if resource["Type"] != "AWS::IAM::OIDCProvider" or not is_present(template, resource, values):
                continue
            url = resource.get("Properties", {}).get("Url")
            if not isinstance(url, str):
                continue
            if existing is None:
                existing = [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]
            host = url.removeprefix("https://").rstrip("/")
            for arn in existing:
                if arn.endswith(f":oidc-provider/{host}") and not target.owns(path, logical_id, arn):
                    yield (f"{address(path, logical_id)}: the account already has an OIDC provider "
                           f"for {url} ({arn}), and it can hold only one: use it instead of creating "
                           f"one ({_existing_provider_hint(template, arn)})")


# A template that can use an existing GitHub provider instead of creating one takes its
# ARN as this parameter (the bootstrap stack).
EXISTING_PROVIDER_PARAMETER = "GitHubOidcProviderArn"


def _existing_provider_hint(template: dict[str, Any], arn: str) -> str:
    if EXISTING_PROVIDER_PARAMETER in template.get("Parameters", {}):
        return f"--parameter {EXISTING_PROVIDER_PARAMETER}={arn}"
    return "microservices: set pipeline.create_oidc_provider = false"


# --- reading templates offline ---------------------------------------------------------------


def known_parameters(templates: Templates, root_values: Mapping[str, str]) -> dict[Path, dict[str, str]]:
    """The parameter values of each stack that are known before the deploy: the root's,
    and what parents pass down as literals or from their own known values."""
    known: dict[Path, dict[str, str]] = {}
    for path in sorted(templates, key=len):
        template = templates[path]
        values: dict[str, str] = {}
        if not path:
            values.update(root_values)
        else:
            parent = templates.get(path[:-1], {})
            passed = parent.get("Resources", {}).get(path[-1], {}).get("Properties", {}).get("Parameters", {})
            for name, value in passed.items():
                resolved = resolve_text(value, known.get(path[:-1], {}))
                if resolved is not None:
                    values[name] = resolved
        for name, spec in template.get("Parameters", {}).items():
            if name not in values and "Default" in spec:
                values[name] = str(spec["Default"])
        known[path] = values
    return known


def resolve_text(value: Any, values: Mapping[str, str]) -> str | None:
    """A string, `Ref` or `Fn::Sub` resolved from known values; None when it depends on
    anything else (a resource, another stack's output)."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict) or len(value) != 1:
        return None
    if "Ref" in value:
        return values.get(value["Ref"])
    if "Fn::Select" in value:  # an element of a list parameter, known as its comma-joined text
        index, listed = value["Fn::Select"]
        text = resolve_text(listed, values)
        elements = text.split(",") if text is not None else []
        return elements[int(index)] if str(index).isdigit() and int(index) < len(elements) else None
    if "Fn::Sub" in value:
        text, variables = value["Fn::Sub"], {}
        if isinstance(text, list):
            text, variables = text
        scope = dict(values)
        for name, expression in variables.items():
            resolved = resolve_text(expression, values)
            if resolved is None:
                return None
            scope[name] = resolved
        missing = [name for name in _SUB_VARIABLE.findall(text) if name not in scope]
        if missing:
            return None
        return _SUB_VARIABLE.sub(lambda match: scope[match.group(1)], text)
    return None


def resolve_known(value: Any, values: Mapping[str, str]) -> Any:
    """`value` with every `Ref` and `Fn::Sub` that known values resolve replaced by its text."""
    if isinstance(value, list):
        return [resolve_known(item, values) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1 and ("Ref" in value or "Fn::Sub" in value):
        text = resolve_text(value, values)
        if text is not None:
            return text
    return {key: resolve_known(item, values) for key, item in value.items()}


def is_present(template: dict[str, Any], resource: dict[str, Any], values: Mapping[str, str]) -> bool:
    """False only when the resource's Condition is known to be false."""
    condition = resource.get("Condition")
    return condition is None or _condition(template, condition, values) is not False


def _condition(template: dict[str, Any], name: str, values: Mapping[str, str]) -> bool | None:
    return _evaluate(template, template.get("Conditions", {}).get(name), values)


def _evaluate(template: dict[str, Any], expression: Any, values: Mapping[str, str]) -> Any:
    if not isinstance(expression, dict) or len(expression) != 1:
        return expression if isinstance(expression, str) else None
    (function, argument), = expression.items()
    if function == "Condition":
        return _condition(template, argument, values)
    if function == "Ref":
        return values.get(argument)
    parts = [_evaluate(template, item, values) for item in argument] if isinstance(argument, list) else []
    if function == "Fn::Equals" and len(parts) == 2 and None not in parts:
        return parts[0] == parts[1]
    if function == "Fn::Not" and len(parts) == 1 and parts[0] is not None:
        return not parts[0]
    if function == "Fn::And" and parts:
        return False if False in parts else (None if None in parts else True)
    if function == "Fn::Or" and parts:
        return True if True in parts else (None if None in parts else False)
    return None
