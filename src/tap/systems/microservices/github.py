"""The `pipeline` stack: the GitHub side every service's pipeline shares.

- the GitHub connection (CodeConnections). CloudFormation creates it
  PENDING: complete it once in the console (Developer Tools > Settings >
  Connections > Update pending connection) before the first pipeline run.
  Or pass an existing one (pipeline.connection_arn, which the root takes as its
  PipelineConnectionArn parameter).
- the account's GitHub OIDC provider, which the per-service deploy roles
  trust. An account holds one provider per URL, so where it already exists
  set pipeline.create_oidc_provider = false and the roles trust that one.

The per-service pipelines live in the `pipelines-NNN` stacks, nested in
each service shard.
"""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import GetAtt, Ref

from tap.blocks.pipelines import (
    existing_github_oidc_provider_arn,
    github_connection,
    github_oidc_provider,
)
from tap.cfnvalue import CfnValue
from tap.config.microservices import MicroservicesSettings
from tap.stacktree import NestedStack, Stack
from tap.systems.microservices.accounts import AccountInputs
from tap.wiring import publish, wire


@dataclass(frozen=True)
class GitHubAccess:
    """The connection and OIDC provider ARNs as the root sees them."""

    connection_arn: CfnValue
    oidc_provider_arn: CfnValue


@dataclass(frozen=True)
class GitHubOutputs:
    connection_arn: CfnValue = wire("GitHub connection of every pipeline: complete it once in the console.")
    oidc_provider_arn: CfnValue = wire("GitHub Actions identity provider.")


def pipeline_stack(settings: MicroservicesSettings) -> Stack | None:
    """The stack, or None when both the connection and the provider already exist."""
    pipeline = settings.pipeline
    if pipeline.connection_arn is not None and not pipeline.create_oidc_provider:
        return None
    stack = Stack("pipeline", "tap microservices: GitHub connection and OIDC provider")
    connection = None
    if pipeline.connection_arn is None:
        name = pipeline.connection_name or f"tap-{settings.env}-github"
        connection = github_connection(stack, "GitHubConnection", name)
    provider = github_oidc_provider(stack, "GitHubOidcProvider") if pipeline.create_oidc_provider else None
    publish(stack, GitHubOutputs(
        connection_arn=None if connection is None else GetAtt(connection, "ConnectionArn"),
        oidc_provider_arn=None if provider is None else Ref(provider),
    ))
    return stack


def github_access(
    settings: MicroservicesSettings, nested: NestedStack | None, accounts: AccountInputs
) -> GitHubAccess:
    """The connection is the one this stack creates, or the configured one (a root
    parameter: its ARN names an account)."""
    pipeline = settings.pipeline
    created = None if nested is None else nested.outputs(GitHubOutputs)
    return GitHubAccess(
        connection_arn=(
            accounts.pipeline_connection_arn if created is None or pipeline.connection_arn is not None
            else created.connection_arn
        ),
        oidc_provider_arn=(
            created.oidc_provider_arn if created is not None and pipeline.create_oidc_provider
            else existing_github_oidc_provider_arn()
        ),
    )
