"""A local AWS for the deploy tool: moto's server, patched so that tap's systems
deploy through CloudFormation change sets the way the deploy tool drives AWS.

moto 5.2.5 runs CloudFormation synchronously and only roughly: no nested change
sets, no `Replacement`, nested stacks deleted and recreated on update, outputs
never set after a change set, a failure is a 500 instead of a rollback, and 33
of the resource types tap uses have no model at all. Rather than patch its
engine piece by piece, this module replaces CloudFormation's stack lifecycle
(change sets, execution, rollback, deletion, events, resource statuses) with a
small engine of its own that still creates every resource through moto's
models, so the services behind them (S3, IAM, Lambda, DynamoDB, ECS ...) hold
what a deploy made. Each gap closed is marked `Gap:` where it is closed.

Where AWS is knowingly imprecise, so is the emulator: a change set treats every
attribute of a changed resource, and so every output of a changed nested stack,
as unknown until applied (a sibling fed by such an output shows `Dynamic`
changes and `Conditional` replacements).

    with Emulator() as aws:
        session.client("cloudformation", endpoint_url=aws.url)

`install()` patches moto for the whole process (also under `mock_aws`); nothing
under .venv is edited. Any account id works: moto keys state by account, picked
by the `x-moto-account-id` header (default ACCOUNT_ID).
"""

from __future__ import annotations

import base64
import contextlib
import copy
import fnmatch
import ipaddress
import itertools
import json
import logging
import re
import string
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from moto.cloudformation import models as cfn_models
from moto.cloudformation.exceptions import CloudFormationError, ValidationError
from moto.cloudformation.models import CloudFormationBackend, cloudformation_backends
from moto.cloudformation.parsing import get_model_list, get_model_map, get_name_type_map
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.common_models import CloudFormationModel
from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.moto_api._internal import mock_random
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.server import ThreadedMotoServer

from tap.schemas import IAM_NAME_PROPERTIES, create_only_paths, requires_recreation
from tap.schemas import attributes as schema_attributes

ACCOUNT_ID = "123456789012"
PARTITION = "aws"
URL_SUFFIX = "amazonaws.com"
NO_CHANGES = ("The submitted information didn't contain changes. "
              "Submit different information to create a change set.")

log = logging.getLogger(__name__)

# One lock serialises every HTTP request with every step of a running stack
# operation: moto's backends are plain dicts, and a describe call must never
# see a resource half made.
_LOCK = threading.RLock()
_installed = False


# --- the server --------------------------------------------------------------


class Emulator:
    """moto's server on 127.0.0.1 with every patch of this module applied."""

    def __init__(self, port: int = 0):
        self.port = port
        self.url = ""
        self._server: ThreadedMotoServer | None = None

    def __enter__(self) -> Emulator:
        install()
        # One line per request drowns test output; errors still show.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        host, self.port = self._server.get_host_and_port()
        self.url = f"http://{host}:{self.port}"
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


def serve(port: int) -> None:
    """Run an emulator in the foreground until Ctrl-C (`./deploy.sh local-server`)."""
    with Emulator(port) as emulator:
        print(f"AWS emulator listening on {emulator.url} (account {ACCOUNT_ID}); "
              "Ctrl-C stops it", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


def connect_as(url: str, region: str, account_id: str) -> Any:
    """A deploy-tool session on the emulator at `url` acting as `account_id` (moto picks
    the account from the x-moto-account-id header)."""
    from tap.deploy import aws as aws_module

    aws = aws_module.connect(region, endpoint_url=url)

    def add_account(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account_id

    aws.session.events.register("before-sign", add_account)
    return aws


def install() -> None:
    """Apply every patch once; calling it again does nothing."""
    global _installed
    with _LOCK:
        if _installed:
            return
        _serialise_requests()
        _install_cloudformation_api()
        _register_stand_ins()
        _install_s3_checksums()
        _install_s3_policy_conditions()
        _installed = True


def _serialise_requests() -> None:
    original = DomainDispatcherApplication.__call__

    def locked(self: Any, environ: dict, start_response: Any) -> Any:
        with _LOCK:
            return original(self, environ, start_response)

    DomainDispatcherApplication.__call__ = locked


# --- intrinsic functions ---------------------------------------------------------


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()  # AWS::NoValue: the property is left out


@dataclass(frozen=True)
class Unknown:
    """A value CloudFormation only learns while it applies a change set.

    `causes` are (ChangeSource, CausingEntity) pairs, reported as the `Dynamic`
    details of a change."""

    causes: frozenset

    def __repr__(self) -> str:
        return "{{changeSet:KNOWN_AFTER_APPLY}}"


def unknowns(value: Any) -> frozenset:
    """Every cause of every Unknown inside `value` (empty: fully known)."""
    if isinstance(value, Unknown):
        return value.causes
    if isinstance(value, dict):
        return frozenset().union(*(unknowns(v) for v in value.values())) if value else frozenset()
    if isinstance(value, list):
        return frozenset().union(*(unknowns(v) for v in value)) if value else frozenset()
    return frozenset()


def _unknown_of(*values: Any) -> Unknown | None:
    causes = frozenset().union(*(unknowns(v) for v in values))
    return Unknown(causes) if causes else None


class TemplateError(Exception):
    """A template CloudFormation would refuse ("Template format error: ...")."""


class Scope:
    """What the intrinsic functions of one template see: parameters, pseudo
    parameters, conditions, mappings, and resources through two callbacks."""

    def __init__(
        self,
        template: dict,
        parameters: dict[str, Any],
        pseudo: dict[str, Any],
        ref: Callable[[str], Any],
        getatt: Callable[[str, str], Any],
        zones: list[str],
    ):
        self.template = template
        self.parameters = parameters
        self.pseudo = pseudo
        self._ref = ref
        self._getatt = getatt
        self.zones = zones
        self._conditions: dict[str, Any] = {}

    def ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.template.get("Resources", {}):
            return self._ref(name)
        raise TemplateError(
            f"Unresolved resource dependencies [{name}] in the Resources block of the template")

    def getatt(self, name: str, attribute: str) -> Any:
        if name not in self.template.get("Resources", {}):
            raise TemplateError(
                f"Template error: instance of Fn::GetAtt references undefined resource {name}")
        return self._getatt(name, attribute)

    def condition(self, name: str) -> Any:
        if name not in self._conditions:
            conditions = self.template.get("Conditions", {})
            if name not in conditions:
                raise TemplateError(f"Template error: unresolved condition dependency {name}")
            self._conditions[name] = resolve(conditions[name], self)
        return self._conditions[name]

    def includes(self, resource: dict) -> Any:
        """True when the resource's Condition holds (Unknown when it cannot be told yet)."""
        return True if "Condition" not in resource else self.condition(resource["Condition"])


def resolve(node: Any, scope: Scope) -> Any:
    """Evaluate every intrinsic function in `node`; values that cannot be known
    yet become `Unknown`, and AWS::NoValue drops the key or item holding it."""
    if isinstance(node, dict):
        if len(node) == 1:
            ((key, argument),) = node.items()
            function = _FUNCTIONS.get(key)
            # {"Condition": name} is a function only inside conditions; elsewhere
            # (an IAM statement's Condition block) it is data.
            if key == "Condition" and not (isinstance(argument, str)
                                           and argument in scope.template.get("Conditions", {})):
                function = None
            if function is not None:
                return function(argument, scope)
        resolved = {key: resolve(value, scope) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not NO_VALUE}
    if isinstance(node, list):
        return [item for item in (resolve(each, scope) for each in node) if item is not NO_VALUE]
    return node


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        raise TemplateError(f"Template error: expected a string, got {json.dumps(value)}")
    return str(value)


def _fn_ref(name: str, scope: Scope) -> Any:
    return scope.ref(name)


def _fn_getatt(argument: Any, scope: Scope) -> Any:
    parts = argument.split(".", 1) if isinstance(argument, str) else list(argument)
    name, attribute = parts[0], ".".join(resolve(part, scope) for part in parts[1:])
    return scope.getatt(name, attribute)


_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def _fn_sub(argument: Any, scope: Scope) -> Any:
    text, variables = (argument, {}) if isinstance(argument, str) else argument
    values = {name: resolve(value, scope) for name, value in variables.items()}
    pending: list[Any] = []

    def substitute(match: re.Match) -> str:
        name = match.group(1).strip()
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        if name in values:
            value = values[name]
        elif "." in name and not name.startswith("AWS::"):
            value = scope.getatt(*name.split(".", 1))
        else:
            value = scope.ref(name)
        if unknowns(value):
            pending.append(value)
            return ""
        return _text(value)

    substituted = _SUB_VARIABLE.sub(substitute, text)
    return _unknown_of(*pending) or substituted


def _fn_join(argument: Any, scope: Scope) -> Any:
    delimiter, items = argument
    items = resolve(items, scope)
    return _unknown_of(items) or delimiter.join(_text(item) for item in items)


def _fn_select(argument: Any, scope: Scope) -> Any:
    index, items = resolve(argument[0], scope), resolve(argument[1], scope)
    if isinstance(index, Unknown) or isinstance(items, Unknown):
        return _unknown_of(index, items)
    return items[int(index)]


def _fn_split(argument: Any, scope: Scope) -> Any:
    delimiter, text = argument[0], resolve(argument[1], scope)
    return _unknown_of(text) or text.split(delimiter)


def _fn_if(argument: Any, scope: Scope) -> Any:
    condition, when_true, when_false = argument
    holds = scope.condition(condition)
    if isinstance(holds, Unknown):
        return holds
    return resolve(when_true if holds else when_false, scope)


def _fn_equals(argument: Any, scope: Scope) -> Any:
    left, right = (resolve(each, scope) for each in argument)
    return _unknown_of(left, right) or _text(left) == _text(right)


def _fn_not(argument: Any, scope: Scope) -> Any:
    value = resolve(argument[0], scope)
    return value if isinstance(value, Unknown) else not value


def _fn_and(argument: Any, scope: Scope) -> Any:
    values = [resolve(each, scope) for each in argument]
    return _unknown_of(*values) or all(values)


def _fn_or(argument: Any, scope: Scope) -> Any:
    values = [resolve(each, scope) for each in argument]
    return _unknown_of(*values) or any(values)


def _fn_condition(name: str, scope: Scope) -> Any:
    return scope.condition(name)


def _fn_getazs(argument: Any, scope: Scope) -> Any:
    return list(scope.zones)


def _fn_find_in_map(argument: Any, scope: Scope) -> Any:
    name, first, second = (resolve(each, scope) for each in argument[:3])
    if _unknown_of(first, second):
        return _unknown_of(first, second)
    try:
        return scope.template["Mappings"][name][first][second]
    except KeyError:
        raise TemplateError(f"Template error: Unable to get mapping for {name}::{first}::{second}") from None


def _fn_base64(argument: Any, scope: Scope) -> Any:
    value = resolve(argument, scope)
    return _unknown_of(value) or base64.b64encode(_text(value).encode()).decode()


def _fn_to_json_string(argument: Any, scope: Scope) -> Any:
    value = resolve(argument, scope)
    return _unknown_of(value) or json.dumps(value, separators=(",", ":"))


def _fn_length(argument: Any, scope: Scope) -> Any:
    value = resolve(argument, scope)
    return _unknown_of(value) or len(value)


def _fn_cidr(argument: Any, scope: Scope) -> Any:
    block, count, bits = (resolve(each, scope) for each in argument)
    if _unknown_of(block, count, bits):
        return _unknown_of(block, count, bits)
    network = ipaddress.ip_network(block, strict=False)
    prefix = network.max_prefixlen - int(bits)
    return [str(subnet) for subnet in itertools.islice(network.subnets(new_prefix=prefix), int(count))]


def _fn_import_value(argument: Any, scope: Scope) -> Any:
    name = resolve(argument, scope)
    if isinstance(name, Unknown):
        return name
    raise TemplateError(f"No export named {name} found.")


_FUNCTIONS: dict[str, Callable[[Any, Scope], Any]] = {
    "Ref": _fn_ref,
    "Fn::GetAtt": _fn_getatt,
    "Fn::Sub": _fn_sub,
    "Fn::Join": _fn_join,
    "Fn::Select": _fn_select,
    "Fn::Split": _fn_split,
    "Fn::If": _fn_if,
    "Fn::Equals": _fn_equals,
    "Fn::Not": _fn_not,
    "Fn::And": _fn_and,
    "Fn::Or": _fn_or,
    "Condition": _fn_condition,
    "Fn::GetAZs": _fn_getazs,
    "Fn::FindInMap": _fn_find_in_map,
    "Fn::Base64": _fn_base64,
    "Fn::ToJsonString": _fn_to_json_string,
    "Fn::Length": _fn_length,
    "Fn::Cidr": _fn_cidr,
    "Fn::ImportValue": _fn_import_value,
}


def dependencies(node: Any, names: Iterable[str]) -> set[str]:
    """The resources `node` refers to (Ref, GetAtt, Sub variables)."""
    names = set(names)
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, argument in value.items():
                if key == "Ref" and isinstance(argument, str):
                    found.add(argument)
                elif key == "Fn::GetAtt":
                    found.add(argument.split(".")[0] if isinstance(argument, str) else argument[0])
                elif key == "Fn::Sub":
                    text = argument if isinstance(argument, str) else argument[0]
                    found.update(match.split(".")[0].strip() for match in _SUB_VARIABLE.findall(text))
                walk(argument)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(node)
    return found & names


def creation_order(resources: dict[str, dict]) -> list[str]:
    """Logical ids with every resource after those it depends on (template order otherwise)."""
    needs = {}
    for logical_id, resource in resources.items():
        depends_on = resource.get("DependsOn", [])
        depends_on = [depends_on] if isinstance(depends_on, str) else depends_on
        needs[logical_id] = (dependencies(resource, resources) | set(depends_on)) - {logical_id}
    ordered: list[str] = []
    placed: set[str] = set()
    while len(ordered) < len(needs):
        ready = [lid for lid in needs if lid not in placed and needs[lid] <= placed]
        if not ready:
            cycle = sorted(lid for lid in needs if lid not in placed)
            raise TemplateError(f"Circular dependency between resources: {cycle}")
        ordered.extend(ready)
        placed.update(ready)
    return ordered


# --- dynamic references ---------------------------------------------------------

_DYNAMIC_REFERENCE = re.compile(r"\{\{resolve:(secretsmanager|ssm|ssm-secure):([^}]*)\}\}")


def _resolve_dynamic_references(node: Any, account_id: str, region: str) -> Any:
    """Replace {{resolve:...}} with the value it names, as CloudFormation does
    just before it calls the resource handler."""
    if isinstance(node, dict):
        return {key: _resolve_dynamic_references(value, account_id, region) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve_dynamic_references(item, account_id, region) for item in node]
    if isinstance(node, str) and "{{resolve:" in node:
        return _DYNAMIC_REFERENCE.sub(lambda m: _dynamic_value(m, account_id, region), node)
    return node


def _dynamic_value(match: re.Match, account_id: str, region: str) -> str:
    service, reference = match.groups()
    if service == "secretsmanager":
        from moto.secretsmanager.models import secretsmanager_backends

        parts = reference.split(":")
        # the secret id may itself be an ARN (arn:aws:secretsmanager:region:acct:secret:name)
        if reference.startswith("arn:"):
            secret_id, rest = ":".join(parts[:7]), parts[7:]
        else:
            secret_id, rest = parts[0], parts[1:]
        json_key = rest[1] if len(rest) > 1 and rest[1] else None
        try:
            secret = secretsmanager_backends[account_id][region].get_secret_value(secret_id, None, None)
        except Exception:
            raise ResourceError(
                f"Secrets Manager can't find the specified secret. (Secret: {secret_id})") from None
        value: Any = secret.get("SecretString") if isinstance(secret, dict) else secret.secret_string
        if json_key:
            try:
                return str(json.loads(value)[json_key])
            except (KeyError, TypeError, ValueError):
                raise ResourceError(
                    f"Could not parse SecretString JSON for key {json_key} of secret {secret_id}") from None
        return value
    from moto.ssm.models import ssm_backends

    name = reference.split(":")[0]
    parameter = ssm_backends[account_id][region].get_parameter(name)
    if parameter is None:
        raise ResourceError(f"SSM parameter {name} does not exist")
    return parameter.value


# --- resource schemas: replacement and names ----------------------------------------



def _at_path(properties: Any, path: tuple[str, ...]) -> Any:
    value = properties
    for part in path:
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def replacement(resource_type: str, before: dict, after: dict) -> str:
    """'True' when a create-only property changes, 'Conditional' when one may."""
    verdict = "False"
    for path in create_only_paths(resource_type):
        new = _at_path(after, path)
        if unknowns(new):
            verdict = "Conditional"
        elif new != _at_path(before, path):
            return "True"
    return verdict


def _name_property(resource_type: str) -> str:
    model = resource_model(resource_type)
    return (model.cloudformation_name_type() or "") if model else ""


# Limits CloudFormation respects when it names a resource for you
# (type: maximum length, lower case only).
_NAME_RULES: dict[str, tuple[int, bool]] = {
    "AWS::S3::Bucket": (63, True),
    "AWS::ECR::Repository": (256, True),
    "AWS::RDS::DBInstance": (63, True),
    "AWS::RDS::DBParameterGroup": (255, True),
    "AWS::RDS::DBSubnetGroup": (255, True),
    "AWS::ElastiCache::ReplicationGroup": (40, True),
    "AWS::ElastiCache::ParameterGroup": (255, True),
    "AWS::ElastiCache::SubnetGroup": (255, True),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": (32, False),
    "AWS::ElasticLoadBalancingV2::TargetGroup": (32, False),
    "AWS::IAM::Role": (64, False),
    "AWS::IAM::Policy": (128, False),
    "AWS::IAM::ManagedPolicy": (128, False),
    "AWS::Lambda::Function": (64, False),
    "AWS::SQS::Queue": (80, False),
    "AWS::CodeBuild::Project": (150, False),
    "AWS::CodePipeline::Pipeline": (100, False),
    "AWS::Logs::DeliveryDestination": (60, False),
    "AWS::Logs::DeliverySource": (60, False),
}


def _suffix(length: int = 12) -> str:
    return "".join(mock_random.choice(string.ascii_uppercase + string.digits) for _ in range(length))


def generated_name(resource_type: str, stack_name: str, logical_id: str) -> str:
    """`<stack>-<LogicalId>-<RANDOM>` cut to the type's limits, as CloudFormation names things.

    Gap: moto names an RDS instance past 63 characters and an ECR repository in upper case."""
    limit, lower = _NAME_RULES.get(resource_type, (255, False))
    suffix = _suffix(12 if limit > 40 else 8)
    budget = limit - len(suffix) - 2
    # The stack's name gives way first, so the logical id stays recognisable.
    logical = logical_id[: max(budget // 2, budget - len(stack_name))]
    prefix = f"{stack_name[: budget - len(logical)].strip('-')}-{logical}".strip("-")
    name = re.sub(r"-+", "-", f"{prefix}-{suffix}")
    if resource_type == "AWS::RDS::DBInstance" and not name[0].isalpha():
        name = "db" + name[2:]
    return name.lower() if lower else name


# --- resource models ------------------------------------------------------------------


def resource_model(resource_type: str) -> Any:
    """moto's model class of `resource_type` (untyped to mypy), or None for a nested stack."""
    if resource_type == "AWS::CloudFormation::Stack":
        return None
    model = get_model_map().get(resource_type)
    if model is None and resource_type.startswith("AWS::"):
        model = _generic_stand_in(resource_type)
    return model


class ResourceError(Exception):
    """A resource handler failed: the reason CloudFormation shows in *_FAILED."""


def _handler_message(error: BaseException) -> str:
    if isinstance(error, ResourceError):
        return str(error)
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    code = getattr(error, "code", None) or getattr(error, "error_type", None)
    detail = f"{message} (Service: {code})" if isinstance(code, str) else message
    return f'Resource handler returned message: "{detail}"'


@dataclass
class Resource:
    """One resource of a stack as CloudFormation tracks it."""

    logical_id: str
    type: str
    physical_id: str
    model: Any  # a moto model, a stand-in, or a nested EmulatedStack
    properties: dict  # the resolved properties it was last created or updated with
    definition: dict  # its entry in the template
    status: str = "CREATE_IN_PROGRESS"
    reason: str | None = None
    updated: datetime = field(default_factory=utcnow)


def _custom_name(resource_type: str, properties: dict) -> str | None:
    name_property = _name_property(resource_type)
    value = properties.get(name_property) if name_property else None
    return value if isinstance(value, str) and value else None


def _existing_table(stack: EmulatedStack, name: str) -> Any:
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[stack.account_id][stack.region_name].tables.get(name)


# How to find an existing resource by its name, for the types the emulator can import.
_EXISTING: dict[str, Callable[[EmulatedStack, str], Any]] = {
    "AWS::DynamoDB::Table": _existing_table,
}


def _existing_model(stack: EmulatedStack, resource_type: str, name: str) -> Any:
    finder = _EXISTING.get(resource_type)
    return finder(stack, name) if finder and name else None


def _owner(stack: EmulatedStack, resource_type: str, physical_id: str) -> EmulatedStack | None:
    """The live stack a resource belongs to, if any."""
    backend = cloudformation_backends[stack.account_id][stack.region_name]
    for other in backend.stacks.values():
        if not isinstance(other, EmulatedStack):
            continue
        for record in other.resources.values():
            if (record.type == resource_type and record.physical_id == physical_id
                    and record.status not in ("DELETE_COMPLETE", "DELETE_SKIPPED")):
                return other
    return None


def importable(stack: EmulatedStack, definition: dict) -> str | None:
    """The name of the existing resource an ImportExistingResources change set adopts
    for `definition`, or None (it is added). AWS imports a resource with a static custom
    name written in the template (not built with Ref or Sub), a DeletionPolicy of Retain
    or RetainExceptOnCreate, and no stack of its own (AWS CloudFormation User Guide,
    "Import AWS resources into a CloudFormation stack automatically")."""
    kind = definition["Type"]
    name_property = _name_property(kind)
    name = (definition.get("Properties") or {}).get(name_property) if name_property else None
    if not isinstance(name, str) or not name:
        return None
    if definition.get("DeletionPolicy") not in ("Retain", "RetainExceptOnCreate"):
        return None
    # One owned by a live stack is not adopted: the create then fails on its name, as before.
    if _existing_model(stack, kind, name) is None or _owner(stack, kind, name) is not None:
        return None
    return name


def _create_model(stack: EmulatedStack, logical_id: str, resource_type: str,
                  properties: dict) -> tuple[Any, str]:
    """Create through moto's model (or a creator below); returns (model, physical id)."""
    _check_handler_input(stack, resource_type, properties)
    name = _custom_name(resource_type, properties) or generated_name(resource_type, stack.name, logical_id)
    handler_properties = _handler_properties(stack, properties)
    injected = _NAME_INJECTIONS.get(resource_type)
    if injected and injected not in handler_properties:
        handler_properties[injected] = name
    creator = _CREATORS.get(resource_type)
    if creator is not None:
        model = creator(stack, name, handler_properties)
    else:
        model = resource_model(resource_type).create_from_cloudformation_json(
            name, {"Type": resource_type, "Properties": handler_properties}, stack.account_id,
            stack.region_name, LogicalId=logical_id, StackId=stack.stack_id, ResourceType=resource_type,
        )
    if model is None:
        raise ResourceError(f"the emulator could not create {resource_type}")
    model.cf_resource_type = resource_type
    model.logical_resource_id = logical_id
    _tag_ec2_resource(stack, logical_id, model)
    fix = _PHYSICAL_IDS.get(resource_type)
    physical_id = fix(model, handler_properties, stack) if fix else _physical_id(model)
    return model, physical_id or name


def _create_db_instance(stack: EmulatedStack, name: str, properties: dict) -> Any:
    """Gap: moto's RDS model reads DBSubnetGroupName as an object and ignores
    ManageMasterUserPassword (so MasterUserSecret.SecretArn has no value)."""
    from moto.rds.models import rds_backends

    engine = properties.get("Engine", "postgres")
    default_port = {"postgres": 5432, "mysql": 3306, "mariadb": 3306}.get(engine, 5432)
    arguments = {
        "db_instance_identifier": name,
        "db_instance_class": properties.get("DBInstanceClass"),
        "engine": engine,
        "engine_version": properties.get("EngineVersion"),
        "port": int(properties.get("Port", default_port)),
        "allocated_storage": _int_or_none(properties.get("AllocatedStorage")),
        "max_allocated_storage": _int_or_none(properties.get("MaxAllocatedStorage")),
        "backup_retention_period": int(properties.get("BackupRetentionPeriod", 1)),
        "auto_minor_version_upgrade": _flag(properties.get("AutoMinorVersionUpgrade", True)),
        "db_name": properties.get("DBName"),
        "db_subnet_group_name": properties.get("DBSubnetGroupName"),
        "db_parameter_group_name": properties.get("DBParameterGroupName"),
        "copy_tags_to_snapshot": _flag(properties.get("CopyTagsToSnapshot")),
        "master_username": properties.get("MasterUsername"),
        "master_user_password": properties.get("MasterUserPassword"),
        "manage_master_user_password": _flag(properties.get("ManageMasterUserPassword")),
        "master_user_secret_kms_key_id": properties.get("MasterUserSecret", {}).get("KmsKeyId"),
        "multi_az": _flag(properties.get("MultiAZ")),
        "publicly_accessible": _flag(properties.get("PubliclyAccessible")),
        "storage_type": properties.get("StorageType"),
        "storage_encrypted": _flag(properties.get("StorageEncrypted")),
        "kms_key_id": properties.get("KmsKeyId"),
        "tags": properties.get("Tags", []),
        "vpc_security_group_ids": properties.get("VPCSecurityGroups", []),
        "deletion_protection": _flag(properties.get("DeletionProtection")),
        "enable_cloudwatch_logs_exports": properties.get("EnableCloudwatchLogsExports"),
        "monitoring_interval": int(properties.get("MonitoringInterval", 0)),
        "monitoring_role_arn": properties.get("MonitoringRoleArn"),
        "availability_zone": properties.get("AvailabilityZone"),
    }
    return rds_backends[stack.account_id][stack.region_name].create_db_instance(arguments)


def _check_handler_input(stack: EmulatedStack, resource_type: str, properties: dict) -> None:
    """Gap: moto creates a Lambda function whose code object is missing from S3;
    AWS fails the resource, which is how a forgotten upload shows."""
    if resource_type != "AWS::Lambda::Function":
        return
    code = properties.get("Code") or {}
    if "S3Bucket" not in code:
        return
    from moto.s3.models import s3_backends

    backend = s3_backends[stack.account_id][PARTITION]
    try:
        found = backend.get_object(code["S3Bucket"], code["S3Key"])
    except Exception:
        found = None
    if found is None:
        raise ResourceError(
            'Resource handler returned message: "Error occurred while GetObject. S3 Error Code: '
            "NoSuchKey. S3 Error Message: The specified key does not exist. (Service: Lambda, "
            'Status Code: 400)"')


def _lambda_version_arn(model: Any, properties: dict, stack: EmulatedStack) -> str:
    """Gap: moto's Lambda version has no Ref; AWS returns the version's ARN."""
    from moto.awslambda.models import lambda_backends

    function = lambda_backends[stack.account_id][stack.region_name].get_function(properties["FunctionName"])
    model.function_arn = function.function_arn
    return f"{function.function_arn}:{model.version}"


def _apigateway_deployment_id(model: Any, properties: dict, stack: EmulatedStack) -> str:
    return model.id


_CREATORS: dict[str, Callable[[EmulatedStack, str, dict], Any]] = {
    "AWS::RDS::DBInstance": _create_db_instance,
}

# Gap: Ref of these moto models is empty or not what AWS returns.
_PHYSICAL_IDS: dict[str, Callable[[Any, dict, EmulatedStack], str]] = {
    "AWS::Lambda::Version": _lambda_version_arn,
    "AWS::ApiGateway::Deployment": _apigateway_deployment_id,
}

# Gap: these moto models ignore the generated name (a dashboard got a UUID, a task
# definition family "task-definition-<n>") unless it comes as a property.
_NAME_INJECTIONS = {"AWS::CloudWatch::Dashboard": "DashboardName", "AWS::ECS::TaskDefinition": "Family"}


def _handler_properties(stack: EmulatedStack, properties: dict) -> dict:
    return _resolve_dynamic_references(copy.deepcopy(properties), stack.account_id, stack.region_name)


def _tag_ec2_resource(stack: EmulatedStack, logical_id: str, model: Any) -> None:
    """CloudFormation tags what it creates with the stack's name and id and the logical id."""
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.core import TaggedEC2Resource

    if not isinstance(model, TaggedEC2Resource):
        return
    tags = dict(stack.tags)
    tags.update({
        "aws:cloudformation:stack-name": stack.name,
        "aws:cloudformation:stack-id": stack.stack_id,
        "aws:cloudformation:logical-id": logical_id,
    })
    ec2_backends[stack.account_id][stack.region_name].create_tags([model.physical_resource_id], tags)


# moto models whose update_from_cloudformation_json keeps the resource (same
# physical id) when given the name it already has. Every other type is updated
# in place by recording its new properties: moto's own update of them deletes
# and recreates (security groups, topics) or is missing (tables, databases).
_MOTO_UPDATES_IN_PLACE = {
    "AWS::Lambda::Function",
    "AWS::IAM::Policy",
    "AWS::ECS::Cluster",
    "AWS::ElasticLoadBalancingV2::Listener",
    "AWS::ElasticLoadBalancingV2::ListenerRule",
    "AWS::S3::Bucket",
    "AWS::ECR::Repository",
    "AWS::CloudWatch::Dashboard",
}


def _update_model(stack: EmulatedStack, record: Resource, properties: dict) -> Any:
    _check_handler_input(stack, record.type, properties)
    model = record.model
    if getattr(model, "_tap_stand_in", False):
        model.update(_handler_properties(stack, properties))
        return model
    updater = _UPDATERS.get(record.type)
    if updater is not None:
        updater(stack, record, _handler_properties(stack, properties))
        return model
    if record.type in _MOTO_UPDATES_IN_PLACE:
        definition = {"Type": record.type, "Properties": _handler_properties(stack, properties)}
        updated = type(model).update_from_cloudformation_json(
            original_resource=model,
            new_resource_name=_moto_name(model, record),
            cloudformation_json=definition,
            account_id=stack.account_id,
            region_name=stack.region_name,
        )
        if updated is not None:
            updated.cf_resource_type = record.type
            updated.logical_resource_id = record.logical_id
            return updated
    return model


def _update_role(stack: EmulatedStack, record: Resource, properties: dict) -> None:
    """Gap: moto's role update only sets the description; AWS also replaces the
    trust policy, the inline policies and the attached managed policies."""
    from moto.iam.models import iam_backends

    backend = iam_backends[stack.account_id][PARTITION]
    role = record.model
    backend.update_role(role.name, properties.get("Description", ""),
                        properties.get("MaxSessionDuration", 3600))
    backend.update_assume_role_policy(role.name, json.dumps(properties["AssumeRolePolicyDocument"]))
    # Only what the template declared is managed: AWS::IAM::Policy resources
    # attach their own policies to the same role.
    before = record.properties
    wanted = {policy["PolicyName"]: json.dumps(policy["PolicyDocument"])
              for policy in properties.get("Policies", [])}
    for policy in before.get("Policies", []):
        if policy["PolicyName"] not in wanted:
            backend.delete_role_policy(role.name, policy["PolicyName"])
    for name, document in wanted.items():
        backend.put_role_policy(role.name, name, document)
    arns = set(properties.get("ManagedPolicyArns", []))
    for arn in set(before.get("ManagedPolicyArns", [])) - arns:
        backend.detach_role_policy(arn, role.name)
    for arn in arns - set(role.managed_policies):
        backend.attach_role_policy(arn, role.name)


def _update_ecs_service(stack: EmulatedStack, record: Resource, properties: dict) -> None:
    """Gap: moto's service update is not used (it recreates the service when the cluster
    is named differently); AWS points the service at its new task definition and
    desired count in place."""
    service = record.model
    _ecs(stack).update_service({
        "cluster": service.cluster_name, "service": service.name,
        "task_definition": properties.get("TaskDefinition"), "desired_count": properties.get("DesiredCount"),
    })


_UPDATERS: dict[str, Callable[[EmulatedStack, Resource, dict], None]] = {
    "AWS::IAM::Role": _update_role,
    "AWS::ECS::Service": _update_ecs_service,
}


def _moto_name(model: Any, record: Resource) -> str:
    for attribute in ("name", "function_name", "role_name", "cluster_name", "policy_name"):
        value = getattr(model, attribute, None)
        if isinstance(value, str) and value:
            return value
    return record.physical_id


def _delete_model(stack: EmulatedStack, record: Resource, policy: str = "Delete") -> None:
    model = record.model
    deleter = _DELETERS.get(record.type)
    if deleter is not None:
        deleter(stack, record, policy)
        return
    try:
        model.delete(stack.account_id, stack.region_name)
        return
    except (AttributeError, TypeError, NotImplementedError):
        pass
    model_class = type(model)
    if not hasattr(model_class.delete_from_cloudformation_json, "__isabstractmethod__"):
        model_class.delete_from_cloudformation_json(
            record.physical_id, {"Type": record.type, "Properties": record.properties},
            stack.account_id, stack.region_name,
        )


def _delete_db_instance(stack: EmulatedStack, record: Resource, policy: str) -> None:
    from moto.rds.models import rds_backends

    # DeletionPolicy Snapshot: RDS takes a final snapshot, then deletes.
    snapshot = f"{record.physical_id}-final-{_suffix(8).lower()}" if policy == "Snapshot" else None
    rds_backends[stack.account_id][stack.region_name].delete_db_instance(
        record.physical_id, final_db_snapshot_identifier=snapshot, skip_final_snapshot=snapshot is None)


def _ecs(stack: EmulatedStack) -> Any:
    from moto.ecs.models import ecs_backends

    return ecs_backends[stack.account_id][stack.region_name]


def _elbv2(stack: EmulatedStack) -> Any:
    from moto.elbv2.models import elbv2_backends

    return elbv2_backends[stack.account_id][stack.region_name]


def _ec2(stack: EmulatedStack) -> Any:
    from moto.ec2.models import ec2_backends

    return ec2_backends[stack.account_id][stack.region_name]


def _apigateway(stack: EmulatedStack) -> Any:
    from moto.apigateway.models import apigateway_backends

    return apigateway_backends[stack.account_id][stack.region_name]


def _delete_ecs_service(stack: EmulatedStack, record: Resource, policy: str) -> None:
    model = record.model
    _ecs(stack).delete_service(model.cluster_arn, model.name, force=True)


def _delete_ec2(action: Callable[[Any, Resource], Any]) -> Callable[[EmulatedStack, Resource, str], None]:
    """EC2 clean-up is best effort: moto keeps network interfaces AWS would have
    released, and its dependency checks would fail deletes AWS lets through."""

    def delete(stack: EmulatedStack, record: Resource, policy: str) -> None:
        try:
            action(_ec2(stack), record)
        except Exception:
            log.debug("deleting %s left it in moto", record.logical_id, exc_info=True)

    return delete


def _detach_gateway(ec2: Any, record: Resource) -> None:
    gateway = record.properties.get("InternetGatewayId")
    if gateway:
        ec2.detach_internet_gateway(gateway, record.properties["VpcId"])


def _delete_route(ec2: Any, record: Resource) -> None:
    table, _, cidr = record.physical_id.partition("~")
    ec2.delete_route(table, cidr)


def _delete_gateway(ec2: Any, record: Resource) -> None:
    ec2.delete_internet_gateway(record.physical_id)


def _disassociate_route_table(ec2: Any, record: Resource) -> None:
    table = ec2.get_route_table(record.properties["RouteTableId"])
    for association, subnet in list(table._associations.items()):
        if subnet == record.properties.get("SubnetId"):
            ec2.disassociate_route_table(association)


# Gap: moto's models for these types cannot be deleted, so a removed resource
# (or one in a deleted nested stack) lingered: a listener rule kept its
# priority and the next update failed with PriorityInUse.
_DELETERS: dict[str, Callable[[EmulatedStack, Resource, str], None]] = {
    "AWS::RDS::DBInstance": _delete_db_instance,
    "AWS::ECS::Service": _delete_ecs_service,
    "AWS::ECS::TaskDefinition": lambda stack, record, policy: _ecs(stack).deregister_task_definition(
        record.physical_id),
    "AWS::ECS::Cluster": lambda stack, record, policy: _ecs(stack).delete_cluster(record.physical_id),
    "AWS::ElasticLoadBalancingV2::ListenerRule": lambda stack, record, policy: _elbv2(stack).delete_rule(
        record.physical_id),
    "AWS::ElasticLoadBalancingV2::Listener": lambda stack, record, policy: _elbv2(stack).delete_listener(
        record.physical_id),
    "AWS::ElasticLoadBalancingV2::TargetGroup": lambda stack, record, policy: _elbv2(
        stack).delete_target_group(record.physical_id),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": lambda stack, record, policy: _elbv2(
        stack).delete_load_balancer(record.physical_id),
    "AWS::ApiGateway::RestApi": lambda stack, record, policy: _apigateway(stack).delete_rest_api(
        record.physical_id),
    "AWS::EC2::EIP": _delete_ec2(lambda ec2, record: ec2.release_address(address=record.physical_id)),
    "AWS::EC2::FlowLog": _delete_ec2(lambda ec2, record: ec2.delete_flow_logs([record.physical_id])),
    "AWS::EC2::NatGateway": _delete_ec2(lambda ec2, record: ec2.delete_nat_gateway(record.physical_id)),
    "AWS::EC2::VPCGatewayAttachment": _delete_ec2(_detach_gateway),
    "AWS::EC2::InternetGateway": _delete_ec2(_delete_gateway),
    "AWS::EC2::Route": _delete_ec2(_delete_route),
    "AWS::EC2::SubnetRouteTableAssociation": _delete_ec2(_disassociate_route_table),
    "AWS::EC2::RouteTable": _delete_ec2(lambda ec2, record: ec2.delete_route_table(record.physical_id)),
    "AWS::EC2::VPCEndpoint": _delete_ec2(lambda ec2, record: ec2.delete_vpc_endpoints([record.physical_id])),
    "AWS::EC2::Subnet": _delete_ec2(lambda ec2, record: ec2.delete_subnet(record.physical_id)),
    "AWS::EC2::SecurityGroup": _delete_ec2(lambda ec2, record: ec2.delete_security_group(
        group_id=record.physical_id)),
    "AWS::EC2::VPC": _delete_ec2(lambda ec2, record: ec2.delete_vpc(record.physical_id)),
}


def _physical_id(model: Any) -> str:
    value = getattr(model, "physical_resource_id", None)
    if not value:
        # moto's RDS groups have no physical id; AWS's Ref is their name
        value = getattr(model, "name", None)
    return str(value) if isinstance(value, (str, int)) and value != "" else ""


# Gap: attributes moto's models get wrong or lack (read through these first).
def _load_balancer_full_name(model: Any) -> str:
    return model.arn.split(":loadbalancer/", 1)[1]


def _target_group_full_name(model: Any) -> str:
    return model.arn.split(":", 5)[5]


def _rds_master_user_secret(model: Any) -> str:
    if not getattr(model, "manage_master_user_password", False):
        raise ResourceError("MasterUserSecret is only set when ManageMasterUserPassword is true")
    return model.master_user_secret.secret_arn


def _lambda_version_number(model: Any) -> str:
    return str(model.version)


def _rds_endpoint_address(model: Any) -> str:
    return model.address


def _rds_endpoint_port(model: Any) -> str:
    return str(model.port)


_ATTRIBUTE_FIXES: dict[tuple[str, str], Callable[[Any], Any]] = {
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", "LoadBalancerFullName"): _load_balancer_full_name,
    ("AWS::ElasticLoadBalancingV2::TargetGroup", "TargetGroupFullName"): _target_group_full_name,
    ("AWS::RDS::DBInstance", "MasterUserSecret.SecretArn"): _rds_master_user_secret,
    ("AWS::RDS::DBInstance", "Endpoint.Address"): _rds_endpoint_address,
    ("AWS::RDS::DBInstance", "Endpoint.Port"): _rds_endpoint_port,
    ("AWS::Lambda::Version", "Version"): _lambda_version_number,
}


def reference(record: Resource) -> str:
    return record.physical_id


def attribute(record: Resource, name: str) -> Any:
    if isinstance(record.model, EmulatedStack):
        return record.model.output_value(name)
    fix = _ATTRIBUTE_FIXES.get((record.type, name))
    if fix is not None:
        return fix(record.model)
    try:
        value = record.model.get_cfn_attribute(name)
    except Exception as error:  # moto raises several kinds for an unknown attribute
        raise ResourceError(
            f"Template error: resource {record.logical_id} does not support attribute type "
            f"{name} in Fn::GetAtt") from error
    if value is None:
        raise ResourceError(f"the emulator has no value for {record.logical_id}.{name}")
    return value


# --- stacks and change sets ---------------------------------------------------------


class EmulatedStack:
    """A stack as CloudFormation keeps it; replaces moto's Stack for change sets."""

    def __init__(self, backend: CloudFormationBackend, name: str, *,
                 parent: EmulatedStack | None = None, logical_id: str | None = None):
        self.account_id = backend.account_id
        self.region_name = backend.region_name
        self.name = name
        self.stack_id = (f"arn:{PARTITION}:cloudformation:{self.region_name}:{self.account_id}:"
                         f"stack/{name}/{uuid.UUID(int=mock_random.getrandbits(128))}")
        self.parent = parent
        self.logical_id = logical_id  # its logical id in the parent template
        self.template = ""  # the body as submitted
        self.template_dict: dict = {}
        self.inputs: dict[str, str] = {}  # parameter values as passed in
        self.parameter_values: dict[str, Any] = {}  # every parameter, defaults applied
        self.no_echo: set[str] = set()
        self.resources: dict[str, Resource] = {}
        self.outputs: dict[str, tuple[Any, str | None]] = {}
        self.events: list[dict] = []
        self.status = "REVIEW_IN_PROGRESS"
        self.status_reason: str | None = None
        self.description: str | None = None
        self.tags: dict[str, str] = {}
        self.capabilities: list[str] = []
        self.notification_arns: list[str] = []
        self.role_arn: str | None = None
        self.rollback_configuration: dict = {}
        self.disable_rollback = False
        self.timeout_in_minutes: int | None = None
        self.enable_termination_protection = False
        self.policy = ""
        self.change_set_id: str | None = None
        self.creation_time = utcnow()
        self.last_updated_time: datetime | None = None
        self.deletion_time: datetime | None = None
        self.exports: list = []  # moto's tagging and export code reads these

    # --- the tree
    @property
    def root(self) -> EmulatedStack:
        return self if self.parent is None else self.parent.root

    @property
    def termination_protected(self) -> bool:
        return self.root.enable_termination_protection

    def output_value(self, attribute: str) -> Any:
        """Gap: Fn::GetAtt Child.Outputs.X was a 500 in moto, and outputs were never set."""
        if not attribute.startswith("Outputs."):
            raise ResourceError(
                f"Template error: resource {self.logical_id} does not support attribute type "
                f"{attribute} in Fn::GetAtt")
        key = attribute.split(".", 1)[1]
        if key not in self.outputs:
            raise ResourceError(f"Output '{key}' not found in stack '{self.stack_id}'")
        return self.outputs[key][0]


@dataclass
class ChangeSet:
    """A change set of one stack; a nested one is made for each nested stack it adds or modifies."""

    change_set_id: str
    name: str
    stack: EmulatedStack
    change_set_type: str
    template: str
    template_dict: dict
    inputs: dict[str, Any]
    description: str | None = None
    include_nested: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    capabilities: list[str] = field(default_factory=list)
    notification_arns: list[str] = field(default_factory=list)
    rollback_configuration: dict = field(default_factory=dict)
    role_arn: str | None = None
    import_existing: bool = False  # ImportExistingResources: adopt retained named resources
    parent: ChangeSet | None = None
    status: str = "CREATE_PENDING"
    execution_status: str = "UNAVAILABLE"
    status_reason: str | None = None
    changes: list[dict] = field(default_factory=list)
    nested: dict[str, ChangeSet] = field(default_factory=dict)  # by logical id
    creation_time: datetime = field(default_factory=utcnow)

    @property
    def root(self) -> ChangeSet:
        return self if self.parent is None else self.parent.root

    def tree(self) -> Iterable[ChangeSet]:
        yield self
        for child in self.nested.values():
            yield from child.tree()


def _state(backend: CloudFormationBackend) -> dict[str, ChangeSet]:
    """The change sets of one account and region (kept on moto's backend so a reset clears them)."""
    if not hasattr(backend, "_tap_change_sets"):
        backend._tap_change_sets = {}
    return backend._tap_change_sets


def _new_change_set_id(backend: CloudFormationBackend, name: str) -> str:
    return (f"arn:{PARTITION}:cloudformation:{backend.region_name}:{backend.account_id}:"
            f"changeSet/{name}/{uuid.UUID(int=mock_random.getrandbits(128))}")


def _parse_template(body: str) -> dict:
    try:
        template = cfn_models.Stack.parse_template(body)
    except Exception:
        raise ValidationError(message="Template format error: JSON not well-formed.") from None
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise ValidationError(message="Template format error: At least one Resources member must be defined.")
    return template


def _availability_zones(account_id: str, region: str) -> list[str]:
    from moto.ec2.models import ec2_backends

    zones = ec2_backends[account_id][region].describe_availability_zones()
    return sorted(zone.name for zone in zones)


def _pseudo_parameters(stack: EmulatedStack) -> dict[str, Any]:
    return {
        "AWS::AccountId": stack.account_id,
        "AWS::Region": stack.region_name,
        "AWS::StackId": stack.stack_id,
        "AWS::StackName": stack.name,
        "AWS::Partition": PARTITION,
        "AWS::URLSuffix": URL_SUFFIX,
        "AWS::NoValue": NO_VALUE,
        "AWS::NotificationARNs": list(stack.notification_arns),
    }


def parameter_values(template: dict, inputs: dict[str, Any], stack: EmulatedStack) -> dict[str, Any]:
    """Every declared parameter's value: the input, else the default, checked like AWS does."""
    declared = template.get("Parameters", {}) or {}
    unknown_names = sorted(set(inputs) - set(declared))
    if unknown_names:
        raise ValidationError(
            message=f"Parameters: [{', '.join(unknown_names)}] do not exist in the template")
    missing = sorted(name for name, spec in declared.items() if name not in inputs and "Default" not in spec)
    if missing:
        raise ValidationError(message=f"Parameters: [{', '.join(missing)}] must have values")
    values = {}
    for name, spec in declared.items():
        value = inputs.get(name, spec.get("Default"))
        if not isinstance(value, Unknown):
            value = _typed_parameter(name, spec, value, stack)
        values[name] = value
    return values


def _typed_parameter(name: str, spec: dict, value: Any, stack: EmulatedStack) -> Any:
    kind = spec.get("Type", "String")
    if isinstance(value, list):
        value = ",".join(str(item) for item in value)
    value = _text(value) if not isinstance(value, str) else value
    allowed = spec.get("AllowedValues")
    if allowed is not None and value not in [str(each) for each in allowed]:
        raise ValidationError(message=f"Parameter '{name}' must be one of AllowedValues")
    pattern = spec.get("AllowedPattern")
    if pattern is not None and not kind.startswith("List") and not re.fullmatch(pattern, value):
        detail = (spec.get("ConstraintDescription")
                  or f"Malformed input-Parameter {name} must match pattern {pattern}")
        raise ValidationError(message=f"Parameter {name} failed to satisfy constraint: {detail}")
    if kind.startswith("AWS::SSM::Parameter::Value"):
        from moto.ssm.models import ssm_backends

        parameter = ssm_backends[stack.account_id][stack.region_name].get_parameter(value)
        if parameter is None:
            raise ValidationError(message=f"Parameters: [ssm:{value}] cannot be found.")
        value = parameter.value
    if kind == "CommaDelimitedList" or kind.startswith("List<"):
        return [item.strip() for item in value.split(",")] if value else []
    if kind == "Number":
        try:
            float(value)
        except ValueError:
            raise ValidationError(message=f"Parameter '{name}' must be a number.") from None
    return value


def _display(value: Any) -> str:
    if isinstance(value, Unknown):
        return repr(value)
    if isinstance(value, list):
        return ",".join(_display(item) for item in value)
    return _text(value)


def _capabilities_needed(templates: Iterable[dict], nested: bool) -> list[str]:
    needed: list[str] = []
    for template in templates:
        for resource in template.get("Resources", {}).values():
            kind = resource.get("Type", "")
            if kind.startswith("AWS::IAM::"):
                named = IAM_NAME_PROPERTIES.get(kind) in resource.get("Properties", {})
                capability = "CAPABILITY_NAMED_IAM" if named else "CAPABILITY_IAM"
                if capability not in needed:
                    needed.append(capability)
    if nested:
        needed.append("CAPABILITY_AUTO_EXPAND")
    return needed


def _check_capabilities(needed: list[str], given: list[str]) -> None:
    satisfied = set(given)
    if "CAPABILITY_NAMED_IAM" in satisfied:
        satisfied.add("CAPABILITY_IAM")
    missing = [capability for capability in needed if capability not in satisfied]
    if missing:
        raise CloudFormationError(
            "InsufficientCapabilitiesException", f"Requires capabilities : [{', '.join(missing)}]")


_S3_HOST = re.compile(r"^(?P<bucket>.+?)\.s3[.-](?:(?:dualstack\.)?[a-z0-9-]+\.)?amazonaws\.com(?:\.cn)?$|"
                      r"^(?P<bucket2>.+?)\.s3\.amazonaws\.com$")


def read_template_url(url: str, account_id: str) -> str:
    """The template at an S3 URL, as CloudFormation fetches it."""
    from urllib.parse import urlparse

    from moto.s3.models import s3_backends

    parsed = urlparse(url)
    host = parsed.hostname or ""
    path = parsed.path.lstrip("/")
    match = _S3_HOST.match(host)
    if match:
        bucket, key = match.group("bucket") or match.group("bucket2"), path
    elif host.startswith("s3.") or host.startswith("s3-") or host in ("127.0.0.1", "localhost"):
        bucket, _, key = path.partition("/")
    else:
        raise ValidationError(message="TemplateURL must be a supported URL.")
    owner = s3_backends.bucket_accounts.get(bucket, (PARTITION, account_id))[1]
    if owner != account_id and not _readable_by(s3_backends[owner][PARTITION], bucket, account_id):
        raise ValidationError(message=f"S3 error: Access Denied (TemplateURL {url})")
    backend = s3_backends[account_id][PARTITION]
    try:
        obj = backend.get_object(bucket, key)
    except Exception:
        obj = None
    if obj is None:
        raise ValidationError(message=f"S3 error: The specified key does not exist. (TemplateURL {url})")
    return obj.value.decode("utf-8")


def _readable_by(backend: Any, bucket: str, reader: str) -> bool:
    """Gap: moto lets any account read any bucket. Here another account reads only what
    the bucket policy allows it: by its account in Principal, or by aws:PrincipalOrgID."""
    from tap.deploy.emulated_stacksets import organization_of

    policy = backend.get_bucket(bucket).policy
    statements = json.loads(policy).get("Statement", []) if policy else []
    organization = organization_of(reader)
    for statement in statements if isinstance(statements, list) else [statements]:
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if statement.get("Effect") != "Allow" or not any(fnmatch.fnmatch("s3:GetObject", a) for a in actions):
            continue
        principal = statement.get("Principal")
        aws = principal.get("AWS", []) if isinstance(principal, dict) else principal
        aws = [aws] if isinstance(aws, str) else aws or []
        org_ids = (statement.get("Condition") or {}).get("StringEquals", {}).get("aws:PrincipalOrgID")
        org_ids = [org_ids] if isinstance(org_ids, str) else org_ids or []
        if org_ids:
            if organization is not None and organization[1].id in org_ids and "*" in aws:
                return True
        elif any(reader in each for each in aws):
            return True
    return False


# --- planning: what a change set shows -----------------------------------------------

UNCHANGED, MODIFIED, REPLACED, ADDED = "unchanged", "modified", "replaced", "added"


class Plan:
    """The changes of one stack: computed without touching any resource."""

    def __init__(self, backend: CloudFormationBackend, change_set: ChangeSet):
        self.backend = backend
        self.change_set = change_set
        self.stack = change_set.stack
        self.template = change_set.template_dict
        self.states: dict[str, str] = {}
        values = parameter_values(self.template, change_set.inputs, self.stack)
        # Inside a nested stack, an unknown input is reported as its parameter.
        for name, value in values.items():
            if isinstance(value, Unknown):
                values[name] = Unknown(frozenset({("ParameterReference", name)}))
        self.scope = Scope(
            self.template,
            values,
            _pseudo_parameters(self.stack),
            self._ref,
            self._getatt,
            _availability_zones(self.stack.account_id, self.stack.region_name),
        )

    # what the template sees of a resource while its change is only planned
    def _ref(self, logical_id: str) -> Any:
        state = self.states.get(logical_id)
        if state in (UNCHANGED, MODIFIED):
            return reference(self.stack.resources[logical_id])
        return Unknown(frozenset({("ResourceReference", logical_id)}))

    def _getatt(self, logical_id: str, name: str) -> Any:
        state = self.states.get(logical_id)
        if state == UNCHANGED:
            return attribute(self.stack.resources[logical_id], name)
        # AWS treats every attribute of a changed resource as unknown until applied
        # (so a modified nested stack's outputs are unknown to its siblings).
        return Unknown(frozenset({("ResourceAttribute", f"{logical_id}.{name}")}))

    def run(self) -> None:
        resources = self.template["Resources"]
        changes = []
        for logical_id in creation_order(resources):
            definition = resources[logical_id]
            if self.scope.includes(definition) is False:
                continue
            change = self._plan_resource(logical_id, definition)
            if change is not None:
                changes.append(change)
        for logical_id, record in self.stack.resources.items():
            if logical_id not in self.states and record.status != "DELETE_COMPLETE":
                changes.append(_removal(record))
        self.change_set.changes = sorted(changes, key=lambda change: change["LogicalResourceId"])

    def _plan_resource(self, logical_id: str, definition: dict) -> dict | None:
        kind = definition["Type"]
        properties = resolve(definition.get("Properties", {}), self.scope)
        existing = self.stack.resources.get(logical_id)
        if existing is None or existing.status == "DELETE_COMPLETE" or existing.type != kind:
            self.states[logical_id] = ADDED
            found = (importable(self.stack, definition) if existing is None and self.change_set.import_existing
                     else None)
            if found is not None:
                return {"Action": "Import", "LogicalResourceId": logical_id, "PhysicalResourceId": found,
                        "ResourceType": kind, "Scope": [], "Details": []}
            change = {"Action": "Add", "LogicalResourceId": logical_id, "ResourceType": kind,
                      "Scope": [], "Details": []}
            if kind == "AWS::CloudFormation::Stack":
                self._plan_nested(logical_id, properties, None, change)
            if existing is not None and existing.status != "DELETE_COMPLETE":
                change["Replacement"] = "True"
            return change
        if kind == "AWS::CloudFormation::Stack":
            return self._plan_nested_update(logical_id, existing, definition, properties)
        details = self._details(existing, definition, properties)
        if not details:
            self.states[logical_id] = UNCHANGED
            return None
        verdict = replacement(kind, existing.properties, properties)
        self.states[logical_id] = MODIFIED if verdict == "False" else REPLACED
        change = {"Action": "Modify", "LogicalResourceId": logical_id,
                  "PhysicalResourceId": existing.physical_id, "ResourceType": kind,
                  "Replacement": verdict, "Scope": sorted({d["Target"]["Attribute"] for d in details}),
                  "Details": details}
        if verdict != "False":
            change["PolicyAction"] = "ReplaceAnd" + _policy(definition, "UpdateReplacePolicy")
        return change

    def _details(self, existing: Resource, definition: dict, properties: dict) -> list[dict]:
        """One detail per changed top-level property and per thing that changed it."""
        old_definition = existing.definition.get("Properties", {})
        new_definition = definition.get("Properties", {})
        details = []
        for name in sorted(set(existing.properties) | set(properties)):
            before, after = existing.properties.get(name), properties.get(name)
            if before != after or unknowns(after):
                details += self._property_details(existing.type, name, after, old_definition.get(name),
                                                  new_definition.get(name))
        return details

    def _property_details(self, kind: str, name: str, after: Any, old_definition: Any,
                          new_definition: Any) -> list[dict]:
        target = ({"Attribute": "Tags", "RequiresRecreation": "Never"} if name == "Tags" else
                  {"Attribute": "Properties", "Name": name,
                   "RequiresRecreation": requires_recreation(kind, name)})
        edited = {"Target": target, "Evaluation": "Static", "ChangeSource": "DirectModification"}
        details = [edited] if old_definition != new_definition else []
        details += [{"Target": target, "Evaluation": "Static", "ChangeSource": "ParameterReference",
                     "CausingEntity": parameter} for parameter in self._changed_parameters(new_definition)]
        details += [{"Target": target, "Evaluation": "Dynamic", "ChangeSource": source,
                     "CausingEntity": entity} for source, entity in sorted(unknowns(after))]
        # A value can change with its definition intact (a resource's attribute moved).
        return details or [edited]

    def _changed_parameters(self, node: Any) -> list[str]:
        declared = self.template.get("Parameters", {}) or {}
        referenced = sorted(dependencies(node, declared) if node is not None else [])
        previous = self.stack.parameter_values
        return [name for name in referenced
                if not isinstance(self.scope.parameters.get(name), Unknown)
                and name in previous and previous[name] != self.scope.parameters.get(name)]

    def _plan_nested_update(self, logical_id: str, existing: Resource, definition: dict,
                            properties: dict) -> dict | None:
        details = self._details(existing, definition, properties)
        child: EmulatedStack = existing.model
        template_url = properties["TemplateURL"]  # required of a nested stack
        same_template = (not unknowns(template_url)
                         and read_template_url(template_url, self.stack.account_id) == child.template)
        if not details and same_template:
            self.states[logical_id] = UNCHANGED
            return None
        self.states[logical_id] = MODIFIED
        if not details:
            # the template at the same URL changed under it
            details = [{"Target": {"Attribute": "Properties", "Name": "TemplateURL",
                                   "RequiresRecreation": "Never"},
                        "Evaluation": "Static", "ChangeSource": "Automatic"}]
        change = {"Action": "Modify", "LogicalResourceId": logical_id,
                  "PhysicalResourceId": existing.physical_id, "ResourceType": existing.type,
                  "Replacement": "False", "Scope": sorted({d["Target"]["Attribute"] for d in details}),
                  "Details": details}
        self._plan_nested(logical_id, properties, child, change)
        return change

    def _plan_nested(self, logical_id: str, properties: dict, child: EmulatedStack | None,
                     change: dict) -> None:
        """Gap: moto makes no nested change sets. One is made for each nested stack
        added or modified, recursively, when the root asked for them."""
        if not self.change_set.include_nested:
            return
        template_url = properties["TemplateURL"]  # required of a nested stack
        if unknowns(template_url):
            raise ValidationError(
                message=f"TemplateURL of {logical_id} must be known when the change set is created")
        body = read_template_url(template_url, self.stack.account_id)
        template = _parse_template(body)
        if child is None:
            child = EmulatedStack(self.backend, _nested_stack_name(self.stack, logical_id),
                                  parent=self.stack, logical_id=logical_id)
            child.tags = _nested_tags(self.stack, properties)
            _add_event(child, child.name, "AWS::CloudFormation::Stack", "REVIEW_IN_PROGRESS",
                       child.stack_id, "User Initiated")
            self.backend.stacks[child.stack_id] = child
        parent_set = self.change_set
        name = _nested_change_set_name(parent_set, logical_id)
        nested = ChangeSet(
            change_set_id=_new_change_set_id(self.backend, name),
            name=name,
            stack=child,
            change_set_type="CREATE" if child.status == "REVIEW_IN_PROGRESS" else "UPDATE",
            template=body,
            template_dict=template,
            inputs=dict(properties.get("Parameters", {})),
            description=parent_set.description,
            include_nested=True,
            tags=dict(child.tags),
            capabilities=list(parent_set.capabilities),
            notification_arns=list(parent_set.notification_arns),
            rollback_configuration=dict(parent_set.rollback_configuration),
            role_arn=parent_set.role_arn,
            import_existing=parent_set.import_existing,
            parent=parent_set,
        )
        parent_set.nested[logical_id] = nested
        _state(self.backend)[nested.change_set_id] = nested
        Plan(self.backend, nested).run()
        change["ChangeSetId"] = nested.change_set_id


def _policy(definition: dict, key: str) -> str:
    return definition.get(key, "Delete")


def _removal(record: Resource) -> dict:
    return {"Action": "Remove", "LogicalResourceId": record.logical_id,
            "PhysicalResourceId": record.physical_id, "ResourceType": record.type,
            "PolicyAction": _policy(record.definition, "DeletionPolicy"),
            "Scope": [], "Details": []}


def _nested_stack_name(parent: EmulatedStack, logical_id: str) -> str:
    """Gap: moto names a nested stack by its logical id, so two systems in one account collide."""
    return f"{parent.name}-{logical_id}-{_suffix()}"[-128:].lstrip("-")


def _nested_change_set_name(parent: ChangeSet, logical_id: str) -> str:
    return f"{parent.root.name}-{logical_id}-{_suffix()}"[:128]


def _nested_tags(parent: EmulatedStack, properties: dict) -> dict[str, str]:
    tags = dict(parent.tags)
    for tag in properties.get("Tags", []) or []:
        if not unknowns(tag):
            tags[tag["Key"]] = _text(tag["Value"])
    return tags


# --- events --------------------------------------------------------------------------


def _add_event(stack: EmulatedStack, logical_id: str, resource_type: str, status: str,
               physical_id: str = "", reason: str | None = None,
               properties: dict | None = None) -> None:
    """Record one state change; it also sets the status of the stack or resource.

    Gap: moto records a few stack-level events only, none per resource."""
    now = utcnow()
    is_stack = logical_id == stack.name and resource_type == "AWS::CloudFormation::Stack"
    event = {
        "StackId": stack.stack_id,
        "EventId": (str(uuid.UUID(int=mock_random.getrandbits(128))) if is_stack else
                    f"{logical_id}-{status}-{now.strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3]}Z"),
        "StackName": stack.name,
        "LogicalResourceId": logical_id,
        "PhysicalResourceId": physical_id,
        "ResourceType": resource_type,
        "Timestamp": now,
        "ResourceStatus": status,
    }
    if reason:
        event["ResourceStatusReason"] = reason
    if properties is not None:
        event["ResourceProperties"] = json.dumps(properties, default=str)
    stack.events.append(event)
    if is_stack:
        stack.status = status
        stack.status_reason = reason
    elif logical_id in stack.resources:
        record = stack.resources[logical_id]
        if record.physical_id == physical_id or not physical_id or not record.physical_id:
            record.status, record.reason, record.updated = status, reason, now


def _stack_event(stack: EmulatedStack, status: str, reason: str | None = None) -> None:
    _add_event(stack, stack.name, "AWS::CloudFormation::Stack", status, stack.stack_id, reason)


# --- execution: create, update, roll back, delete -------------------------------------


class StackFailed(Exception):
    """A stack operation failed; `reason` is what the parent's event says."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _step() -> Any:
    """The lock for one step of an operation. The millisecond before it is not a
    simulated delay: a lock is not fair, and without a pause the operation would
    take it back before a waiting request got its turn."""
    time.sleep(0.001)
    return _LOCK


def policy_denial(policy: str, action: str, logical_id: str, resource_type: str) -> str | None:
    """Why the stack policy refuses `action` (Update:Modify, Update:Replace or Update:Delete)
    on a resource, or None. With a policy set, whatever no statement allows is refused."""
    if not policy:
        return None
    statements = json.loads(policy).get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else statements
    allowed = False
    for number, statement in enumerate(statements, 1):
        if not _statement_applies(statement, action, f"LogicalResourceId/{logical_id}", resource_type):
            continue
        if statement.get("Effect") == "Deny":
            return (f"Action denied by stack policy: Statement [#{number}] does not allow [{action}] "
                    f"for resource [LogicalResourceId/{logical_id}]")
        allowed = True
    if allowed:
        return None
    return (f"Action denied by stack policy: no statement allows [{action}] for resource "
            f"[LogicalResourceId/{logical_id}]")


def _statement_applies(statement: dict, action: str, resource: str, resource_type: str) -> bool:
    def matches(key: str, value: str) -> bool:
        patterns = statement[key]
        patterns = [patterns] if isinstance(patterns, str) else patterns
        return any(fnmatch.fnmatchcase(value, pattern) for pattern in patterns)

    acts = matches("Action", action) if "Action" in statement else not matches("NotAction", action)
    on = matches("Resource", resource) if "Resource" in statement else not matches("NotResource", resource)
    return acts and on and _condition_holds(statement.get("Condition", {}), resource_type)


def _condition_holds(condition: dict, resource_type: str) -> bool:
    """Stack policies condition on ResourceType only."""
    for operator, tests in condition.items():
        for key, values in tests.items():
            values = [values] if isinstance(values, str) else values
            if key != "ResourceType":
                continue
            if operator == "StringEquals" and resource_type not in values:
                return False
            if operator == "StringLike" and not any(fnmatch.fnmatchcase(resource_type, v) for v in values):
                return False
    return True


@dataclass
class _Done:
    """What one stack operation did, for its rollback or cleanup."""

    # "add", "modify" (in place), "replace", "nested" (a nested stack's update that
    # succeeded) or "restore" (a nested stack that failed and rolled itself back)
    kind: str
    logical_id: str
    before: Resource | None = None
    after: Resource | Deployment | None = None  # a Deployment for "nested"

    @property
    def made(self) -> Resource:
        """The resource an "add", "import", "modify", "replace" or "restore" left in place."""
        assert isinstance(self.after, Resource), self
        return self.after

    @property
    def previous(self) -> Resource:
        """The resource as it was before a "modify", "replace", "nested" or "restore"."""
        assert self.before is not None, self
        return self.before

    @property
    def nested(self) -> Deployment:
        """The nested stack's deployment of a "nested" entry."""
        assert isinstance(self.after, Deployment), self
        return self.after


class Deployment:
    """Creates or updates one stack and its nested stacks in place."""

    def __init__(self, backend: CloudFormationBackend, stack: EmulatedStack, template: str,
                 template_dict: dict, inputs: dict[str, Any], change_set: ChangeSet | None):
        self.backend = backend
        self.stack = stack
        self.template = template
        self.template_dict = template_dict
        self.inputs = inputs
        self.change_set = change_set
        self.creating = stack.status == "REVIEW_IN_PROGRESS"
        self.done: list[_Done] = []
        self.previous = (stack.template, stack.template_dict, stack.inputs, stack.parameter_values,
                         stack.outputs, stack.description, stack.no_echo)
        self.failed: list[tuple[str, str]] = []  # (logical id, "create" or "update")
        self.excluded: set[str] = set()  # resources whose Condition is now false

    # --- the scope during execution: every value is known
    def _scope(self, values: dict[str, Any]) -> Scope:
        return Scope(self.template_dict, values, _pseudo_parameters(self.stack),
                     lambda lid: reference(self._record(lid)),
                     lambda lid, name: attribute(self._record(lid), name),
                     _availability_zones(self.stack.account_id, self.stack.region_name))

    def _record(self, logical_id: str) -> Resource:
        record = self.stack.resources.get(logical_id)
        if record is None or record.status.startswith("DELETE"):
            raise ResourceError(f"Resource {logical_id} is not available")
        return record

    def start(self) -> None:
        """Enter *_IN_PROGRESS (the API call that starts an operation returns after this)."""
        stack = self.stack
        with _LOCK:
            stack.last_updated_time = utcnow()
            action = "CREATE" if self.creating else "UPDATE"
            _stack_event(stack, f"{action}_IN_PROGRESS", "User Initiated" if stack.parent is None else None)

    def run(self) -> None:
        """Apply every change; on failure roll back and raise StackFailed."""
        stack = self.stack
        if not stack.status.endswith("_IN_PROGRESS") or stack.status == "REVIEW_IN_PROGRESS":
            self.start()
        with _step():
            try:
                values = parameter_values(self.template_dict, self.inputs, stack)
                scope = self._scope(values)
                order = creation_order(self.template_dict["Resources"])
            except (CloudFormationError, TemplateError) as error:
                reason = getattr(error, "message", None) or str(error)
                _stack_event(stack, "ROLLBACK_COMPLETE" if self.creating else "UPDATE_ROLLBACK_COMPLETE",
                             reason)
                raise StackFailed(reason) from None
        try:
            self._check_removals_allowed()
            for logical_id in order:
                definition = self.template_dict["Resources"][logical_id]
                with _step():
                    if scope.includes(definition) is False:
                        continue
                self._apply(logical_id, definition, scope)
        except _ResourceFailed:
            self._roll_back()
            raise StackFailed(self._failure_summary()) from None
        with _step():
            self._adopt_template(values, scope)
            # A create is complete at once; an update waits for the root's cleanup phase.
            _stack_event(stack, "CREATE_COMPLETE" if self.creating else "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")

    def _check_allowed(self, record: Resource, action: str, status: str = "UPDATE_FAILED") -> None:
        """Gap: moto keeps a stack policy but never applies it; AWS fails the resource."""
        denial = policy_denial(self.stack.policy, action, record.logical_id, record.type)
        if denial:
            self.done.append(_Done("restore", record.logical_id, before=copy.copy(record), after=record))
            self._fail(record.logical_id, record.type, record.physical_id, status, denial)

    def _check_removals_allowed(self) -> None:
        if self.creating:
            return
        for logical_id, record in list(self.stack.resources.items()):
            if logical_id not in self.template_dict["Resources"] and record.status != "DELETE_COMPLETE":
                self._check_allowed(record, "Update:Delete")

    def finish(self) -> None:
        """Clean up what the update replaced or removed, then complete (children first)."""
        for entry in self.done:
            if entry.kind == "nested" and isinstance(entry.after, Deployment):
                entry.after.finish()
        stack = self.stack
        if self.creating:
            return
        for entry in reversed(self.done):
            if entry.kind == "replace":
                _delete_resource(stack, entry.previous, policy=_policy(entry.previous.definition,
                                                                     "UpdateReplacePolicy"))
        removed = [record for lid, record in stack.resources.items()
                   if lid not in self.template_dict["Resources"] or lid in self.excluded]
        for record in _deletion_order(removed, self.previous[1]):
            _delete_resource(stack, record, policy=_policy(record.definition, "DeletionPolicy"))
            with _step():
                stack.resources.pop(record.logical_id, None)
        with _step():
            _stack_event(stack, "UPDATE_COMPLETE")

    def _adopt_template(self, values: dict[str, Any], scope: Scope) -> None:
        stack = self.stack
        stack.template, stack.template_dict, stack.inputs = self.template, self.template_dict, self.inputs
        stack.parameter_values = values
        stack.no_echo = {name for name, spec in (self.template_dict.get("Parameters") or {}).items()
                         if str(spec.get("NoEcho", "false")).lower() == "true"}
        stack.description = self.template_dict.get("Description")
        self.excluded = {lid for lid, definition in self.template_dict["Resources"].items()
                         if scope.includes(definition) is False}
        stack.outputs = _evaluate_outputs(self.template_dict, scope)
        if self.change_set is not None:
            stack.change_set_id = self.change_set.change_set_id

    # --- one resource
    def _apply(self, logical_id: str, definition: dict, scope: Scope) -> None:
        stack = self.stack
        kind = definition["Type"]
        try:
            with _step():
                properties = resolve(definition.get("Properties", {}), scope)
        except Exception as error:  # a value a resource needs could not be had
            log.debug("resolving %s failed", logical_id, exc_info=True)
            self._fail(logical_id, kind, "", "CREATE_FAILED" if logical_id not in stack.resources
                       else "UPDATE_FAILED", getattr(error, "message", None) or str(error))
        existing = stack.resources.get(logical_id)
        if existing is not None and existing.status == "DELETE_COMPLETE":
            existing = None
        if kind == "AWS::CloudFormation::Stack":
            self._apply_nested(logical_id, definition, properties, existing)
        elif existing is None and self._imports(logical_id):
            self._import(logical_id, definition, properties)
        elif existing is None:
            self._create(logical_id, definition, properties)
        elif existing.properties != properties or existing.type != kind:
            self._update(existing, definition, properties)
        else:
            existing.definition = definition

    def _create(self, logical_id: str, definition: dict, properties: dict) -> None:
        stack, kind = self.stack, definition["Type"]
        with _step():
            record = Resource(logical_id, kind, "", None, properties, definition)
            stack.resources[logical_id] = record
            _add_event(stack, logical_id, kind, "CREATE_IN_PROGRESS", "", None, properties)
        with _step():
            try:
                record.model, record.physical_id = self._make(logical_id, kind, properties)
            except Exception as error:
                log.debug("creating %s failed", logical_id, exc_info=True)
                self.done.append(_Done("add", logical_id, after=record))  # the rollback deletes it
                self._fail(logical_id, kind, "", "CREATE_FAILED", _handler_message(error))
            _add_event(stack, logical_id, kind, "CREATE_IN_PROGRESS", record.physical_id,
                       "Resource creation Initiated", properties)
        with _step():
            _add_event(stack, logical_id, kind, "CREATE_COMPLETE", record.physical_id, None, properties)
            self.done.append(_Done("add", logical_id, after=record))

    def _imports(self, logical_id: str) -> bool:
        return self.change_set is not None and any(
            change["LogicalResourceId"] == logical_id and change["Action"] == "Import"
            for change in self.change_set.changes)

    def _import(self, logical_id: str, definition: dict, properties: dict) -> None:
        """Gap: moto has no ImportExistingResources. The existing resource joins the stack
        as it is (an import changes nothing in it; drift detection shows any difference)."""
        stack, kind = self.stack, definition["Type"]
        name = _custom_name(kind, properties) or ""
        with _step():
            model = _existing_model(stack, kind, name)
            record = Resource(logical_id, kind, name, model, properties, definition)
            stack.resources[logical_id] = record
            _add_event(stack, logical_id, kind, "IMPORT_IN_PROGRESS", name, "Resource import started.",
                       properties)
            if model is None:
                self._fail(logical_id, kind, name, "IMPORT_FAILED",
                           f"Resource of type '{kind}' with identifier '{name}' was not found.")
            model.cf_resource_type = kind
            model.logical_resource_id = logical_id
        with _step():
            _add_event(stack, logical_id, kind, "IMPORT_COMPLETE", name, "Resource import completed.",
                       properties)
            self.done.append(_Done("import", logical_id, after=record))

    def _make(self, logical_id: str, kind: str, properties: dict) -> tuple[Any, str]:
        if resource_model(kind) is None:
            raise ResourceError(f"Unrecognized resource types: [{kind}]")
        return _create_model(self.stack, logical_id, kind, properties)

    def _update(self, existing: Resource, definition: dict, properties: dict) -> None:
        stack, kind, logical_id = self.stack, definition["Type"], existing.logical_id
        verdict = "True" if existing.type != kind else replacement(kind, existing.properties, properties)
        self._check_allowed(existing, "Update:Replace" if verdict == "True" else "Update:Modify")
        if verdict == "True":
            self._replace(existing, definition, properties)
            return
        with _step():
            _add_event(stack, logical_id, kind, "UPDATE_IN_PROGRESS", existing.physical_id, None, properties)
        with _step():
            before = copy.copy(existing)
            try:
                model = _update_model(stack, existing, properties)
            except Exception as error:
                log.debug("updating %s failed", logical_id, exc_info=True)
                # the rollback puts its previous properties back
                self.done.append(_Done("modify", logical_id, before=before, after=existing))
                self._fail(logical_id, kind, existing.physical_id, "UPDATE_FAILED", _handler_message(error))
            existing.model, existing.properties, existing.definition = model, properties, definition
            _add_event(stack, logical_id, kind, "UPDATE_COMPLETE", existing.physical_id, None, properties)
            self.done.append(_Done("modify", logical_id, before=before, after=existing))

    def _replace(self, existing: Resource, definition: dict, properties: dict) -> None:
        stack, kind, logical_id = self.stack, definition["Type"], existing.logical_id
        name = _custom_name(kind, properties)
        with _step():
            if name is not None and name == _custom_name(existing.type, existing.properties):
                self._fail(logical_id, kind, existing.physical_id, "UPDATE_FAILED",
                           "CloudFormation cannot update a stack when a custom-named resource requires "
                           f"replacing. Rename {name} and update the stack again.")
            _add_event(stack, logical_id, kind, "UPDATE_IN_PROGRESS", existing.physical_id,
                       "Requested update requires the creation of a new physical resource; "
                       "hence creating one.", properties)
        with _step():
            try:
                model, physical_id = self._make(logical_id, kind, properties)
            except Exception as error:
                log.debug("replacing %s failed", logical_id, exc_info=True)
                self._fail(logical_id, kind, existing.physical_id, "UPDATE_FAILED", _handler_message(error))
            record = Resource(logical_id, kind, physical_id, model, properties, definition,
                              status="UPDATE_IN_PROGRESS")
            stack.resources[logical_id] = record
            _add_event(stack, logical_id, kind, "UPDATE_IN_PROGRESS", record.physical_id,
                       "Resource creation Initiated", properties)
        with _step():
            _add_event(stack, logical_id, kind, "UPDATE_COMPLETE", record.physical_id, None, properties)
            self.done.append(_Done("replace", logical_id, before=existing, after=record))

    def _apply_nested(self, logical_id: str, definition: dict, properties: dict,
                      existing: Resource | None) -> None:
        """Gap: moto deletes and recreates a nested stack on update; here it is
        updated in place, and its failure fails this resource like AWS."""
        stack = self.stack
        kind = "AWS::CloudFormation::Stack"
        try:
            with _step():
                body = read_template_url(properties["TemplateURL"], stack.account_id)
                template = _parse_template(body)
        except Exception as error:
            self._fail(logical_id, kind, existing.physical_id if existing else "",
                       "UPDATE_FAILED" if existing else "CREATE_FAILED",
                       getattr(error, "message", str(error)))
        inputs = {name: _display(value) for name, value in (properties.get("Parameters") or {}).items()}
        prepared = self.change_set.nested.get(logical_id) if self.change_set else None
        if existing is not None:
            child = existing.model
            if existing.properties == properties and child.template == body:
                return
            self._check_allowed(existing, "Update:Modify")
            action = "UPDATE"
        else:
            child = prepared.stack if prepared is not None and prepared.stack.status == "REVIEW_IN_PROGRESS" \
                else None
            with _step():
                if child is None:
                    child = EmulatedStack(self.backend, _nested_stack_name(stack, logical_id),
                                          parent=stack, logical_id=logical_id)
                    self.backend.stacks[child.stack_id] = child
            action = "CREATE"
        with _step():
            child.tags = _nested_tags(stack, properties)
            child.capabilities = list(stack.capabilities)
            child.notification_arns = list(stack.notification_arns)
            child.rollback_configuration = dict(stack.rollback_configuration)
            child.disable_rollback = stack.disable_rollback
            if existing is None:
                record = Resource(logical_id, kind, child.stack_id, child, properties, definition)
                stack.resources[logical_id] = record
                _add_event(stack, logical_id, kind, "CREATE_IN_PROGRESS", "", None, properties)
                _add_event(stack, logical_id, kind, "CREATE_IN_PROGRESS", child.stack_id,
                           "Resource creation Initiated", properties)
            else:
                record = existing
                before = copy.copy(existing)
                _add_event(stack, logical_id, kind, "UPDATE_IN_PROGRESS", child.stack_id, None, properties)
        deployment = Deployment(self.backend, child, body, template, inputs, prepared)
        try:
            deployment.run()
        except StackFailed as failure:
            if action == "CREATE":
                reason = f"Embedded stack {child.stack_id} was not successfully created: {failure.reason}"
                self.done.append(_Done("add", logical_id, after=record))
            else:
                reason = (f"Embedded stack {child.stack_id} was not successfully updated. Currently in "
                          f"{child.status} with reason: {failure.reason}")
                self.done.append(_Done("restore", logical_id, before=before, after=record))
            self._fail(logical_id, kind, child.stack_id, f"{action}_FAILED", reason)
        with _step():
            record.properties, record.definition = properties, definition
            _add_event(stack, logical_id, kind, f"{action}_COMPLETE", child.stack_id, None, properties)
            if action == "CREATE":
                self.done.append(_Done("add", logical_id, after=record))
                self.done.append(_Done("nested", logical_id, after=deployment))
            else:
                self.done.append(_Done("nested", logical_id, before=before, after=deployment))

    def _fail(self, logical_id: str, kind: str, physical_id: str, status: str, reason: str) -> None:
        with _LOCK:
            _add_event(self.stack, logical_id, kind, status, physical_id, reason)
            self.failed.append((logical_id, {"CREATE_FAILED": "create", "IMPORT_FAILED": "import"}.get(
                status, "update")))
        raise _ResourceFailed(logical_id)

    def _failure_summary(self) -> str:
        names = ", ".join(logical_id for logical_id, _ in self.failed)
        return f"The following resource(s) failed to {self.failed[-1][1]}: [{names}]. "

    # --- rolling back
    def _roll_back(self) -> None:
        stack = self.stack
        summary = self._failure_summary()
        if stack.disable_rollback:
            with _step():
                _stack_event(stack, "CREATE_FAILED" if self.creating else "UPDATE_FAILED", summary)
        elif self.creating:
            self._roll_back_create(summary)
        else:
            self._roll_back_update(summary)

    def _roll_back_create(self, summary: str) -> None:
        stack = self.stack
        with _step():
            _stack_event(stack, "ROLLBACK_IN_PROGRESS", summary + "Rollback requested by user.")
        for entry in reversed(self.done):
            if entry.kind == "add":
                _delete_resource(stack, entry.made, policy=_rollback_policy(entry.made))
            elif entry.kind == "import":  # it existed before: the rollback lets it go, unharmed
                _delete_resource(stack, entry.made, policy="Retain")
        with _step():
            _stack_event(stack, "ROLLBACK_COMPLETE")

    def _roll_back_update(self, reason: str) -> None:
        """Put every resource back as it was, then delete what the update made."""
        stack = self.stack
        with _step():
            _stack_event(stack, "UPDATE_ROLLBACK_IN_PROGRESS", reason)
        for entry in reversed(self.done):
            self._undo(entry)
        with _step():
            (stack.template, stack.template_dict, stack.inputs, stack.parameter_values,
             stack.outputs, stack.description, stack.no_echo) = self.previous
            _stack_event(stack, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
        for entry in reversed(self.done):
            if entry.kind in ("add", "replace"):
                # A replacement's new resource goes whatever its policies say; an added one
                # keeps to its DeletionPolicy, as on a create's rollback.
                policy = _rollback_policy(entry.made) if entry.kind == "add" else "Delete"
                _delete_resource(stack, entry.made, policy=policy)
            elif entry.kind == "import":
                _delete_resource(stack, entry.made, policy="Retain")
            if entry.kind in ("add", "import"):
                with _step():
                    stack.resources.pop(entry.logical_id, None)
        with _step():
            _stack_event(stack, "UPDATE_ROLLBACK_COMPLETE")

    def roll_back_completed(self) -> None:
        """Undo a nested update that succeeded, because a resource of an ancestor failed."""
        self._roll_back_update("Update rollback is in progress because a resource of the parent stack "
                               "failed.")

    def _undo(self, entry: _Done) -> None:
        stack = self.stack
        if entry.kind == "replace":
            with _step():
                stack.resources[entry.logical_id] = entry.previous
                _add_event(stack, entry.logical_id, entry.previous.type, "UPDATE_COMPLETE",
                           entry.previous.physical_id)
            return
        if entry.kind not in ("modify", "nested", "restore"):
            return
        record, before = stack.resources[entry.logical_id], entry.previous
        with _step():
            _add_event(stack, record.logical_id, record.type, "UPDATE_IN_PROGRESS", record.physical_id)
        if entry.kind == "nested":
            entry.nested.roll_back_completed()
        with _step():
            if entry.kind == "modify":
                try:
                    record.model = _update_model(stack, record, before.properties)
                except Exception:
                    log.debug("rolling back %s failed", record.logical_id, exc_info=True)
            record.properties, record.definition = before.properties, before.definition
            _add_event(stack, record.logical_id, record.type, "UPDATE_COMPLETE", record.physical_id)


class _ResourceFailed(Exception):
    pass


def _rollback_policy(record: Resource) -> str:
    """The policy a rollback deletes a resource it created with.

    Gap: the emulator deleted every resource a failed operation had created. AWS keeps
    one whose DeletionPolicy is Retain (and snapshots a Snapshot one): only
    RetainExceptOnCreate is deleted when the operation that created it rolls back
    (AWS CloudFormation Template Reference, "DeletionPolicy attribute")."""
    policy = _policy(record.definition, "DeletionPolicy")
    return "Delete" if policy == "RetainExceptOnCreate" or record.model is None else policy


def _evaluate_outputs(template: dict, scope: Scope) -> dict[str, tuple[Any, str | None]]:
    outputs = {}
    for key, output in (template.get("Outputs") or {}).items():
        if "Condition" in output and scope.condition(output["Condition"]) is False:
            continue
        try:
            value = resolve(output.get("Value"), scope)
        except (ResourceError, TemplateError):
            continue
        outputs[key] = (value, output.get("Description"))
    return outputs


def _deletion_order(records: list[Resource], template: dict) -> list[Resource]:
    """Dependents before what they depend on (reverse creation order of `template`)."""
    resources = (template or {}).get("Resources", {})
    try:
        order = creation_order({lid: d for lid, d in resources.items()})
    except TemplateError:
        order = list(resources)
    rank = {lid: index for index, lid in enumerate(order)}
    return sorted(records, key=lambda record: -rank.get(record.logical_id, -1))


def _delete_resource(stack: EmulatedStack, record: Resource, policy: str = "Delete") -> bool:
    """Delete one resource with its events; a Retain (or Snapshot) policy keeps it."""
    if record.status == "DELETE_COMPLETE" or record.status == "DELETE_SKIPPED":
        return True
    if policy in ("Retain", "RetainExceptOnCreate"):
        with _step():
            _add_event(stack, record.logical_id, record.type, "DELETE_SKIPPED", record.physical_id)
        return True
    if isinstance(record.model, EmulatedStack):
        with _step():
            _add_event(stack, record.logical_id, record.type, "DELETE_IN_PROGRESS", record.physical_id)
        ok = delete_stack_tree(record.model)
        with _step():
            if ok:
                _add_event(stack, record.logical_id, record.type, "DELETE_COMPLETE", record.physical_id)
            else:
                _add_event(stack, record.logical_id, record.type, "DELETE_FAILED", record.physical_id,
                           f"Embedded stack {record.physical_id} was not successfully deleted: "
                           f"{record.model.status_reason}")
        return ok
    with _step():
        _add_event(stack, record.logical_id, record.type, "DELETE_IN_PROGRESS", record.physical_id)
        if record.model is None:
            _add_event(stack, record.logical_id, record.type, "DELETE_COMPLETE", record.physical_id)
            return True
        try:
            _delete_model(stack, record, policy)
        except Exception as error:
            log.debug("deleting %s failed", record.logical_id, exc_info=True)
            _add_event(stack, record.logical_id, record.type, "DELETE_FAILED", record.physical_id,
                       _handler_message(error))
            return False
        _add_event(stack, record.logical_id, record.type, "DELETE_COMPLETE", record.physical_id)
    return True


def delete_stack_tree(stack: EmulatedStack) -> bool:
    """Delete a stack's resources (nested stacks included), newest first."""
    with _step():
        if stack.status == "DELETE_COMPLETE":
            return True
        if stack.status != "DELETE_IN_PROGRESS":
            _stack_event(stack, "DELETE_IN_PROGRESS", "User Initiated" if stack.parent is None else None)
    live = [record for record in stack.resources.values()
            if record.status not in ("DELETE_COMPLETE", "DELETE_SKIPPED")]
    failed = []
    for record in _deletion_order(live, stack.template_dict):
        if not _delete_resource(stack, record, policy=_policy(record.definition, "DeletionPolicy")):
            failed.append(record.logical_id)
    with _step():
        if failed:
            _stack_event(stack, "DELETE_FAILED",
                         f"The following resource(s) failed to delete: [{', '.join(failed)}]. ")
            return False
        _stack_event(stack, "DELETE_COMPLETE")
        stack.deletion_time = utcnow()
        backend = cloudformation_backends[stack.account_id][stack.region_name]
        backend.stacks.pop(stack.stack_id, None)
        backend.deleted_stacks[stack.stack_id] = stack
    return True


def _in_background(name: str, work: Callable[[], None]) -> None:
    """Stack operations run like AWS's: the API call returns, the work goes on."""

    def guarded() -> None:
        try:
            work()
        except Exception:  # never lose a failure silently: a test would hang on it
            log.error("emulator %s failed:\n%s", name, traceback.format_exc())

    threading.Thread(target=guarded, name=f"emulator-{name}", daemon=True).start()


def _end_cleanup(stack: EmulatedStack) -> None:
    backend = cloudformation_backends[stack.account_id][stack.region_name]
    for each in list(backend.stacks.values()):
        tree = isinstance(each, EmulatedStack) and each.root is stack
        if tree and each.status.endswith("CLEANUP_IN_PROGRESS"):
            _stack_event(each, "UPDATE_COMPLETE")


def _delete_in_background(stack: EmulatedStack) -> None:
    def work() -> None:
        try:
            delete_stack_tree(stack)
        except Exception as error:  # an emulator bug must still end like AWS would
            log.error("deleting %s failed:\n%s", stack.name, traceback.format_exc())
            with _LOCK:
                _stack_event(stack, "DELETE_FAILED", f"Internal failure: {error}")

    _in_background(f"delete-{stack.name}", work)


def _discard_unused_stacks(backend: CloudFormationBackend, change_set: ChangeSet) -> None:
    """Nested stacks a change set prepared but never created go when it ends."""
    for each in change_set.tree():
        stack = each.stack
        if each.parent is not None and stack.status == "REVIEW_IN_PROGRESS":
            _stack_event(stack, "DELETE_COMPLETE")
            stack.deletion_time = utcnow()
            backend.stacks.pop(stack.stack_id, None)
            backend.deleted_stacks[stack.stack_id] = stack


def execute(backend: CloudFormationBackend, change_set: ChangeSet) -> None:
    stack = change_set.stack
    for each in change_set.tree():
        each.execution_status = "EXECUTE_IN_PROGRESS"
    deployment = Deployment(backend, stack, change_set.template, change_set.template_dict,
                            change_set.inputs, change_set)
    stack.capabilities = list(change_set.capabilities)
    stack.notification_arns = list(change_set.notification_arns)
    stack.rollback_configuration = dict(change_set.rollback_configuration)
    stack.role_arn = change_set.role_arn
    if change_set.tags:
        stack.tags = dict(change_set.tags)
    deployment.start()

    def work() -> None:
        try:
            deployment.run()
        except StackFailed:
            with _LOCK:
                for each in change_set.tree():
                    each.execution_status = "EXECUTE_FAILED"
                _discard_unused_stacks(backend, change_set)
            return
        except Exception as error:  # an emulator bug must still end like AWS would
            log.error("deploying %s failed:\n%s", stack.name, traceback.format_exc())
            with _LOCK:
                failed = "ROLLBACK_FAILED" if deployment.creating else "UPDATE_ROLLBACK_FAILED"
                _stack_event(stack, failed, f"Internal failure: {error}")
                for each in change_set.tree():
                    each.execution_status = "EXECUTE_FAILED"
            return
        try:
            deployment.finish()
        except Exception:  # a clean-up that fails leaves the update done, as in AWS
            log.error("cleaning up after %s failed:\n%s", stack.name, traceback.format_exc())
            with _LOCK:
                _end_cleanup(stack)
        with _LOCK:
            for each in change_set.tree():
                each.execution_status = "EXECUTE_COMPLETE"
            for other in _state(backend).values():
                if other.stack is stack and other.execution_status == "AVAILABLE":
                    other.execution_status = "OBSOLETE"

    _in_background(f"execute-{stack.name}", work)


# --- the CloudFormation API ---------------------------------------------------------


def _backend(response: CloudFormationResponse) -> CloudFormationBackend:
    return cloudformation_backends[response.current_account][response.region]


def _find_stack(backend: CloudFormationBackend, name_or_id: str, *, deleted: bool = True) -> Any:
    for stack in backend.stacks.values():
        if name_or_id in (stack.name, stack.stack_id):
            return stack
    if deleted and name_or_id in backend.deleted_stacks:
        return backend.deleted_stacks[name_or_id]
    raise ValidationError(name_or_id)


def _find_change_set(backend: CloudFormationBackend, name: str, stack_name: str | None) -> ChangeSet:
    change_sets = _state(backend)
    if name in change_sets:
        return change_sets[name]
    for change_set in change_sets.values():
        if change_set.name == name and stack_name in (change_set.stack.name, change_set.stack.stack_id):
            return change_set
    raise CloudFormationError("ChangeSetNotFound", f"ChangeSet [{name}] does not exist")


def _check_not_busy(stack: Any) -> None:
    if stack.status.endswith("_IN_PROGRESS") and stack.status != "REVIEW_IN_PROGRESS":
        raise ValidationError(
            message=f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated.")


_NOT_UPDATABLE = ("REVIEW_IN_PROGRESS", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED",
                  "DELETE_FAILED", "DELETE_COMPLETE")


def create_change_set(self: CloudFormationResponse) -> ActionResult:
    """Gap: moto's change sets carry no Replacement, no details and no nested change sets.
    Bad input is refused at once, like AWS; the changes are worked out in the background."""
    backend = _backend(self)
    name, kind = self._get_param("ChangeSetName"), self._get_param("ChangeSetType", "UPDATE")
    cfn_models.validate_create_change_set(name)
    stack = _stack_for_change_set(backend, self._get_param("StackName"), kind)
    if stack is not None and any(cs.name == name and cs.stack is stack for cs in _state(backend).values()):
        raise CloudFormationError("AlreadyExistsException", f"ChangeSet [{name}] already exists")
    body = _submitted_template(self, stack)
    template = _parse_template(body)
    inputs = _submitted_parameters(self, stack)
    include_nested = self._get_bool_param("IncludeNestedStacks", False)
    capabilities = self._get_param("Capabilities", []) or []
    _check_capabilities(_capabilities_needed([template], include_nested and _nests(template)), capabilities)
    created = stack is None
    stack = stack or EmulatedStack(backend, self._get_param("StackName"))
    parameter_values(template, inputs, stack)
    if created:
        backend.stacks[stack.stack_id] = stack
        _stack_event(stack, "REVIEW_IN_PROGRESS", "User Initiated")
    change_set = ChangeSet(
        change_set_id=_new_change_set_id(backend, name), name=name, stack=stack, change_set_type=kind,
        template=body, template_dict=template, inputs=inputs,
        description=self._get_param("Description"), include_nested=include_nested,
        tags={tag["Key"]: tag["Value"] for tag in self._get_param("Tags", []) or []} or dict(stack.tags),
        capabilities=list(capabilities),
        notification_arns=list(self._get_param("NotificationARNs", []) or []),
        rollback_configuration=self._get_param("RollbackConfiguration") or {},
        role_arn=self._get_param("RoleARN"),
        import_existing=self._get_bool_param("ImportExistingResources", False),
    )
    _state(backend)[change_set.change_set_id] = change_set
    _in_background(f"change-set-{name}", lambda: _compute_change_set(backend, change_set))
    return ActionResult({"Id": change_set.change_set_id, "StackId": stack.stack_id})


def _stack_for_change_set(backend: CloudFormationBackend, stack_name: str, kind: str) -> Any:
    """The stack a change set of `kind` applies to (None: a CREATE makes it), or why not."""
    stack = next((s for s in backend.stacks.values() if stack_name in (s.name, s.stack_id)), None)
    if kind == "CREATE":
        if stack is not None and stack.status != "REVIEW_IN_PROGRESS":
            raise CloudFormationError("AlreadyExistsException", f"Stack [{stack_name}] already exists")
        return stack
    if kind != "UPDATE":
        raise ValidationError(message=f"ChangeSetType {kind} is not supported by the emulator")
    if stack is None:
        raise ValidationError(stack_name)
    if not isinstance(stack, EmulatedStack) or stack.status in _NOT_UPDATABLE:
        raise ValidationError(message=f"Stack:{stack.stack_id} is in {stack.status} state and can not be "
                              "updated.")
    _check_not_busy(stack)
    return stack


def _nests(template: dict) -> bool:
    return any(r.get("Type") == "AWS::CloudFormation::Stack" for r in template["Resources"].values())


def _submitted_template(self: CloudFormationResponse, stack: Any) -> str:
    if self._get_bool_param("UsePreviousTemplate", False):
        if stack is None or not getattr(stack, "template", None):
            raise ValidationError(message="UsePreviousTemplate can only be used with an existing stack")
        return stack.template
    body = self._get_param("TemplateBody")
    url = self._get_param("TemplateURL")
    if body and url:
        raise ValidationError(message="Specify exactly one of TemplateBody or TemplateUrl.")
    if url:
        return read_template_url(url, self.current_account)
    if not body:
        raise ValidationError(message="Either Template URL or Template Body must be specified.")
    return body


def _submitted_parameters(self: CloudFormationResponse, stack: Any) -> dict[str, str]:
    inputs = {}
    for parameter in self._get_param("Parameters", []) or []:
        key = parameter["ParameterKey"]
        if parameter.get("UsePreviousValue") in (True, "true"):
            if stack is None or key not in getattr(stack, "parameter_values", {}):
                raise ValidationError(message=f"Invalid input for parameter key {key}. "
                                      "Cannot specify usePreviousValue as true for a parameter key not "
                                      "in the previous template")
            inputs[key] = _display(stack.parameter_values[key])
        else:
            inputs[key] = parameter.get("ParameterValue", "")
    return inputs


def _compute_change_set(backend: CloudFormationBackend, change_set: ChangeSet) -> None:
    with _LOCK:
        change_set.status = "CREATE_IN_PROGRESS"
    try:
        with _LOCK:
            Plan(backend, change_set).run()
            if change_set.include_nested:
                all_templates = [each.template_dict for each in change_set.tree()]
                _check_capabilities(_capabilities_needed(all_templates, True), change_set.capabilities)
    except Exception as error:
        if not isinstance(error, (CloudFormationError, TemplateError, ResourceError)):
            log.error("planning %s failed:\n%s", change_set.name, traceback.format_exc())
        with _LOCK:
            for each in change_set.tree():
                each.status, each.execution_status = "FAILED", "UNAVAILABLE"
            change_set.status_reason = getattr(error, "message", None) or str(error)
        return
    with _LOCK:
        stack = change_set.stack
        no_changes = (change_set.change_set_type == "UPDATE" and not change_set.changes
                      and change_set.template == stack.template and change_set.inputs == stack.inputs
                      and change_set.tags == stack.tags)
        for each in change_set.tree():
            if no_changes:
                each.status, each.execution_status, each.status_reason = "FAILED", "UNAVAILABLE", NO_CHANGES
            else:
                each.status, each.execution_status = "CREATE_COMPLETE", "AVAILABLE"


_PAGE = 100


def _page(items: list, token: str | None) -> tuple[list, str | None]:
    start = int(token) if token and token.isdigit() else 0
    end = start + _PAGE
    return items[start:end], (str(end) if end < len(items) else None)


def describe_change_set(self: CloudFormationResponse) -> ActionResult:
    backend = _backend(self)
    change_set = _find_change_set(backend, self._get_param("ChangeSetName"), self._get_param("StackName"))
    changes, token = _page([{"Type": "Resource", "ResourceChange": change} for change in change_set.changes],
                           self._get_param("NextToken"))
    result = _change_set_summary(change_set)
    result.update({
        "Parameters": _parameters_of(change_set),
        "NotificationARNs": change_set.notification_arns,
        "RollbackConfiguration": change_set.rollback_configuration,
        "Capabilities": change_set.capabilities,
        "Tags": [{"Key": k, "Value": v} for k, v in change_set.tags.items()],
        "Changes": changes,
        "NextToken": token,
    })
    return ActionResult(result)


def _change_set_summary(change_set: ChangeSet) -> dict:
    summary = {
        "ChangeSetName": change_set.name,
        "ChangeSetId": change_set.change_set_id,
        "StackId": change_set.stack.stack_id,
        "StackName": change_set.stack.name,
        "Description": change_set.description,
        "CreationTime": change_set.creation_time,
        "ExecutionStatus": change_set.execution_status,
        "Status": change_set.status,
        "StatusReason": change_set.status_reason,
        "IncludeNestedStacks": change_set.include_nested,
        "ImportExistingResources": change_set.import_existing,
    }
    if change_set.parent is not None:
        summary["ParentChangeSetId"] = change_set.parent.change_set_id
        summary["RootChangeSetId"] = change_set.root.change_set_id
    return summary


def _parameters_of(change_set: ChangeSet) -> list[dict]:
    template = change_set.template_dict
    declared = template.get("Parameters", {}) or {}
    values = []
    for name, spec in declared.items():
        if name not in change_set.inputs and "Default" not in spec:
            continue
        value = change_set.inputs.get(name, spec.get("Default"))
        if str(spec.get("NoEcho", "false")).lower() == "true":
            value = "****"
        values.append({"ParameterKey": name, "ParameterValue": _display(value)})
    return values


def execute_change_set(self: CloudFormationResponse) -> ActionResult:
    """Gap: moto applies a change set synchronously, deletes nested stacks to update them,
    never sets outputs and answers a failure with a 500."""
    backend = _backend(self)
    change_set = _find_change_set(backend, self._get_param("ChangeSetName"), self._get_param("StackName"))
    if change_set.parent is not None:
        raise ValidationError(message="Execute the root change set of a nested change set hierarchy: "
                              f"{change_set.root.change_set_id}")
    if change_set.execution_status != "AVAILABLE":
        raise CloudFormationError(
            "InvalidChangeSetStatus",
            f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current execution status "
            f"of [{change_set.execution_status}]")
    _check_not_busy(change_set.stack)
    change_set.stack.disable_rollback = self._get_bool_param("DisableRollback", False)
    execute(backend, change_set)
    return EmptyResult()


def delete_change_set(self: CloudFormationResponse) -> ActionResult:
    backend = _backend(self)
    change_set = _find_change_set(backend, self._get_param("ChangeSetName"), self._get_param("StackName"))
    if change_set.parent is not None:
        raise ValidationError(message="Cannot delete a nested change set; delete its root change set "
                              f"{change_set.root.change_set_id}")
    if change_set.execution_status == "EXECUTE_IN_PROGRESS":
        raise CloudFormationError("InvalidChangeSetStatus",
                                  f"Cannot delete ChangeSet in status {change_set.execution_status}")
    _discard_unused_stacks(backend, change_set)
    for each in list(change_set.tree()):
        _state(backend).pop(each.change_set_id, None)
    return EmptyResult()


def list_change_sets(self: CloudFormationResponse) -> ActionResult:
    backend = _backend(self)
    stack_name = self._get_param("StackName")
    summaries = [_change_set_summary(cs) for cs in _state(backend).values()
                 if stack_name in (cs.stack.name, cs.stack.stack_id)]
    page, token = _page(summaries, self._get_param("NextToken"))
    return ActionResult({"Summaries": page, "NextToken": token})


def _describe_stack(stack: Any) -> dict:
    if not isinstance(stack, EmulatedStack):
        return _describe_moto_stack(stack)
    description = {
        "StackId": stack.stack_id,
        "StackName": stack.name,
        "ChangeSetId": stack.change_set_id,
        "Description": stack.description,
        "Parameters": [{"ParameterKey": key,
                        "ParameterValue": "****" if key in stack.no_echo else _display(value)}
                       for key, value in stack.parameter_values.items()],
        "CreationTime": stack.creation_time,
        "DeletionTime": stack.deletion_time,
        "LastUpdatedTime": stack.last_updated_time,
        "RollbackConfiguration": stack.rollback_configuration,
        "StackStatus": stack.status,
        "StackStatusReason": stack.status_reason,
        "DisableRollback": stack.disable_rollback,
        "NotificationARNs": stack.notification_arns,
        "TimeoutInMinutes": stack.timeout_in_minutes,
        "Capabilities": stack.capabilities,
        "Outputs": [{"OutputKey": key, "OutputValue": _display(value), "Description": text}
                    for key, (value, text) in stack.outputs.items()] or None,
        "RoleARN": stack.role_arn,
        "Tags": [{"Key": key, "Value": value} for key, value in stack.tags.items()],
        "EnableTerminationProtection": stack.termination_protected,
        "DriftInformation": {"StackDriftStatus": "NOT_CHECKED"},
    }
    if stack.parent is not None:
        description["ParentId"] = stack.parent.stack_id
        description["RootId"] = stack.root.stack_id
    return description


def _describe_moto_stack(stack: Any) -> dict:
    """A stack moto made itself (a StackSet instance): what it can tell."""
    return {
        "StackId": stack.stack_id,
        "StackName": stack.name,
        "Description": getattr(stack, "description", None),
        "Parameters": getattr(stack, "parameter_list", []),
        "CreationTime": stack.creation_time,
        "StackStatus": stack.status,
        "Outputs": getattr(stack, "outputs", None),
        "Tags": [{"Key": key, "Value": value} for key, value in (stack.tags or {}).items()],
        "EnableTerminationProtection": bool(getattr(stack, "enable_termination_protection", False)),
    }


def describe_stacks(self: CloudFormationResponse) -> ActionResult:
    backend = _backend(self)
    name = self._get_param("StackName")
    if name:
        stacks = [_find_stack(backend, name, deleted=name.startswith("arn:"))]
    else:
        stacks = list(backend.stacks.values())
    page, token = _page([_describe_stack(stack) for stack in stacks], self._get_param("NextToken"))
    return ActionResult({"Stacks": page, "NextToken": token})


def list_stacks(self: CloudFormationResponse) -> ActionResult:
    backend = _backend(self)
    wanted = set(self._get_param("StackStatusFilter", []) or [])
    summaries = []
    for stack in list(backend.stacks.values()) + list(backend.deleted_stacks.values()):
        if wanted and stack.status not in wanted:
            continue
        summary = {
            "StackId": stack.stack_id, "StackName": stack.name,
            "TemplateDescription": getattr(stack, "description", None),
            "CreationTime": stack.creation_time,
            "LastUpdatedTime": getattr(stack, "last_updated_time", None),
            "DeletionTime": getattr(stack, "deletion_time", None),
            "StackStatus": stack.status, "StackStatusReason": getattr(stack, "status_reason", None),
            "DriftInformation": {"StackDriftStatus": "NOT_CHECKED"},
        }
        if getattr(stack, "parent", None) is not None:
            summary["ParentId"] = stack.parent.stack_id
            summary["RootId"] = stack.root.stack_id
        summaries.append(summary)
    page, token = _page(summaries, self._get_param("NextToken"))
    return ActionResult({"StackSummaries": page, "NextToken": token})


def _resource_summary(stack: EmulatedStack, record: Resource) -> dict:
    return {
        "StackName": stack.name,
        "StackId": stack.stack_id,
        "LogicalResourceId": record.logical_id,
        "PhysicalResourceId": record.physical_id,
        "ResourceType": record.type,
        "LastUpdatedTimestamp": record.updated,
        "Timestamp": record.updated,
        "ResourceStatus": record.status,
        "ResourceStatusReason": record.reason,
        "DriftInformation": {"StackResourceDriftStatus": "NOT_CHECKED"},
        "Metadata": json.dumps(record.definition["Metadata"]) if "Metadata" in record.definition else None,
    }


def _emulated(backend: CloudFormationBackend, name: str) -> EmulatedStack:
    stack = _find_stack(backend, name)
    if not isinstance(stack, EmulatedStack):
        raise ValidationError(message=f"Stack {name} was made by moto's own engine; the emulator cannot "
                              "describe it")
    return stack


def list_stack_resources(self: CloudFormationResponse) -> ActionResult:
    """Gap: moto reports the stack's status as every resource's status."""
    backend = _backend(self)
    stack = _emulated(backend, self._get_param("StackName"))
    summaries = [_resource_summary(stack, record) for record in stack.resources.values()]
    page, token = _page(summaries, self._get_param("NextToken"))
    return ActionResult({"StackResourceSummaries": page, "NextToken": token})


def describe_stack_resources(self: CloudFormationResponse) -> ActionResult:
    backend = _backend(self)
    stack = _emulated(backend, self._get_param("StackName"))
    wanted = self._get_param("LogicalResourceId")
    records = [r for r in stack.resources.values() if wanted in (None, r.logical_id)]
    return ActionResult({"StackResources": [_resource_summary(stack, r) for r in records]})


def describe_stack_resource(self: CloudFormationResponse) -> ActionResult:
    backend = _backend(self)
    stack = _emulated(backend, self._get_param("StackName"))
    logical_id = self._get_param("LogicalResourceId")
    if logical_id not in stack.resources:
        raise ValidationError(message=f"Resource {logical_id} does not exist for stack {stack.name}")
    return ActionResult({"StackResourceDetail": _resource_summary(stack, stack.resources[logical_id])})


def describe_stack_events(self: CloudFormationResponse) -> ActionResult:
    """Newest first. The token counts from the oldest event, so pages stay put while a
    running operation adds events at the head."""
    backend = _backend(self)
    stack = _find_stack(backend, self._get_param("StackName"))
    events = stack.events if isinstance(stack, EmulatedStack) else [_moto_event(e) for e in stack.events]
    token = self._get_param("NextToken")
    end = int(token) if token and token.isdigit() else len(events)
    start = max(0, end - _PAGE)
    return ActionResult({"StackEvents": events[start:end][::-1], "NextToken": str(start) if start else None})


def _moto_event(event: Any) -> dict:
    return {"StackId": event.stack_id, "EventId": str(event.event_id), "StackName": event.stack_name,
            "LogicalResourceId": event.logical_resource_id, "PhysicalResourceId": event.physical_resource_id,
            "ResourceType": event.resource_type, "Timestamp": event.timestamp,
            "ResourceStatus": event.resource_status, "ResourceStatusReason": event.resource_status_reason}


def get_template(self: CloudFormationResponse) -> ActionResult:
    backend = _backend(self)
    change_set_name = self._get_param("ChangeSetName")
    if change_set_name:
        body = _find_change_set(backend, change_set_name, self._get_param("StackName")).template
    else:
        stack = _find_stack(backend, self._get_param("StackName"))
        body = stack.template
        if not isinstance(body, str):
            body = json.dumps(body)
    return ActionResult({"TemplateBody": body, "StagesAvailable": ["Original", "Processed"]})


def update_termination_protection(self: CloudFormationResponse) -> ActionResult:
    """Gap: moto has no UpdateTerminationProtection."""
    backend = _backend(self)
    stack = _find_stack(backend, self._get_param("StackName"), deleted=False)
    if getattr(stack, "parent", None) is not None:
        raise ValidationError(message="Termination protection cannot be updated on nested stacks; "
                              f"update the root stack {stack.root.name}")
    stack.enable_termination_protection = self._get_bool_param("EnableTerminationProtection", False)
    return ActionResult({"StackId": stack.stack_id})


def delete_stack(self: CloudFormationResponse) -> ActionResult:
    """Deletes the stack and its nested stacks in the background, honouring
    DeletionPolicy; refused while termination protection is on."""
    backend = _backend(self)
    name = self._get_param("StackName")
    try:
        stack = _find_stack(backend, name, deleted=False)
    except ValidationError:
        return EmptyResult()  # AWS: deleting a stack that is gone succeeds
    if not isinstance(stack, EmulatedStack):
        backend.delete_stack(name)
        return EmptyResult()
    if stack.termination_protected:
        raise ValidationError(message=f"Stack [{stack.name}] cannot be deleted while TerminationProtection "
                              "is enabled")
    if stack.status == "DELETE_IN_PROGRESS":
        return EmptyResult()
    _check_not_busy(stack)
    retain = set(self._get_param("RetainResources", []) or [])
    for logical_id in retain:
        if logical_id in stack.resources:
            stack.resources[logical_id].definition = dict(stack.resources[logical_id].definition,
                                                          DeletionPolicy="Retain")
    if stack.status == "REVIEW_IN_PROGRESS":
        _stack_event(stack, "DELETE_COMPLETE")
        backend.stacks.pop(stack.stack_id, None)
        backend.deleted_stacks[stack.stack_id] = stack
        return EmptyResult()
    _stack_event(stack, "DELETE_IN_PROGRESS", "User Initiated")
    _delete_in_background(stack)
    return EmptyResult()


def create_stack(self: CloudFormationResponse) -> ActionResult:
    """CreateStack is a change set created and executed at once."""
    backend = _backend(self)
    name = self._get_param("StackName")
    for candidate in backend.stacks.values():
        if candidate.name == name:
            raise CloudFormationError("AlreadyExistsException", f"Stack [{name}] already exists")
    body = _submitted_template(self, None)
    template = _parse_template(body)
    inputs = _submitted_parameters(self, None)
    stack = EmulatedStack(backend, name)
    parameter_values(template, inputs, stack)
    has_nested = _nests(template)
    capabilities = self._get_param("Capabilities", []) or []
    _check_capabilities(_capabilities_needed([template], False), capabilities)
    stack.tags = {tag["Key"]: tag["Value"] for tag in self._get_param("Tags", []) or []}
    stack.enable_termination_protection = self._get_bool_param("EnableTerminationProtection", False)
    stack.policy = self._get_param("StackPolicyBody") or ""
    stack.timeout_in_minutes = self._get_param("TimeoutInMinutes")
    stack.disable_rollback = self._get_bool_param("DisableRollback", False) or \
        self._get_param("OnFailure") == "DO_NOTHING"
    backend.stacks[stack.stack_id] = stack
    change_set = ChangeSet(_new_change_set_id(backend, f"create-{_suffix()}"), "create", stack, "CREATE",
                           body, template, inputs, include_nested=has_nested, tags=dict(stack.tags),
                           capabilities=list(capabilities),
                           notification_arns=list(self._get_param("NotificationARNs", []) or []),
                           rollback_configuration=self._get_param("RollbackConfiguration") or {},
                           role_arn=self._get_param("RoleARN"), execution_status="AVAILABLE")
    execute(backend, change_set)
    return ActionResult({"StackId": stack.stack_id})


def update_stack(self: CloudFormationResponse) -> ActionResult:
    """UpdateStack is a change set created and executed at once."""
    backend = _backend(self)
    stack = _emulated(backend, self._get_param("StackName"))
    _check_not_busy(stack)
    if stack.status in _NOT_UPDATABLE:
        raise ValidationError(message=f"Stack:{stack.stack_id} is in {stack.status} state and can not be "
                              "updated.")
    body = _submitted_template(self, stack)
    template = _parse_template(body)
    inputs = _submitted_parameters(self, stack)
    parameter_values(template, inputs, stack)
    if body == stack.template and inputs == stack.inputs:
        raise ValidationError(message="No updates are to be performed.")
    change_set = ChangeSet(_new_change_set_id(backend, f"update-{_suffix()}"), "update", stack, "UPDATE",
                           body, template, inputs, capabilities=self._get_param("Capabilities", []) or [],
                           tags=dict(stack.tags), execution_status="AVAILABLE")
    execute(backend, change_set)
    return ActionResult({"StackId": stack.stack_id})


def _install_cloudformation_api() -> None:
    for handler in (create_change_set, describe_change_set, execute_change_set, delete_change_set,
                    list_change_sets, describe_stacks, list_stacks, list_stack_resources,
                    describe_stack_resources, describe_stack_resource, describe_stack_events,
                    get_template, update_termination_protection, delete_stack, create_stack,
                    update_stack):
        setattr(CloudFormationResponse, handler.__name__, handler)
    from tap.deploy import emulated_stacksets

    emulated_stacksets.install()
    # These handlers answer in the API's own shapes; moto's reshaping of change
    # sets, stacks and StackSets would mangle them.
    CloudFormationResponse.RESPONSE_KEY_PATH_TO_TRANSFORMER = {}


# --- stand-in models ------------------------------------------------------------------


def _lower_id(length: int) -> str:
    return "".join(mock_random.choice(string.ascii_lowercase + string.digits) for _ in range(length))


def _upper_id(prefix: str, length: int = 13) -> str:
    return prefix + _suffix(length)


def _uuid() -> str:
    return str(uuid.UUID(int=mock_random.getrandbits(128)))


class StandIn:
    """A resource type moto has no model for: an id like AWS's for Ref and a
    plausible value for every attribute its schema declares read-only.

    Subclasses set TYPE, may set NAME_PROPERTY, and override `make_id`,
    `make_attributes` and, when moto has a backend worth keeping in step,
    `provision`/`deprovision`."""

    TYPE = ""
    NAME_PROPERTY = ""
    SERVICE = ""
    _tap_stand_in = True

    def __init__(self, name: str, properties: dict, account_id: str, region_name: str):
        self.name = name
        self.properties = properties
        self.account_id = account_id
        self.region_name = region_name
        self.id = ""
        self.attributes: dict[str, Any] = {}

    # --- what subclasses describe
    def make_id(self) -> str:
        return self.name

    def make_attributes(self) -> dict[str, Any]:
        return {}

    def provision(self) -> str | None:
        """Create what moto's service backend should hold; may return the physical id."""

    def reprovision(self) -> None:
        """Bring the backend in step with new properties."""
        self.provision()

    def deprovision(self) -> None:
        """Remove it from moto's service backend."""

    # --- helpers
    def arn(self, resource: str, service: str | None = None, region: bool = True,
            account: bool = True) -> str:
        return (f"arn:{PARTITION}:{service or self.SERVICE}:{self.region_name if region else ''}:"
                f"{self.account_id if account else ''}:{resource}")

    def prop(self, name: str, default: Any = None) -> Any:
        return self.properties.get(name, default)

    # --- the CloudFormationModel interface
    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.TYPE

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.NAME_PROPERTY

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return True

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict,
                                        account_id: str, region_name: str, **kwargs: Any) -> StandIn:
        resource = cls(resource_name, cloudformation_json.get("Properties", {}), account_id, region_name)
        resource.id = resource.make_id()
        resource.id = resource.provision() or resource.id
        resource.attributes = resource.make_attributes()
        return resource

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: StandIn, new_resource_name: str,
                                        cloudformation_json: dict, account_id: str,
                                        region_name: str) -> StandIn:
        original_resource.update(cloudformation_json.get("Properties", {}))
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict,
                                        account_id: str, region_name: str) -> None:
        pass

    def update(self, properties: dict) -> None:
        self.properties = properties
        self.reprovision()
        # An in-place update keeps ids and endpoints; only new attributes appear.
        self.attributes = {**self.make_attributes(), **self.attributes}

    def delete(self, account_id: str, region_name: str) -> None:
        self.deprovision()

    def is_created(self) -> bool:
        return True

    @property
    def physical_resource_id(self) -> str:
        return self.id

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name not in self.attributes:
            from moto.cloudformation.exceptions import (
                UnformattedGetAttTemplateException,
            )

            raise UnformattedGetAttTemplateException()
        return self.attributes[attribute_name]


class GenericStandIn(StandIn):
    """Any other AWS type: a generated id, and an ARN or the id for each attribute."""

    def make_id(self) -> str:
        return self.name

    def make_attributes(self) -> dict[str, Any]:
        service = self.TYPE.split("::")[1].lower()
        values = {}
        for attribute_name in schema_attributes(self.TYPE):
            if attribute_name.endswith("Arn") or attribute_name.endswith("ARN"):
                values[attribute_name] = self.arn(f"{self.TYPE.split('::')[2].lower()}/{self.id}", service)
            else:
                values[attribute_name] = self.id
        return values


def _generic_stand_in(resource_type: str) -> type:
    model = type(resource_type.replace("::", ""), (GenericStandIn, CloudFormationModel),
                 {"TYPE": resource_type})
    _refresh_model_map()
    return model


def _refresh_model_map() -> None:
    get_model_list.cache_clear()
    get_model_map.cache_clear()
    get_name_type_map.cache_clear()


# API Gateway -------------------------------------------------------------------


class ApiGatewayAccount(StandIn, CloudFormationModel):
    TYPE = "AWS::ApiGateway::Account"

    def make_id(self) -> str:
        return _lower_id(10)

    def make_attributes(self) -> dict:
        return {"Id": self.id}


class ApiGatewayApiKey(StandIn, CloudFormationModel):
    TYPE = "AWS::ApiGateway::ApiKey"

    def make_id(self) -> str:
        return _lower_id(10)

    def make_attributes(self) -> dict:
        return {"APIKeyId": self.id}


class ApiGatewayGatewayResponse(StandIn, CloudFormationModel):
    TYPE = "AWS::ApiGateway::GatewayResponse"

    def make_id(self) -> str:
        return _lower_id(6)

    def make_attributes(self) -> dict:
        return {"Id": self.id}


class ApiGatewayModel(StandIn, CloudFormationModel):
    TYPE = "AWS::ApiGateway::Model"
    NAME_PROPERTY = "Name"

    def make_id(self) -> str:
        return self.prop("Name") or self.name.replace("-", "")


class ApiGatewayRequestValidator(StandIn, CloudFormationModel):
    TYPE = "AWS::ApiGateway::RequestValidator"

    def make_id(self) -> str:
        return _lower_id(6)

    def make_attributes(self) -> dict:
        return {"RequestValidatorId": self.id}


class ApiGatewayStage(StandIn, CloudFormationModel):
    TYPE = "AWS::ApiGateway::Stage"
    NAME_PROPERTY = "StageName"

    def make_id(self) -> str:
        return self.prop("StageName") or _lower_id(8)


class ApiGatewayUsagePlan(StandIn, CloudFormationModel):
    TYPE = "AWS::ApiGateway::UsagePlan"

    def make_id(self) -> str:
        return _lower_id(6)

    def make_attributes(self) -> dict:
        return {"Id": self.id}


class ApiGatewayUsagePlanKey(StandIn, CloudFormationModel):
    TYPE = "AWS::ApiGateway::UsagePlanKey"

    def make_id(self) -> str:
        return self.prop("KeyId")  # a usage plan key is known by its API key's id

    def make_attributes(self) -> dict:
        return {"Id": self.id}


# Application Auto Scaling ---------------------------------------------------------


class ScalableTarget(StandIn, CloudFormationModel):
    TYPE = "AWS::ApplicationAutoScaling::ScalableTarget"

    def make_id(self) -> str:
        return f"{self.prop('ResourceId')}|{self.prop('ScalableDimension')}|{self.prop('ServiceNamespace')}"

    def make_attributes(self) -> dict:
        return {"Id": self.id}


class ScalingPolicy(StandIn, CloudFormationModel):
    TYPE = "AWS::ApplicationAutoScaling::ScalingPolicy"
    SERVICE = "autoscaling"

    def make_id(self) -> str:
        target = self.prop("ScalingTargetId", "")
        resource_id = self.prop("ResourceId") or target.split("|")[0]
        return self.arn(f"scalingPolicy:{_uuid()}:resource/{self.prop('ServiceNamespace') or 'ecs'}/"
                        f"{resource_id}:policyName/{self.prop('PolicyName') or self.name}")

    def make_attributes(self) -> dict:
        return {"Arn": self.id}


# CloudFront ------------------------------------------------------------------------


class CloudFrontDistribution(StandIn, CloudFormationModel):
    TYPE = "AWS::CloudFront::Distribution"

    def make_id(self) -> str:
        return _upper_id("E")

    def make_attributes(self) -> dict:
        return {"Id": self.id, "DomainName": f"d{_lower_id(13)}.cloudfront.net"}


class CloudFrontFunction(StandIn, CloudFormationModel):
    TYPE = "AWS::CloudFront::Function"
    NAME_PROPERTY = "Name"

    def make_id(self) -> str:
        return self.arn(f"function/{self.prop('Name') or self.name}", "cloudfront", region=False)

    def make_attributes(self) -> dict:
        stage = "LIVE" if str(self.prop("AutoPublish", False)).lower() == "true" else "DEVELOPMENT"
        return {"FunctionARN": self.id, "Stage": stage, "FunctionMetadata.FunctionARN": self.id}


class CloudFrontKeyGroup(StandIn, CloudFormationModel):
    TYPE = "AWS::CloudFront::KeyGroup"

    def make_id(self) -> str:
        return _uuid()

    def make_attributes(self) -> dict:
        return {"Id": self.id, "LastModifiedTime": utcnow().isoformat() + "Z"}


class CloudFrontOriginAccessControl(StandIn, CloudFormationModel):
    TYPE = "AWS::CloudFront::OriginAccessControl"

    def make_id(self) -> str:
        return _upper_id("E")

    def make_attributes(self) -> dict:
        return {"Id": self.id}


class CloudFrontPublicKey(StandIn, CloudFormationModel):
    TYPE = "AWS::CloudFront::PublicKey"

    def make_id(self) -> str:
        return _upper_id("K")

    def make_attributes(self) -> dict:
        return {"Id": self.id, "CreatedTime": utcnow().isoformat() + "Z"}


# CloudWatch alarms, backed by moto's CloudWatch ----------------------------------------


class CloudWatchAlarm(StandIn, CloudFormationModel):
    TYPE = "AWS::CloudWatch::Alarm"
    NAME_PROPERTY = "AlarmName"
    SERVICE = "cloudwatch"

    def make_id(self) -> str:
        return self.prop("AlarmName") or self.name

    def make_attributes(self) -> dict:
        return {"Arn": self.arn(f"alarm:{self.id}")}

    def provision(self) -> None:
        from moto.cloudwatch.models import MetricDataQuery, cloudwatch_backends

        queries = [MetricDataQuery(
            query_id=q.get("Id"), label=q.get("Label"), period=q.get("Period"),
            return_data=q.get("ReturnData"), expression=q.get("Expression"),
            metric_stat=q.get("MetricStat"), account_id=q.get("AccountId"),
        ) for q in self.prop("Metrics", [])] or None
        cloudwatch_backends[self.account_id][self.region_name].put_metric_alarm(
            name=self.id,
            namespace=self.prop("Namespace"),
            metric_name=self.prop("MetricName"),
            metric_data_queries=queries,
            comparison_operator=self.prop("ComparisonOperator"),
            evaluation_periods=int(self.prop("EvaluationPeriods", 1)),
            datapoints_to_alarm=_int_or_none(self.prop("DatapointsToAlarm")),
            period=_int_or_none(self.prop("Period")),
            threshold=_float_or_none(self.prop("Threshold")),
            statistic=self.prop("Statistic"),
            extended_statistic=self.prop("ExtendedStatistic"),
            description=self.prop("AlarmDescription"),
            dimensions=self.prop("Dimensions", []),
            alarm_actions=self.prop("AlarmActions", []),
            ok_actions=self.prop("OKActions", []),
            insufficient_data_actions=self.prop("InsufficientDataActions", []),
            unit=self.prop("Unit"),
            actions_enabled=str(self.prop("ActionsEnabled", True)).lower() == "true",
            treat_missing_data=self.prop("TreatMissingData"),
            evaluate_low_sample_count_percentile=self.prop("EvaluateLowSampleCountPercentile"),
            threshold_metric_id=self.prop("ThresholdMetricId"),
            rule=None,
            tags=[],
        )

    def deprovision(self) -> None:
        from moto.cloudwatch.models import cloudwatch_backends

        cloudwatch_backends[self.account_id][self.region_name].delete_alarms([self.id])


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


# CodeBuild, CodeConnections, CodePipeline ------------------------------------------------


class CodeBuildProject(StandIn, CloudFormationModel):
    TYPE = "AWS::CodeBuild::Project"
    NAME_PROPERTY = "Name"
    SERVICE = "codebuild"

    def make_id(self) -> str:
        return self.prop("Name") or self.name

    def make_attributes(self) -> dict:
        arn = self.arn(f"project/{self.id}")
        return {"Arn": arn, "Id": arn}


class CodeConnection(StandIn, CloudFormationModel):
    TYPE = "AWS::CodeConnections::Connection"
    SERVICE = "codeconnections"

    def make_id(self) -> str:
        return self.arn(f"connection/{_uuid()}")

    def make_attributes(self) -> dict:
        # A new connection waits for someone to finish the handshake in the console.
        return {"ConnectionArn": self.id, "ConnectionStatus": "PENDING", "OwnerAccountId": self.account_id}


class CodePipeline(StandIn, CloudFormationModel):
    TYPE = "AWS::CodePipeline::Pipeline"
    NAME_PROPERTY = "Name"
    SERVICE = "codepipeline"

    def make_id(self) -> str:
        return self.prop("Name") or self.name

    def make_attributes(self) -> dict:
        version = self.attributes.get("Version", 0) + 1 if self.attributes else 1
        return {"Arn": self.arn(self.id), "Version": version}


# ElastiCache -------------------------------------------------------------------------


class CacheParameterGroup(StandIn, CloudFormationModel):
    TYPE = "AWS::ElastiCache::ParameterGroup"

    def make_attributes(self) -> dict:
        return {"CacheParameterGroupName": self.id}


class CacheSubnetGroup(StandIn, CloudFormationModel):
    TYPE = "AWS::ElastiCache::SubnetGroup"
    NAME_PROPERTY = "CacheSubnetGroupName"


class CacheReplicationGroup(StandIn, CloudFormationModel):
    TYPE = "AWS::ElastiCache::ReplicationGroup"
    NAME_PROPERTY = "ReplicationGroupId"

    def make_id(self) -> str:
        return (self.prop("ReplicationGroupId") or self.name).lower()

    def make_attributes(self) -> dict:
        port = str(self.prop("Port", 6379))
        host = f"{self.id}.{_lower_id(6)}.ng.0001.{_short_region(self.region_name)}.cache.{URL_SUFFIX}"
        prefix = "master." if str(self.prop("TransitEncryptionEnabled", False)).lower() == "true" else ""
        primary = f"{prefix}{host}"
        reader = f"replica.{host}" if prefix else host.replace(".ng.", ".ro.")
        return {
            "PrimaryEndPoint.Address": primary, "PrimaryEndPoint.Port": port,
            "ReaderEndPoint.Address": reader, "ReaderEndPoint.Port": port,
            "ConfigurationEndPoint.Address": f"clustercfg.{host}", "ConfigurationEndPoint.Port": port,
            "ReadEndPoint.Addresses": reader, "ReadEndPoint.Ports": port,
            # the docs' GetAtt names, and the schema's property names
            "ReadEndPoint.Addresses.List": [reader], "ReadEndPoint.Ports.List": [port],
            "ReadEndPoint.AddressesList": [reader], "ReadEndPoint.PortsList": [port],
            "EffectiveDurability": "async",
        }


def _short_region(region: str) -> str:
    """us-east-1 -> use1, as in ElastiCache endpoints."""
    area, direction, number = region.split("-")
    return f"{area}{direction[0]}{number}"


# IAM OIDC provider, backed by moto's IAM -------------------------------------------------


class OidcProvider(StandIn, CloudFormationModel):
    TYPE = "AWS::IAM::OIDCProvider"
    SERVICE = "iam"

    def make_id(self) -> str:
        host = self.prop("Url", "").replace("https://", "")
        return self.arn(f"oidc-provider/{host}", region=False)

    def make_attributes(self) -> dict:
        return {"Arn": self.id}

    def _backend(self) -> Any:
        from moto.iam.models import iam_backends

        return iam_backends[self.account_id][PARTITION]

    def provision(self) -> None:
        backend = self._backend()
        if self.id in backend.open_id_providers:
            # IAM allows one provider per URL and account.
            raise ResourceError(f'Resource handler returned message: "Provider with url '
                                f'{self.prop("Url")} already exists. (Service: Iam, Status Code: 409)"')
        backend.create_open_id_connect_provider(
            self.prop("Url"), self.prop("ThumbprintList", []), self.prop("ClientIdList", []),
            self.prop("Tags", []))

    def reprovision(self) -> None:
        provider = self._backend().open_id_providers.get(self.id)
        if provider is not None:
            provider.client_id_list = self.prop("ClientIdList", [])
            provider.thumbprint_list = self.prop("ThumbprintList", [])

    def deprovision(self) -> None:
        self._backend().delete_open_id_connect_provider(self.id)


# CloudWatch Logs deliveries ------------------------------------------------------------


class LogsDelivery(StandIn, CloudFormationModel):
    TYPE = "AWS::Logs::Delivery"
    SERVICE = "logs"

    def make_id(self) -> str:
        return _lower_id(16)

    def make_attributes(self) -> dict:
        destination = self.prop("DeliveryDestinationArn", "")
        kind = "S3" if "-s3" in destination or ":s3" in destination else "CWL"
        return {"DeliveryId": self.id, "Arn": self.arn(f"delivery:{self.id}"),
                "DeliveryDestinationType": kind}


class LogsDeliveryDestination(StandIn, CloudFormationModel):
    TYPE = "AWS::Logs::DeliveryDestination"
    NAME_PROPERTY = "Name"
    SERVICE = "logs"

    def make_id(self) -> str:
        return self.prop("Name") or self.name

    def make_attributes(self) -> dict:
        return {"Arn": self.arn(f"delivery-destination:{self.id}")}


class LogsDeliverySource(StandIn, CloudFormationModel):
    TYPE = "AWS::Logs::DeliverySource"
    NAME_PROPERTY = "Name"
    SERVICE = "logs"

    def make_id(self) -> str:
        return self.prop("Name") or self.name

    def make_attributes(self) -> dict:
        resource = self.prop("ResourceArn", "")
        service = resource.split(":")[2] if resource.count(":") >= 2 else ""
        return {"Arn": self.arn(f"delivery-source:{self.id}"), "Service": service,
                "ResourceArns": [resource] if resource else [], "Status": "ACTIVE", "StatusReason": ""}


# S3 bucket policy, backed by moto's S3 ---------------------------------------------------


class S3BucketPolicy(StandIn, CloudFormationModel):
    TYPE = "AWS::S3::BucketPolicy"

    def make_id(self) -> str:
        return self.prop("Bucket")

    def _backend(self) -> Any:
        from moto.s3.models import s3_backends

        return s3_backends[self.account_id][PARTITION]

    def provision(self) -> None:
        policy = json.dumps(self.prop("PolicyDocument")).encode()
        self._backend().put_bucket_policy(self.prop("Bucket"), policy)

    def deprovision(self) -> None:
        with contextlib.suppress(Exception):  # the bucket went first
            self._backend().delete_bucket_policy(self.prop("Bucket"))


# SNS subscriptions and topic policies, backed by moto's SNS ---------------------------------


class SnsSubscription(StandIn, CloudFormationModel):
    TYPE = "AWS::SNS::Subscription"

    def _backend(self) -> Any:
        from moto.sns.models import sns_backends

        topic = self.prop("TopicArn", "")
        region = topic.split(":")[3] if topic.count(":") >= 5 else self.region_name
        return sns_backends[self.account_id][region]

    def provision(self) -> str:
        subscription = self._backend().subscribe(self.prop("TopicArn"), self.prop("Endpoint"),
                                                 self.prop("Protocol"))
        return subscription.arn

    def reprovision(self) -> None:
        pass

    def make_attributes(self) -> dict:
        return {"Arn": self.id}

    def deprovision(self) -> None:
        self._backend().unsubscribe(self.id)


class SnsTopicPolicy(StandIn, CloudFormationModel):
    TYPE = "AWS::SNS::TopicPolicy"

    def make_id(self) -> str:
        return self.name

    def make_attributes(self) -> dict:
        return {"Id": self.id}

    def provision(self) -> None:
        from moto.sns.models import sns_backends

        for topic in self.prop("Topics", []):
            sns_backends[self.account_id][topic.split(":")[3]].set_topic_attribute(
                topic, "policy", json.dumps(self.prop("PolicyDocument")))


# Secrets Manager, backed by moto's Secrets Manager ----------------------------------------


class SecretsManagerSecret(StandIn, CloudFormationModel):
    TYPE = "AWS::SecretsManager::Secret"
    NAME_PROPERTY = "Name"

    def _backend(self) -> Any:
        from moto.secretsmanager.models import secretsmanager_backends

        return secretsmanager_backends[self.account_id][self.region_name]

    def make_attributes(self) -> dict:
        return {"Id": self.id}

    def provision(self) -> str:
        backend = self._backend()
        name = self.prop("Name") or self.name
        backend.create_secret(
            name=name, secret_string=self._initial_value(), secret_binary=None,
            description=self.prop("Description"), tags=self.prop("Tags", []),
            kms_key_id=self.prop("KmsKeyId"), client_request_token=None,
            replica_regions=self.prop("ReplicaRegions", []), force_overwrite=False)
        return backend.describe_secret(name).arn

    def _initial_value(self) -> str | None:
        """SecretString, or one generated like GenerateSecretString asks (none: created empty)."""
        if self.prop("SecretString") is not None:
            return self.prop("SecretString")
        spec = self.prop("GenerateSecretString")
        if spec is None:
            return None
        password = self._backend().get_random_password(
            password_length=int(spec.get("PasswordLength", 32)),
            exclude_characters=spec.get("ExcludeCharacters", ""),
            exclude_numbers=_flag(spec.get("ExcludeNumbers")),
            exclude_punctuation=_flag(spec.get("ExcludePunctuation")),
            exclude_uppercase=_flag(spec.get("ExcludeUppercase")),
            exclude_lowercase=_flag(spec.get("ExcludeLowercase")),
            include_space=_flag(spec.get("IncludeSpace")),
            require_each_included_type=_flag(spec.get("RequireEachIncludedType", True)),
        )
        password = json.loads(password)["RandomPassword"] if password.startswith("{") else password
        if spec.get("SecretStringTemplate") and spec.get("GenerateStringKey"):
            value = json.loads(spec["SecretStringTemplate"])
            value[spec["GenerateStringKey"]] = password
            return json.dumps(value)
        return password

    def reprovision(self) -> None:
        secret = self._backend().secrets.get(self.id)
        if secret is not None:
            secret.description = self.prop("Description")

    def deprovision(self) -> None:
        self._backend().delete_secret(self.id, None, True)


def _flag(value: Any) -> bool:
    return str(value).lower() == "true"


class SecretsManagerResourcePolicy(StandIn, CloudFormationModel):
    TYPE = "AWS::SecretsManager::ResourcePolicy"

    def make_id(self) -> str:
        return self.prop("SecretId")

    def make_attributes(self) -> dict:
        return {"Id": self.id}

    def _backend(self) -> Any:
        from moto.secretsmanager.models import secretsmanager_backends

        return secretsmanager_backends[self.account_id][self.region_name]

    def provision(self) -> None:
        self._backend().put_resource_policy(self.prop("SecretId"), json.dumps(self.prop("ResourcePolicy")))

    def deprovision(self) -> None:
        with contextlib.suppress(Exception):  # the secret went first
            self._backend().delete_resource_policy(self.prop("SecretId"))


# WAF --------------------------------------------------------------------------------


class WebAcl(StandIn, CloudFormationModel):
    TYPE = "AWS::WAFv2::WebACL"
    NAME_PROPERTY = "Name"
    SERVICE = "wafv2"

    def make_id(self) -> str:
        self.acl_id = _uuid()
        return f"{self.prop('Name') or self.name}|{self.acl_id}|{self.prop('Scope', 'REGIONAL')}"

    def make_attributes(self) -> dict:
        name = self.prop("Name") or self.name
        scope = "global" if self.prop("Scope") == "CLOUDFRONT" else "regional"
        region = "us-east-1" if scope == "global" else self.region_name
        arn = f"arn:{PARTITION}:wafv2:{region}:{self.account_id}:{scope}/webacl/{name}/{self.acl_id}"
        return {"Arn": arn, "Id": self.acl_id, "Capacity": 50 * max(1, len(self.prop("Rules", []))),
                "LabelNamespace": f"awswaf:{self.account_id}:webacl:{name}:"}


class WebAclLogging(StandIn, CloudFormationModel):
    TYPE = "AWS::WAFv2::LoggingConfiguration"

    def make_id(self) -> str:
        return self.prop("ResourceArn")

    def make_attributes(self) -> dict:
        return {"ManagedByFirewallManager": False}


_STAND_INS = (
    ApiGatewayAccount, ApiGatewayApiKey, ApiGatewayGatewayResponse, ApiGatewayModel,
    ApiGatewayRequestValidator, ApiGatewayStage, ApiGatewayUsagePlan, ApiGatewayUsagePlanKey,
    ScalableTarget, ScalingPolicy, CloudFrontDistribution, CloudFrontFunction, CloudFrontKeyGroup,
    CloudFrontOriginAccessControl, CloudFrontPublicKey, CloudWatchAlarm, CodeBuildProject,
    CodeConnection, CodePipeline, CacheParameterGroup, CacheSubnetGroup, CacheReplicationGroup,
    OidcProvider, LogsDelivery, LogsDeliveryDestination, LogsDeliverySource, S3BucketPolicy,
    SnsSubscription, SnsTopicPolicy, SecretsManagerSecret, SecretsManagerResourcePolicy, WebAcl,
    WebAclLogging,
)


def _register_stand_ins() -> None:
    """Gap: 33 types tap uses have no moto model (a GetAtt is a 500, a Ref is empty).
    Each stand-in subclasses CloudFormationModel directly, so that moto's model map,
    built from __subclasses__() and cached, finds it once the cache is cleared."""
    _refresh_model_map()
    unregistered = [model.TYPE for model in _STAND_INS if get_model_map().get(model.TYPE) is not model]
    if unregistered:
        raise RuntimeError(f"stand-ins missing from moto's model map: {unregistered}")


# --- S3 checksums -----------------------------------------------------------------------

_CHECKSUM_ALGORITHMS = ("CRC64NVME", "CRC32C", "CRC32", "SHA256", "SHA1")


def _install_s3_checksums() -> None:
    """Gap: moto ignores an x-amz-checksum-sha256 header that comes without
    x-amz-sdk-checksum-algorithm: the checksum is neither verified nor kept, so
    head_object(ChecksumMode="ENABLED") returns none."""
    from moto.s3.exceptions import S3ClientError
    from moto.s3.responses import S3Response
    from moto.s3.utils import compute_checksum

    original = S3Response._get_checksum

    def get_checksum(self: Any, response_headers: dict) -> tuple[str, str | None]:
        algorithm = self.headers.get("x-amz-sdk-checksum-algorithm", "").upper() or next(
            (each for each in _CHECKSUM_ALGORITHMS if self.headers.get(f"x-amz-checksum-{each.lower()}")), "")
        declared = self.headers.get(f"x-amz-checksum-{algorithm.lower()}") if algorithm else None
        if not declared:
            return original(self, response_headers)
        # S3 checks a checksum the client declares (moto's CRCs may fall back to
        # CRC32 without their libraries, so only the SHAs are compared).
        if algorithm in ("SHA256", "SHA1"):
            actual = compute_checksum(self.body or b"", algorithm=algorithm)
            actual = actual.decode() if isinstance(actual, bytes) else actual
            if actual != declared:
                raise S3ClientError(
                    "BadDigest", f"The {algorithm} you specified did not match the calculated checksum.")
        response_headers[f"x-amz-checksum-{algorithm.lower()}"] = declared
        return algorithm, declared

    S3Response._get_checksum = get_checksum


def _install_s3_policy_conditions() -> None:
    """Gap: moto evaluates a bucket policy ignoring its Conditions, so the usual
    "Deny s3:* when aws:SecureTransport is false" denies every request. The
    emulator stands for HTTPS AWS, where such statements match nothing, so
    statements with a Condition are left out of moto's evaluation."""
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        document = json.loads(self.policy)
        statements = document.get("Statement", [])
        statements = [statements] if isinstance(statements, dict) else statements
        unconditional = [statement for statement in statements if "Condition" not in statement]
        if not unconditional:
            return PermissionResult.NEUTRAL
        return IAMPolicy(json.dumps({**document, "Statement": unconditional})).is_action_permitted(
            action, resource)

    FakeBucket.get_permission = get_permission
