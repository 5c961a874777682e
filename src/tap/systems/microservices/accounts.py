"""Settings that name a resource of one account, taken by the root as parameters.

A certificate, web ACL, connection or secret ARN written into a template would tie
the template to the account that owns the resource, and a StackSet or a console user
deploying it elsewhere would get that account's ARN. So each such setting is a root
parameter instead: no default, the setting's own rule as AllowedPattern, declared
only when the config sets it (whether it exists is build-time structure, its value
is not). The config's value is recorded in the manifest, and `./deploy.sh` passes it
unless a parameter file or `--parameter` says otherwise.

Parameters are named after the setting (`cdn.web_acl_arn` -> `CdnWebAclArn`) and
reach the stacks that use them under the same name, through `tap.wiring`: a stack
reads the fields of `AccountInputs` it needs, and the root passes `AccountValues`
to every child (a child that reads a setting the config leaves out fails the build). A service's
secret given as an ARN is `<Service><Variable>SecretArn` (secrets.STRIPE_KEY of service
orders -> `OrdersStripeKeySecretArn`), declared by the service's shard.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from troposphere import Ref

from tap.cfnvalue import CfnValue
from tap.config import checks
from tap.config.microservices import (
    MicroservicesSettings,
    ServiceSettings,
    secret_kind,
)
from tap.errors import UserError
from tap.stacktree import Stack
from tap.systems.microservices.ids import service_prefix
from tap.wiring import parameter_name, wire


@dataclass(frozen=True)
class AccountInputs:
    """The platform-wide settings that name a resource of one account."""

    load_balancer_certificate_arn: CfnValue = wire(
        "ACM certificate of the load balancer's HTTPS listener (config: "
        "load_balancer.certificate_arn)."
    )
    cdn_certificate_arn: CfnValue = wire(
        "ACM certificate in us-east-1 covering the distribution's aliases (config: "
        "cdn.certificate_arn)."
    )
    cdn_web_acl_arn: CfnValue = wire(
        "CLOUDFRONT-scope WAF web ACL of the distribution (config: cdn.web_acl_arn)."
    )
    pipeline_connection_arn: CfnValue = wire(
        "GitHub connection the pipelines read source from (config: pipeline.connection_arn)."
    )


def _configured(settings: MicroservicesSettings) -> dict[str, tuple[str | None, checks.Pattern]]:
    """Each AccountInputs field: the config's value (None when not set) and its rule."""
    return {
        "load_balancer_certificate_arn": (
            settings.load_balancer.certificate_arn, checks.acm_certificate_arn),
        "cdn_certificate_arn": (settings.cdn.certificate_arn, checks.cloudfront_certificate_arn),
        "cdn_web_acl_arn": (settings.cdn.web_acl_arn, checks.cloudfront_web_acl_arn),
        "pipeline_connection_arn": (settings.pipeline.connection_arn, checks.connection_arn),
    }


def secret_arn_parameter(service: ServiceSettings, variable: str) -> str:
    """The parameter carrying the secret ARN of one of the service's variables."""
    return f"{service_prefix(service)}{parameter_name(variable.lower())}SecretArn"


def secret_arns(service: ServiceSettings) -> dict[str, tuple[str, str]]:
    """The service's secrets given as ARNs: parameter name -> (variable, ARN)."""
    found: dict[str, tuple[str, str]] = {}
    for variable, reference in sorted(service.secrets.items()):
        if secret_kind(reference) != "arn":
            continue
        name = secret_arn_parameter(service, variable)
        if name in found:
            raise UserError(
                f"service {service.name!r}: secrets.{found[name][0]} and secrets.{variable} would "
                f"both be passed as parameter {name}; allowed: secret variable names that differ "
                "in more than letter case and '_'"
            )
        found[name] = (variable, reference)
    return found


@dataclass(frozen=True)
class AccountValues:
    """The root's configured parameters, as the root passes them to its children."""

    inputs: AccountInputs
    secrets: Mapping[str, Any]  # secret_arn_parameter(...) -> Ref to the root parameter

    def __iter__(self):
        """Both, as `Stack.nest` takes them: `root.nest(child, *accounts)`."""
        return iter((self.inputs, self.secrets))


def account_values(root: Stack, settings: MicroservicesSettings) -> AccountValues:
    """Declare a root parameter for every account-specific setting the config sets."""
    values: dict[str, Any] = {}
    for field in dataclasses.fields(AccountInputs):
        value, rule = _configured(settings)[field.name]
        values[field.name] = None if value is None else Ref(root.configured_parameter(
            parameter_name(field.name), value, field.metadata["doc"], rule))
    secrets = {}
    for service in settings.services:
        for name, (variable, arn) in secret_arns(service).items():
            secrets[name] = Ref(root.configured_parameter(
                name, arn, f"Secret the {variable} variable of service {service.name} reads "
                f"(config: that service's secrets.{variable}).", checks.secret_arn))
    return AccountValues(AccountInputs(**values), secrets)
