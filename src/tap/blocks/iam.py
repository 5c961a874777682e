"""IAM roles whose permissions are granted by intent, written with awacs.

A `Role` collects statements from grant helpers (`grant_read(role, table)`)
and writes them as one inline policy when the stack renders, so callers
never assemble policy JSON. Grants are scoped to the resources passed in;
the only `Resource: "*"` is X-Ray's, which has no resource-level permissions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import singledispatch
from typing import Any

from awacs import sts
from awacs.aws import (
    Action,
    Allow,
    Condition,
    Policy,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
)
from troposphere import GetAtt, Join, Ref, iam

from tap.blocks import actions
from tap.cfnvalue import CfnValue
from tap.stacktree import Stack

_SID = re.compile(r"[A-Za-z0-9]+")


# --- handles on resources, possibly living in another nested stack -------


@dataclass(frozen=True)
class BucketRef:
    label: str
    name: CfnValue
    arn: CfnValue

    @property
    def objects_arn(self) -> Join:
        return Join("", [self.arn, "/*"])


@dataclass(frozen=True)
class TableRef:
    label: str
    name: CfnValue
    arn: CfnValue

    @property
    def indexes_arn(self) -> Join:
        return Join("", [self.arn, "/index/*"])


@dataclass(frozen=True)
class SecretRef:
    label: str
    arn: CfnValue


@dataclass(frozen=True)
class LogGroupRef:
    label: str
    name: CfnValue
    arn: CfnValue  # GetAtt LogGroup.Arn, which ends in ":*" and so covers its streams


# --- roles -----------------------------------------------------------------


def service_trust(service: str) -> Policy:
    """A trust policy letting `service` (e.g. "vpc-flow-logs.amazonaws.com") assume the role
    on behalf of this account only: aws:SourceAccount stops the confused deputy (another
    account's resource of that service being pointed at this role). Every service that
    assumes our roles sets the key (see SOURCE_KEYS_UNSUPPORTED for the one that does not)."""
    return Policy(
        Version="2012-10-17",
        Statement=[
            Statement(
                Effect=Allow,
                Principal=Principal("Service", [service]),
                Action=[sts.AssumeRole],
                Condition=Condition(StringEquals("aws:SourceAccount", Ref("AWS::AccountId"))),
            )
        ],
    )


# Service principals that assume roles without aws:SourceAccount or aws:SourceArn in the
# request, so a trust conditioned on them could never be assumed. The project's lint rule
# (tap.lintrules.service_trust) accepts an unconditioned trust only for these.
SOURCE_KEYS_UNSUPPORTED = {
    "edgelambda.amazonaws.com": (
        "Lambda@Edge runs replicas of the function in every edge region; its documented "
        "execution-role trust (lambda and edgelambda) carries no source condition and "
        "AWS documents neither key for edgelambda, so a condition could stop the replicas "
        "from assuming the role."
    ),
}


class Role:
    """An IAM role plus the statements granted to it so far."""

    def __init__(self, stack: Stack, logical_id: str, trust: Policy, description: str):
        self.resource = stack.add(
            iam.Role(logical_id, AssumeRolePolicyDocument=trust, Description=description)
        )
        self.statements: dict[str, Statement] = {}
        stack.before_render(self._write_policy)

    @property
    def arn(self) -> GetAtt:
        return GetAtt(self.resource, "Arn")

    @property
    def name(self) -> Ref:
        return Ref(self.resource)

    def allow(
        self,
        sid: str,
        allowed: tuple[Action, ...] | list[Action],
        resources: list[CfnValue],
        condition: Condition | None = None,
    ) -> None:
        """Allow `allowed` on `resources`; each statement id may be used once."""
        if not _SID.fullmatch(sid):
            raise ValueError(f"statement id {sid!r} must be letters and digits")
        if sid in self.statements:
            raise ValueError(f"role {self.resource.title} already has a statement {sid!r}")
        if not resources:
            raise ValueError(f"statement {sid!r} names no resources")
        statement = Statement(Sid=sid, Effect=Allow, Action=list(allowed), Resource=list(resources))
        if condition is not None:
            statement.Condition = condition
        self.statements[sid] = statement

    def _write_policy(self) -> None:
        if self.statements:
            self.resource.Policies = [
                iam.Policy(
                    PolicyName="least-privilege",
                    PolicyDocument=PolicyDocument(
                        Version="2012-10-17", Statement=list(self.statements.values())
                    ),
                )
            ]


# --- grants ----------------------------------------------------------------


def grant_read(role: Role, target: Any) -> None:
    """Allow `role` to read `target` (a bucket's objects, a table and its indexes, a secret)."""
    _grant_read(target, role)


def grant_write(role: Role, target: Any) -> None:
    """Allow `role` to write `target` (a bucket's objects, a table's items, a log group)."""
    _grant_write(target, role)


def grant_read_write(role: Role, target: Any) -> None:
    grant_read(role, target)
    grant_write(role, target)


@singledispatch
def _grant_read(target: Any, role: Role) -> None:
    raise TypeError(f"no read grant for {type(target).__name__}")


@singledispatch
def _grant_write(target: Any, role: Role) -> None:
    raise TypeError(f"no write grant for {type(target).__name__}")


@_grant_read.register
def _(bucket: BucketRef, role: Role) -> None:
    role.allow(f"Read{bucket.label}", actions.S3_READ, [bucket.objects_arn])


@_grant_write.register
def _(bucket: BucketRef, role: Role) -> None:
    role.allow(f"Write{bucket.label}", actions.S3_WRITE, [bucket.objects_arn])


@_grant_read.register
def _(table: TableRef, role: Role) -> None:
    role.allow(f"Read{table.label}", actions.DYNAMODB_READ, [table.arn, table.indexes_arn])


@_grant_write.register
def _(table: TableRef, role: Role) -> None:
    role.allow(f"Write{table.label}", actions.DYNAMODB_WRITE, [table.arn])


@_grant_read.register
def _(secret: SecretRef, role: Role) -> None:
    role.allow(f"Read{secret.label}", actions.SECRET_READ, [secret.arn])


@_grant_write.register
def _(log_group: LogGroupRef, role: Role) -> None:
    role.allow(f"Write{log_group.label}", actions.LOGS_WRITE, [log_group.arn])


def grant_tracing(role: Role) -> None:
    """Let the role send X-Ray traces (X-Ray accepts only Resource "*")."""
    role.allow("WriteTraces", actions.XRAY_WRITE, ["*"])


# --- containers and CI/CD (microservices) ------------------------------------



@dataclass(frozen=True)
class RepositoryRef:
    """An ECR repository: `grant_read` pulls images, `grant_write` pushes them."""

    label: str
    name: CfnValue
    arn: CfnValue


@_grant_read.register
def _(repository: RepositoryRef, role: Role) -> None:
    grant_ecr_login(role)
    role.allow(f"Pull{repository.label}", actions.ECR_PULL, [repository.arn])


@_grant_write.register
def _(repository: RepositoryRef, role: Role) -> None:
    grant_ecr_login(role)
    role.allow(f"Push{repository.label}", actions.ECR_PUSH, [repository.arn])


def grant_ecr_login(role: Role) -> None:
    """Let the role get a registry token (ecr:GetAuthorizationToken accepts only "*")."""
    if "AuthorizeEcr" not in role.statements:
        role.allow("AuthorizeEcr", actions.ECR_AUTHORIZE, ["*"])


def grant_pass_role(role: Role, passed: list[CfnValue], service: str) -> None:
    """Let the role hand the `passed` role ARNs to `service` (such as ecs-tasks.amazonaws.com)
    and to nothing else."""
    role.allow(
        "PassRoles", actions.IAM_PASS_ROLE, passed,
        Condition(StringEquals("iam:PassedToService", service)),
    )
