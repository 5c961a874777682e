"""StackSets for the emulator: instances deployed by the emulator's own engine.

moto 5.2.5 models StackSets only on paper. Its instance stacks are named
`StackSet:<name>`, which no auto-generated physical name accepts; every operation
answers SUCCEEDED at once; `update_stack_set` reports success without touching an
instance; instances never fail; the execution roles of self-managed StackSets are
not looked at; and a template read from another account's bucket is read no matter
its policy. Here each instance is a stack of the emulator's engine in its own
account and region (nested stacks, rollback and DeletionPolicy included), and an
operation runs in the background the way StackSets runs it: regions in order,
instances as their status changes, stopped when failures pass the tolerance.

Gaps left open: automatic deployment to an account that joins an OU later is
recorded but not acted on, and account gates are not run.
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from moto.cloudformation.exceptions import CloudFormationError, ValidationError
from moto.cloudformation.models import CloudFormationBackend, cloudformation_backends
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.moto_api._internal import mock_random

from tap.deploy import emulator
from tap.deploy.emulator import (
    PARTITION,
    Deployment,
    EmulatedStack,
    StackFailed,
    _in_background,
    _parse_template,
    _stack_event,
    _step,
    delete_stack_tree,
    parameter_values,
)

CANCELLED_REASON = "Cancelled since failure tolerance has exceeded"
NAME_PATTERN = r"^[a-zA-Z][-a-zA-Z0-9]*$"


@dataclass
class Instance:
    account: str
    region: str
    overrides: dict[str, str] = field(default_factory=dict)
    organizational_unit: str | None = None
    stack: EmulatedStack | None = None
    status: str = "OUTDATED"  # CURRENT, OUTDATED, INOPERABLE
    detailed: str = "PENDING"  # PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED, INOPERABLE
    reason: str | None = None
    last_operation: str | None = None

    def summary(self, stack_set: StackSet) -> dict:
        found = {
            "StackSetId": stack_set.stack_set_id, "Region": self.region, "Account": self.account,
            "StackId": self.stack.stack_id if self.stack else None, "Status": self.status,
            "StatusReason": self.reason, "StackInstanceStatus": {"DetailedStatus": self.detailed},
            "OrganizationalUnitId": self.organizational_unit, "DriftStatus": "NOT_CHECKED",
            "LastOperationId": self.last_operation,
        }
        return {key: value for key, value in found.items() if value is not None}


@dataclass
class Operation:
    operation_id: str
    action: str  # CREATE, UPDATE, DELETE
    preferences: dict
    targets: list[Instance]
    retain_stacks: bool = False
    status: str = "RUNNING"  # QUEUED, RUNNING, SUCCEEDED, FAILED, STOPPED
    status_reason: str | None = None
    results: dict[tuple[str, str], tuple[str, str | None]] = field(default_factory=dict)
    created: datetime = field(default_factory=utcnow)
    ended: datetime | None = None

    def describe(self, stack_set: StackSet) -> dict:
        failed = sum(status == "FAILED" for status, _ in self.results.values())
        found = {
            "OperationId": self.operation_id, "StackSetId": stack_set.stack_set_id,
            "Action": self.action, "Status": self.status, "OperationPreferences": self.preferences,
            "RetainStacks": self.retain_stacks,
            "AdministrationRoleARN": stack_set.administration_role_arn,
            "ExecutionRoleName": stack_set.execution_role_name,
            "CreationTimestamp": self.created, "EndTimestamp": self.ended,
            "StatusReason": self.status_reason,
            "StatusDetails": {"FailedStackInstancesCount": failed},
        }
        return {key: value for key, value in found.items() if value is not None}

    def result_summaries(self) -> list[dict]:
        summaries = []
        for instance in self.targets:
            status, reason = self.results.get((instance.account, instance.region), ("PENDING", None))
            summary = {"Account": instance.account, "Region": instance.region, "Status": status,
                       "AccountGateResult": {"Status": "SKIPPED",
                                             "StatusReason": "No account gate function is configured"}}
            if reason:
                summary["StatusReason"] = reason
            if instance.organizational_unit:
                summary["OrganizationalUnitId"] = instance.organizational_unit
            summaries.append(summary)
        return summaries


@dataclass
class StackSet:
    name: str
    stack_set_id: str
    account_id: str
    region: str
    template: str
    parameters: dict[str, str]
    capabilities: list[str]
    permission_model: str
    administration_role_arn: str
    execution_role_name: str
    auto_deployment: dict
    description: str | None
    tags: dict[str, str]
    status: str = "ACTIVE"
    instances: dict[tuple[str, str], Instance] = field(default_factory=dict)
    operations: list[Operation] = field(default_factory=list)
    organizational_units: list[str] = field(default_factory=list)

    @property
    def arn(self) -> str:
        return f"arn:{PARTITION}:cloudformation:{self.region}:{self.account_id}:stackset/{self.stack_set_id}"

    def describe(self) -> dict:
        found = {
            "StackSetName": self.name, "StackSetId": self.stack_set_id, "Description": self.description,
            "Status": self.status, "TemplateBody": self.template,
            "Parameters": [{"ParameterKey": key, "ParameterValue": value}
                           for key, value in self.parameters.items()],
            "Capabilities": self.capabilities,
            "Tags": [{"Key": key, "Value": value} for key, value in self.tags.items()],
            "StackSetARN": self.arn, "AdministrationRoleARN": self.administration_role_arn,
            "ExecutionRoleName": self.execution_role_name, "PermissionModel": self.permission_model,
            "ManagedExecution": {"Active": False},
        }
        if self.permission_model == "SERVICE_MANAGED":
            found["AutoDeployment"] = self.auto_deployment
            found["OrganizationalUnitIds"] = self.organizational_units
            found.pop("AdministrationRoleARN")
            found.pop("ExecutionRoleName")
        return {key: value for key, value in found.items() if value is not None}

    def running(self) -> Operation | None:
        return next((op for op in self.operations if op.status in ("QUEUED", "RUNNING", "STOPPING")), None)


# --- where StackSets live ------------------------------------------------------------


def _stack_sets(backend: CloudFormationBackend) -> dict[str, StackSet]:
    if not hasattr(backend, "tap_stack_sets"):
        backend.tap_stack_sets = {}
    return backend.tap_stack_sets


def _backend(response: CloudFormationResponse) -> CloudFormationBackend:
    return cloudformation_backends[response.current_account][response.region]


def _find(response: CloudFormationResponse) -> StackSet:
    name = response._get_param("StackSetName")
    for stack_set in _stack_sets(_backend(response)).values():
        if name in (stack_set.name, stack_set.stack_set_id) and stack_set.status != "DELETED":
            return stack_set
    raise CloudFormationError("StackSetNotFoundException", f"StackSet {name} not found")


def _check_idle(stack_set: StackSet) -> None:
    if stack_set.running() is not None:
        raise CloudFormationError(
            "OperationInProgressException",
            f"Another Operation on StackSet {stack_set.stack_set_id} is in progress")


def _parameters(entries: list[dict], previous: dict[str, str]) -> dict[str, str]:
    values = {}
    for entry in entries or []:
        key = entry["ParameterKey"]
        if entry.get("UsePreviousValue") in (True, "true"):
            values[key] = previous.get(key, "")
        else:
            values[key] = entry.get("ParameterValue", "")
    return values


def _template(response: CloudFormationResponse, previous: str | None) -> str:
    if response._get_bool_param("UsePreviousTemplate", False) and previous is not None:
        return previous
    url, body = response._get_param("TemplateURL"), response._get_param("TemplateBody")
    if url:
        return emulator.read_template_url(url, response.current_account)
    if body:
        return body
    if previous is not None:
        return previous
    raise ValidationError(message="Either TemplateBody or TemplateURL must be specified")


# --- organisations -------------------------------------------------------------------


def organization_of(account_id: str) -> tuple[Any, Any] | None:
    """The moto organisation an account belongs to (its backend and the org), or None."""
    from moto.organizations.models import organizations_backends

    master = organizations_backends.master_accounts.get(account_id)
    master_id = master[0] if master else account_id
    backend = organizations_backends[master_id][PARTITION]
    if backend.org is None or not any(a.id == account_id for a in backend.accounts):
        return None
    return backend, backend.org


def accounts_in(organizational_units: list[str], management_account: str) -> list[tuple[str, str]]:
    """(account, OU) for every account under the OUs, their child OUs included."""
    found = organization_of(management_account)
    if found is None:
        raise ValidationError(message="StackSets with SERVICE_MANAGED permission model require "
                              "AWS Organizations with all features; this account is in none")
    backend, _ = found
    known = {ou.id for ou in backend.ou}
    accounts = []
    for requested in organizational_units:
        if requested not in known:
            raise ValidationError(message=f"OrganizationalUnitId {requested} does not exist")
        units = {requested}
        while True:
            grown = units | {ou.id for ou in backend.ou if ou.parent_id in units}
            if grown == units:
                break
            units = grown
        accounts += [(account.id, requested) for account in backend.accounts
                     if account.parent_id in units and account.id != management_account]
    return accounts


def add_organization(management_account: str, units: dict[str, list[str]]) -> tuple[str, dict[str, str]]:
    """An organisation with member accounts of the ids given, in OUs named by `units`
    (the emulator's stand-in for an AWS Organization): returns its id and each OU's id."""
    from moto.organizations.models import FakeAccount, organizations_backends

    backend = organizations_backends[management_account][PARTITION]
    with emulator._LOCK:
        if backend.org is None:
            backend.create_organization(region="us-east-1", FeatureSet="ALL")
        root = backend.org.root_id
        unit_ids = {}
        for unit_name, accounts in units.items():
            existing = next((ou for ou in backend.ou if getattr(ou, "name", None) == unit_name), None)
            unit_id = existing.id if existing else backend.create_organizational_unit(
                ParentId=root, Name=unit_name)["OrganizationalUnit"]["Id"]
            unit_ids[unit_name] = unit_id
            for account_id in accounts:
                if any(a.id == account_id for a in backend.accounts):
                    continue
                account = FakeAccount(backend.org, AccountName=f"member-{account_id}",
                                      Email=f"{account_id}@example.com")
                account.id, account.parent_id = account_id, unit_id
                backend.accounts.append(account)
                organizations_backends.master_accounts[account_id] = (management_account, PARTITION)
    return backend.org.id, unit_ids


# --- who may deploy ------------------------------------------------------------------


def _role_trusts(account_id: str, role_name: str, principal_arn: str) -> bool:
    from moto.iam.models import iam_backends

    backend = iam_backends[account_id][PARTITION]
    role = next((r for r in backend.roles.values() if r.name == role_name), None)
    if role is None:
        return False
    document = json.loads(role.assume_role_policy_document)
    statements = document.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        principals = (statement.get("Principal") or {}).get("AWS", [])
        principals = [principals] if isinstance(principals, str) else principals
        if statement.get("Effect") == "Allow" and principal_arn in principals:
            return True
    return False


def _permission_problem(stack_set: StackSet, account: str) -> str | None:
    """Why StackSets cannot act in `account`, as its status reason says it; None if it can."""
    if stack_set.permission_model == "SERVICE_MANAGED":
        return None
    admin_name = stack_set.administration_role_arn.rsplit("/", 1)[-1]
    from moto.iam.models import iam_backends

    admins = iam_backends[stack_set.account_id][PARTITION].roles.values()
    if not any(role.arn == stack_set.administration_role_arn for role in admins):
        return (f"Account {stack_set.account_id} should have '{admin_name}' role with trust "
                "relationship to CloudFormation service.")
    if not _role_trusts(account, stack_set.execution_role_name, stack_set.administration_role_arn):
        return (f"Account {account} should have '{stack_set.execution_role_name}' role with trust "
                f"relationship to Role '{admin_name}'.")
    return None


# --- running an operation --------------------------------------------------------------


def _allowed_failures(preferences: dict, count: int) -> int:
    if "FailureToleranceCount" in preferences:
        return int(preferences["FailureToleranceCount"])
    if "FailureTolerancePercentage" in preferences:
        return math.floor(count * int(preferences["FailureTolerancePercentage"]) / 100)
    return 0


def _batch_size(preferences: dict, count: int) -> int:
    if "MaxConcurrentCount" in preferences:
        return max(1, int(preferences["MaxConcurrentCount"]))
    if "MaxConcurrentPercentage" in preferences:
        return max(1, math.floor(count * int(preferences["MaxConcurrentPercentage"]) / 100))
    return 1


def _by_region(operation: Operation) -> list[list[Instance]]:
    order = list(operation.preferences.get("RegionOrder") or [])
    regions = order + sorted({i.region for i in operation.targets} - set(order))
    return [[i for i in operation.targets if i.region == region] for region in regions]


def _run(stack_set: StackSet, operation: Operation) -> None:
    """Regions one after another, instances in batches of the concurrency; once a region's
    failures pass the tolerance (counted per region, as StackSets does), what has not
    started there and in later regions is cancelled and the operation fails."""
    stopped = False
    for region in _by_region(operation):
        failures, tolerance = 0, _allowed_failures(operation.preferences, len(region))
        size = _batch_size(operation.preferences, len(region))
        for start in range(0, len(region), size):
            batch = region[start:start + size]
            if stopped or failures > tolerance:
                stopped = True
                _cancel(operation, batch)
                continue
            for instance in batch:
                with _step():
                    operation.results[(instance.account, instance.region)] = ("RUNNING", None)
                    instance.detailed, instance.last_operation = "RUNNING", operation.operation_id
            for instance in batch:
                failures += _apply(stack_set, operation, instance)
        stopped = stopped or failures > tolerance
    with _step():
        operation.ended = utcnow()
        if stopped:
            operation.status = "FAILED"
            operation.status_reason = "The Operation failed to complete because the failure tolerance " \
                "was exceeded."
        else:
            operation.status = "SUCCEEDED"


def _cancel(operation: Operation, batch: list[Instance]) -> None:
    with _step():
        for instance in batch:
            operation.results[(instance.account, instance.region)] = ("CANCELLED", CANCELLED_REASON)
            instance.detailed, instance.reason = "CANCELLED", CANCELLED_REASON


def _apply(stack_set: StackSet, operation: Operation, instance: Instance) -> bool:
    """One instance's part of the operation; True if it failed."""
    try:
        if operation.action == "DELETE":
            _delete_instance(stack_set, operation, instance)
        else:
            problem = _permission_problem(stack_set, instance.account)
            if problem:
                raise StackFailed(problem)
            _deploy_instance(stack_set, instance)
    except StackFailed as failure:
        with _step():
            operation.results[(instance.account, instance.region)] = ("FAILED", failure.reason)
            instance.detailed, instance.reason = "FAILED", failure.reason
            instance.status = "OUTDATED" if operation.action != "DELETE" else "INOPERABLE"
        return True
    with _step():
        operation.results[(instance.account, instance.region)] = ("SUCCEEDED", None)
        instance.detailed, instance.reason, instance.status = "SUCCEEDED", None, "CURRENT"
    return False


def _deploy_instance(stack_set: StackSet, instance: Instance) -> None:
    backend = cloudformation_backends[instance.account][instance.region]
    with _step():
        template = _parse_template(stack_set.template)
        inputs = {**stack_set.parameters, **instance.overrides}
        stack = instance.stack
        if stack is not None and stack.status in ("ROLLBACK_COMPLETE", "DELETE_COMPLETE"):
            # A first create that failed left a stack that can only be deleted; StackSets
            # deletes it and creates the instance anew.
            backend.stacks.pop(stack.stack_id, None)
            stack = None
        if stack is None:
            stack = EmulatedStack(backend, f"StackSet-{stack_set.name}-{uuid.UUID(int=mock_random.getrandbits(128))}")
            stack.tags = dict(stack_set.tags)
            backend.stacks[stack.stack_id] = stack
            _stack_event(stack, "REVIEW_IN_PROGRESS", "User Initiated")
            instance.stack = stack
        elif stack.template == stack_set.template and stack.inputs == inputs:
            return
        stack.capabilities = list(stack_set.capabilities)
        try:
            parameter_values(template, inputs, stack)
        except CloudFormationError as error:
            raise StackFailed(getattr(error, "message", str(error))) from None
    deployment = Deployment(backend, stack, stack_set.template, template, inputs, None)
    try:
        deployment.run()
    except StackFailed:
        raise StackFailed(_first_failure(stack)) from None
    deployment.finish()


def _first_failure(stack: EmulatedStack) -> str:
    """An instance's status reason: the first resource that failed, as StackSets words it."""
    for event in stack.events:
        if event["ResourceStatus"].endswith("_FAILED") and event["LogicalResourceId"] != stack.name:
            return (f"ResourceLogicalId:{event['LogicalResourceId']}, ResourceType:{event['ResourceType']}, "
                    f"ResourceStatusReason:{event.get('ResourceStatusReason', '')}.")
    return stack.status_reason or "Stack creation failed"


def _delete_instance(stack_set: StackSet, operation: Operation, instance: Instance) -> None:
    stack = instance.stack
    if not operation.retain_stacks and stack is not None and stack.status != "DELETE_COMPLETE":
        if not delete_stack_tree(stack):
            raise StackFailed(stack.status_reason or "Stack deletion failed")
    with _step():
        stack_set.instances.pop((instance.account, instance.region), None)


def _start(stack_set: StackSet, response: CloudFormationResponse, action: str,
           targets: list[Instance], retain_stacks: bool = False) -> ActionResult:
    operation = Operation(
        operation_id=response._get_param("OperationId") or str(uuid.UUID(int=mock_random.getrandbits(128))),
        action=action, preferences=response._get_param("OperationPreferences") or {},
        targets=targets, retain_stacks=retain_stacks,
    )
    for instance in targets:
        operation.results[(instance.account, instance.region)] = ("PENDING", None)
        if action != "DELETE":
            instance.status, instance.detailed = "OUTDATED", "PENDING"
    stack_set.operations.append(operation)
    _in_background(f"stack-set-{stack_set.name}-{action.lower()}", lambda: _run(stack_set, operation))
    return ActionResult({"OperationId": operation.operation_id})


def _targets(response: CloudFormationResponse, stack_set: StackSet) -> list[tuple[str, str | None]]:
    """(account, OU) pairs from Accounts or DeploymentTargets, checked against the model."""
    accounts = response._get_param("Accounts") or []
    deployment = response._get_param("DeploymentTargets") or {}
    units = deployment.get("OrganizationalUnitIds") or []
    accounts = accounts or deployment.get("Accounts") or []
    if stack_set.permission_model == "SERVICE_MANAGED":
        if not units:
            raise ValidationError(message="StackSets with SERVICE_MANAGED permission model can only have "
                                  "OrganizationalUnit as target")
        found: list[tuple[str, str | None]] = list(accounts_in(units, stack_set.account_id))
        if deployment.get("AccountFilterType") == "INTERSECTION":
            found = [(account, unit) for account, unit in found if account in accounts]
        return found
    if units:
        raise ValidationError(message="StackSets with SELF_MANAGED permission model can only have "
                              "accounts as target")
    if not accounts:
        raise ValidationError(message="Accounts or DeploymentTargets must be specified")
    return [(account, None) for account in accounts]


def _regions(response: CloudFormationResponse) -> list[str]:
    regions = response._get_param("Regions") or []
    if not regions:
        raise ValidationError(message="Regions must be specified")
    return list(regions)


# --- the API ---------------------------------------------------------------------------


def create_stack_set(self: CloudFormationResponse) -> ActionResult:
    import re

    backend = _backend(self)
    name = self._get_param("StackSetName")
    if not re.match(NAME_PATTERN, name or ""):
        raise ValidationError(message=f"1 validation error detected: Value '{name}' at 'stackSetName' "
                              f"failed to satisfy constraint: Member must satisfy regular expression "
                              f"pattern: {NAME_PATTERN[1:-1]}")
    if any(s.name == name and s.status != "DELETED" for s in _stack_sets(backend).values()):
        raise CloudFormationError("NameAlreadyExistsException", f"StackSet {name} already exists")
    body = _template(self, None)
    template = _parse_template(body)
    capabilities = self._get_param("Capabilities", []) or []
    emulator._check_capabilities(emulator._capabilities_needed([template], False), capabilities)
    model = self._get_param("PermissionModel") or "SELF_MANAGED"
    stack_set = StackSet(
        name=name, stack_set_id=f"{name}:{uuid.UUID(int=mock_random.getrandbits(128))}",
        account_id=backend.account_id, region=backend.region_name, template=body,
        parameters=_parameters(self._get_param("Parameters", []), {}), capabilities=list(capabilities),
        permission_model=model,
        administration_role_arn=self._get_param("AdministrationRoleARN") or
        f"arn:{PARTITION}:iam::{backend.account_id}:role/AWSCloudFormationStackSetAdministrationRole",
        execution_role_name=self._get_param("ExecutionRoleName") or "AWSCloudFormationStackSetExecutionRole",
        auto_deployment=self._get_param("AutoDeployment") or {"Enabled": False},
        description=self._get_param("Description"),
        tags={tag["Key"]: tag["Value"] for tag in self._get_param("Tags", []) or []},
    )
    if model == "SERVICE_MANAGED" and organization_of(backend.account_id) is None:
        raise ValidationError(message="StackSets with SERVICE_MANAGED permission model require AWS "
                              "Organizations with all features; this account is in none")
    _stack_sets(backend)[stack_set.stack_set_id] = stack_set
    return ActionResult({"StackSetId": stack_set.stack_set_id})


def update_stack_set(self: CloudFormationResponse) -> ActionResult:
    """Gap: moto changed the StackSet but no instance; here the instances named (all by
    default) are updated and the rest marked OUTDATED."""
    stack_set = _find(self)
    _check_idle(stack_set)
    body = _template(self, stack_set.template)
    template = _parse_template(body)
    capabilities = self._get_param("Capabilities", []) or []
    emulator._check_capabilities(emulator._capabilities_needed([template], False), capabilities)
    stack_set.template = body
    stack_set.parameters = _parameters(self._get_param("Parameters", []), stack_set.parameters)
    stack_set.capabilities = list(capabilities)
    if self._get_param("Tags"):
        stack_set.tags = {tag["Key"]: tag["Value"] for tag in self._get_param("Tags")}
    if self._get_param("AutoDeployment"):
        stack_set.auto_deployment = self._get_param("AutoDeployment")
    if self._get_param("Description") is not None:
        stack_set.description = self._get_param("Description")
    chosen = list(stack_set.instances.values())
    if self._get_param("Regions"):
        pairs = {(account, region) for account, _ in _targets(self, stack_set) for region in _regions(self)}
        for instance in chosen:
            if (instance.account, instance.region) not in pairs:
                instance.status = "OUTDATED"
        chosen = [i for i in chosen if (i.account, i.region) in pairs]
    return _start(stack_set, self, "UPDATE", chosen)


def delete_stack_set(self: CloudFormationResponse) -> ActionResult:
    stack_set = _find(self)
    _check_idle(stack_set)
    if stack_set.instances:
        raise CloudFormationError("StackSetNotEmptyException",
                                  "StackSet is not empty; delete its stack instances first")
    stack_set.status = "DELETED"
    return EmptyResult()


def describe_stack_set(self: CloudFormationResponse) -> ActionResult:
    return ActionResult({"StackSet": _find(self).describe()})


def list_stack_sets(self: CloudFormationResponse) -> ActionResult:
    wanted = self._get_param("Status")
    summaries = [{"StackSetName": s.name, "StackSetId": s.stack_set_id, "Status": s.status,
                  "PermissionModel": s.permission_model, "Description": s.description}
                 for s in _stack_sets(_backend(self)).values() if wanted in (None, s.status)]
    return ActionResult({"Summaries": [{k: v for k, v in each.items() if v is not None} for each in summaries]})


def create_stack_instances(self: CloudFormationResponse) -> ActionResult:
    """Creating an instance that exists is not an error: it is left as it is."""
    stack_set = _find(self)
    _check_idle(stack_set)
    overrides = _parameters(self._get_param("ParameterOverrides", []), {})
    targets = []
    for account, unit in _targets(self, stack_set):
        for region in _regions(self):
            if (account, region) in stack_set.instances:
                continue
            instance = Instance(account, region, dict(overrides), unit)
            stack_set.instances[(account, region)] = instance
            targets.append(instance)
    units = (self._get_param("DeploymentTargets") or {}).get("OrganizationalUnitIds") or []
    stack_set.organizational_units = sorted(set(stack_set.organizational_units) | set(units))
    return _start(stack_set, self, "CREATE", targets)


def update_stack_instances(self: CloudFormationResponse) -> ActionResult:
    stack_set = _find(self)
    _check_idle(stack_set)
    overrides = self._get_param("ParameterOverrides", []) or []
    targets = []
    for account, _ in _targets(self, stack_set):
        for region in _regions(self):
            instance = stack_set.instances.get((account, region))
            if instance is None:
                raise CloudFormationError("StackInstanceNotFoundException",
                                          f"Stack instance {account} {region} not found in StackSet "
                                          f"{stack_set.name}")
            # As in StackSets, an override not sent keeps its value.
            instance.overrides = {**instance.overrides, **_parameters(overrides, instance.overrides)}
            targets.append(instance)
    return _start(stack_set, self, "UPDATE", targets)


def delete_stack_instances(self: CloudFormationResponse) -> ActionResult:
    stack_set = _find(self)
    _check_idle(stack_set)
    if self._get_param("RetainStacks") is None:
        raise ValidationError(message="RetainStacks must be specified")
    targets = [stack_set.instances[(account, region)] for account, _ in _targets(self, stack_set)
               for region in _regions(self) if (account, region) in stack_set.instances]
    return _start(stack_set, self, "DELETE", targets, retain_stacks=self._get_bool_param("RetainStacks", False))


def list_stack_instances(self: CloudFormationResponse) -> ActionResult:
    stack_set = _find(self)
    summaries = [instance.summary(stack_set) for instance in stack_set.instances.values()]
    return ActionResult({"Summaries": summaries})


def describe_stack_instance(self: CloudFormationResponse) -> ActionResult:
    stack_set = _find(self)
    key = (self._get_param("StackInstanceAccount"), self._get_param("StackInstanceRegion"))
    instance = stack_set.instances.get(key)
    if instance is None:
        raise CloudFormationError("StackInstanceNotFoundException",
                                  f"Stack instance {key[0]} {key[1]} not found in StackSet {stack_set.name}")
    found = instance.summary(stack_set)
    found.pop("DriftStatus")
    found["ParameterOverrides"] = [{"ParameterKey": k, "ParameterValue": v} for k, v in instance.overrides.items()]
    return ActionResult({"StackInstance": found})


def _operation(self: CloudFormationResponse, stack_set: StackSet) -> Operation:
    wanted = self._get_param("OperationId")
    found = next((op for op in stack_set.operations if op.operation_id == wanted), None)
    if found is None:
        raise CloudFormationError("OperationNotFoundException", f"Operation {wanted} not found")
    return found


def describe_stack_set_operation(self: CloudFormationResponse) -> ActionResult:
    stack_set = _find(self)
    return ActionResult({"StackSetOperation": _operation(self, stack_set).describe(stack_set)})


def list_stack_set_operations(self: CloudFormationResponse) -> ActionResult:
    stack_set = _find(self)
    summaries = []
    for op in reversed(stack_set.operations):
        summary = {key: value for key, value in op.describe(stack_set).items()
                   if key in ("OperationId", "Action", "Status", "CreationTimestamp", "EndTimestamp",
                              "StatusReason", "StatusDetails", "OperationPreferences")}
        summaries.append(summary)
    return ActionResult({"Summaries": summaries})


def list_stack_set_operation_results(self: CloudFormationResponse) -> ActionResult:
    stack_set = _find(self)
    return ActionResult({"Summaries": _operation(self, stack_set).result_summaries()})


HANDLERS = (create_stack_set, update_stack_set, delete_stack_set, describe_stack_set, list_stack_sets,
            create_stack_instances, update_stack_instances, delete_stack_instances, list_stack_instances,
            describe_stack_instance, describe_stack_set_operation, list_stack_set_operations,
            list_stack_set_operation_results)


def install() -> None:
    for handler in HANDLERS:
        setattr(CloudFormationResponse, handler.__name__, handler)
