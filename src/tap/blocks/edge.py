"""Lambda@Edge functions, replicated from us-east-1 to CloudFront's edge regions.

What Lambda@Edge demands, enforced here rather than remembered at call sites:
- no environment variables: configuration is rendered into the package;
- x86_64 only, no X-Ray, no custom log group;
- viewer triggers: at most 128 MB, 5 s and a 1 MB zip (origin triggers: 10,240 MB, 30 s, 50 MB);
- a role trusted by both `lambda` and `edgelambda`;
- logs land in `/aws/lambda/us-east-1.<name>` in whichever region ran the replica, so the
  role may create and write that one log group name in every region (no other group);
- CloudFront needs a numbered version: `AWS::Lambda::Version` whose logical id carries a hash
  of the code and configuration, so any change publishes a new version and CloudFront
  re-associates; old versions and the function are retained, because replicas keep them
  undeletable for hours and a failed delete would wedge the stack.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Literal

from awacs.aws import Allow, PolicyDocument, Statement
from awacs.helpers.trust import get_lambda_edge_assumerole_policy
from troposphere import Ref, Sub, awslambda, iam

from tap.blocks import actions
from tap.blocks.arns import arn
from tap.blocks.functions import PYTHON_RUNTIME, function_code
from tap.blocks.iam import Role
from tap.blocks.lifecycle import retain, suppress
from tap.blocks.logs import LogGroup, log_group
from tap.package import FunctionPackage
from tap.stacktree import Stack

Trigger = Literal["viewer-request", "viewer-response", "origin-request", "origin-response"]

# (memory MB, timeout s, zip bytes) per trigger kind, from the Lambda@Edge quotas.
_LIMITS = {"viewer": (128, 5, 1_048_576), "origin": (10_240, 30, 52_428_800)}


@dataclass(frozen=True)
class EdgeFunction:
    resource: awslambda.Function
    role: Role
    version: awslambda.Version
    log_group: LogGroup

    @property
    def version_arn(self) -> Ref:
        """The numbered version's ARN, which is what CloudFront associates."""
        return Ref(self.version)

    @property
    def name(self) -> Ref:
        return Ref(self.resource)


def check_limits(package: FunctionPackage, trigger: Trigger, memory_mb: int, timeout_seconds: int) -> None:
    memory_limit, timeout_limit, size_limit = _LIMITS[trigger.split("-")[0]]
    problems = []
    if memory_mb > memory_limit:
        problems.append(f"memory {memory_mb} MB > {memory_limit} MB")
    if timeout_seconds > timeout_limit:
        problems.append(f"timeout {timeout_seconds} s > {timeout_limit} s")
    if len(package.data) > size_limit:
        problems.append(f"package {len(package.data):,} bytes > {size_limit:,} bytes")
    if problems:
        raise ValueError(f"{package.name} breaks Lambda@Edge {trigger} limits: " + "; ".join(problems))


def version_hash(package: FunctionPackage, configuration: dict) -> str:
    """What a published version freezes: the code and the function configuration."""
    material = json.dumps({"code": package.sha256, **configuration}, sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def edge_function(
    stack: Stack,
    logical_id: str,
    package: FunctionPackage,
    *,
    description: str,
    log_retention_days: int,
    trigger: Trigger = "viewer-request",
    memory_mb: int = 128,
    timeout_seconds: int = 5,
    handler: str = "handler.handler",
) -> EdgeFunction:
    """A Python Lambda@Edge function and its numbered version (see the module docstring)."""
    check_limits(package, trigger, memory_mb, timeout_seconds)
    role = Role(
        stack, f"{logical_id}Role", get_lambda_edge_assumerole_policy(),
        f"Execution role of the {package.name} Lambda@Edge function",
    )
    configuration = {
        "Architectures": ["x86_64"],
        "Handler": handler,
        "MemorySize": memory_mb,
        "Runtime": PYTHON_RUNTIME,
        "Timeout": timeout_seconds,
    }
    function = awslambda.Function(
        logical_id,
        Description=description,
        Code=function_code(stack, package),
        Role=role.arn,
        **configuration,
    )
    suppress(
        function,
        CKV_AWS_115="Lambda@Edge does not support reserved concurrency.",
        CKV_AWS_116="Viewer-request triggers are synchronous; there is no event to dead-letter.",
        CKV_AWS_117="Lambda@Edge cannot run in a VPC.",
    )
    retain(stack.add(function))
    replica_logs = _add_log_permissions(stack, logical_id, function, role)
    logs = log_group(
        stack, f"{logical_id}LogGroup", log_retention_days,
        name=Sub("/aws/lambda/us-east-1.${Function}", Function=Ref(function)),
    )
    version = awslambda.Version(
        f"{logical_id}Version{version_hash(package, configuration)}",
        FunctionName=Ref(function),
        Description=f"{package.name} code sha256 {package.sha256}",
        DependsOn=[replica_logs.title],
    )
    retain(stack.add(version))
    return EdgeFunction(resource=function, role=role, version=version, log_group=logs)


def _add_log_permissions(
    stack: Stack, logical_id: str, function: awslambda.Function, role: Role
) -> iam.PolicyType:
    # A separate policy resource: the log group name contains the function's
    # name, and the function needs the role first, so an inline policy on the
    # role would be a circular dependency.
    replica_groups = arn(
        "logs", "log-group:/aws/lambda/us-east-1.${Function}:*", region="*", Function=Ref(function)
    )
    return stack.add(
        iam.PolicyType(
            f"{logical_id}LogPolicy",
            PolicyName="replica-logs",
            Roles=[role.name],
            PolicyDocument=PolicyDocument(
                Version="2012-10-17",
                Statement=[
                    Statement(
                        Sid="WriteReplicaLogs",
                        Effect=Allow,
                        Action=list(actions.LOGS_CREATE_AND_WRITE),
                        Resource=[replica_groups],
                    )
                ],
            ),
        )
    )

