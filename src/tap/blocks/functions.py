"""Python Lambda functions from `functions/<name>/`, with their own role and log group.

Each function gets a dedicated role trusted only by Lambda, allowed to
write only to its own log group (created before the function, so Lambda
never has to create it and no `logs:CreateLogGroup` is granted), JSON
logs, X-Ray active tracing and code fetched from the artefact bucket by
the content-hashed key of its zip. Callers add grants on `function.role`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from troposphere import GetAtt, Ref, awslambda

from tap.blocks.iam import Role, grant_tracing, grant_write, service_trust
from tap.blocks.lifecycle import suppress
from tap.blocks.logs import LogGroup, log_group
from tap.cfnvalue import CfnValue
from tap.package import FunctionPackage
from tap.stacktree import Stack

PYTHON_RUNTIME = "python3.13"


class FunctionLoggingConfig(awslambda.LoggingConfig):
    """AWS::Lambda::Function LoggingConfig. troposphere 4.11.1 generates the class
    from another resource type's property of the same name, which lacks LogFormat."""

    props = {**awslambda.LoggingConfig.props, "LogFormat": (str, False)}


@dataclass(frozen=True)
class PythonFunction:
    resource: awslambda.Function
    role: Role
    log_group: LogGroup

    @property
    def arn(self) -> GetAtt:
        return GetAtt(self.resource, "Arn")

    @property
    def name(self) -> Ref:
        return Ref(self.resource)


def function_code(stack: Stack, package: FunctionPackage) -> awslambda.Code:
    """Code from the artefact bucket, under the key that carries the zip's sha256."""
    bucket, key = stack.upload(package)
    return awslambda.Code(S3Bucket=bucket, S3Key=key)


def python_function(
    stack: Stack,
    logical_id: str,
    package: FunctionPackage,
    *,
    description: str,
    log_retention_days: int,
    handler: str = "handler.handler",
    memory_mb: int = 256,
    timeout_seconds: int = 10,
    environment: Mapping[str, CfnValue] | None = None,
    reserved_concurrency: int | None = None,
) -> PythonFunction:
    """A regional Python function; `environment` must hold no secrets (pass ARNs instead)."""
    logs = log_group(stack, f"{logical_id}LogGroup", log_retention_days)
    role = Role(
        stack,
        f"{logical_id}Role",
        service_trust("lambda.amazonaws.com"),
        f"Execution role of the {package.name} function",
    )
    grant_write(role, logs.ref)
    grant_tracing(role)
    function = awslambda.Function(
        logical_id,
        Description=description,
        Code=function_code(stack, package),
        Handler=handler,
        Runtime=PYTHON_RUNTIME,
        Architectures=["arm64"],
        MemorySize=memory_mb,
        Timeout=timeout_seconds,
        Role=role.arn,
        TracingConfig=awslambda.TracingConfig(Mode="Active"),
        LoggingConfig=FunctionLoggingConfig(LogFormat="JSON", LogGroup=logs.ref.name),
    )
    if environment:
        function.Environment = awslambda.Environment(Variables=dict(sorted(environment.items())))
    if reserved_concurrency is not None:
        function.ReservedConcurrentExecutions = reserved_concurrency
    suppress(
        function,
        CKV_AWS_116="Invoked synchronously (API Gateway proxy integrations); callers see failures, "
        "so there is no asynchronous event to dead-letter.",
        CKV_AWS_117="Talks only to AWS APIs over TLS; a VPC would add NAT cost and cold-start "
        "latency without reaching anything private.",
        CKV_AWS_173="Environment holds only resource names and settings, never secrets; "
        "secrets are read from Secrets Manager at run time.",
    )
    if reserved_concurrency is None:
        suppress(
            function,
            CKV_AWS_115="Concurrency is bounded upstream by API Gateway throttling and usage "
            "plans; reserving it here would cap the account pool for no gain.",
        )
    stack.add(function)
    return PythonFunction(resource=function, role=role, log_group=logs)
