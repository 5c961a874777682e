"""Pipelines shard: per service, the CodeBuild project, the CodePipeline and the GitHub deploy role.

One `pipelines-NNN` stack is nested in each `services-NNN` shard and
holds the CI/CD of exactly the services of that shard, so it gets their
repositories, ECS services and task roles directly from its parent.

Per service:
- build: CodeBuild runs the service's tests, builds the image, tags it with
  the commit SHA ($CODEBUILD_RESOLVED_SOURCE_VERSION), pushes it to the
  service's own repository (the only one its role may push to) and writes
  imagedefinitions.json.
- pipeline: Source (GitHub connection, at the commit the workflow names) ->
  Build -> Deploy (ECS rolling update of the service, circuit breaker on).
  It does not watch the branch itself; the service's GitHub workflow
  starts it, so one push gives one run and GitHub shows the outcome.
- deploy role: GitHub Actions may assume it only from the service's
  repository and branch, and may only start and watch that pipeline.

Outputs `<Service>DeployRoleArn` and `<Service>PipelineName` are what the
workflow reads from repository variables (see workflows.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import Ref, Sub

from tap.blocks import actions
from tap.blocks.arns import arn
from tap.blocks.iam import BucketRef, RepositoryRef
from tap.blocks.pipelines import (
    EcsTarget,
    docker_build_project,
    ecs_deploy_pipeline,
    github_deploy_role,
    pipeline_arn,
)
from tap.cfnvalue import CfnValue
from tap.config.microservices import MicroservicesSettings, ServiceSettings
from tap.stacktree import Stack
from tap.systems.microservices.ids import (
    CONTAINER_NAME,
    pipelines_stack_name,
    service_prefix,
)
from tap.systems.microservices.workflows import render_buildspec
from tap.wiring import declare, publish, wire

REGISTRY = "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}"


@dataclass(frozen=True)
class PipelinesInputs:
    """What every pipeline of the shard uses."""

    artifacts_bucket_name: CfnValue = wire("Bucket holding pipeline artefacts.")
    connection_arn: CfnValue = wire("GitHub connection the pipelines read source from.")
    oidc_provider_arn: CfnValue = wire("GitHub Actions OIDC provider the deploy roles trust.")
    cluster_name: CfnValue = wire("ECS cluster of the services.")


@dataclass(frozen=True)
class DeployTarget:
    """One service as its pipeline sees it."""

    repository_name: CfnValue = wire("ECR repository the build pushes to.")
    service_name: CfnValue = wire("ECS service the pipeline deploys.")
    service_arn: CfnValue = wire("ARN of that ECS service.")
    task_role_arn: CfnValue = wire("Role the service's tasks run as (passed to ECS on deploy).")
    execution_role_arn: CfnValue = wire("Role ECS starts the tasks with (passed to ECS on deploy).")


@dataclass(frozen=True)
class ServicePipelineOutputs:
    """One service's pipeline, as its GitHub workflow needs it (repository variables)."""

    deploy_role_arn: CfnValue = wire("Role the {what} GitHub workflow assumes (repository variable).")
    pipeline_name: CfnValue = wire("Pipeline the {what} GitHub workflow starts (repository variable).")


def pipelines_stack(
    settings: MicroservicesSettings, shard: int, services: tuple[ServiceSettings, ...]
) -> Stack:
    """The shard's pipelines; parameters: PipelinesInputs, then DeployTarget per service,
    prefixed with the service's logical-id prefix."""
    stack = Stack(pipelines_stack_name(shard), f"tap microservices: pipelines of shard {shard}")
    shared = declare(stack, PipelinesInputs)
    artifacts = BucketRef(
        label="ArtifactsBucket",
        name=shared.artifacts_bucket_name,
        arn=arn("s3", "${Bucket}", region="", account="", Bucket=shared.artifacts_bucket_name),
    )
    for service in services:
        prefix = service_prefix(service)
        target = declare(stack, DeployTarget, prefix, what=service.name)
        add_service_pipeline(stack, settings, service, prefix, shared, target, artifacts)
    return stack


def add_service_pipeline(
    stack: Stack,
    settings: MicroservicesSettings,
    service: ServiceSettings,
    prefix: str,
    shared: PipelinesInputs,
    target: DeployTarget,
    artifacts: BucketRef,
) -> None:
    repository = RepositoryRef(
        label=f"{prefix}Repository",
        name=target.repository_name,
        arn=arn("ecr", "repository/${Name}", Name=target.repository_name),
    )
    build = docker_build_project(
        stack, f"{prefix}Build",
        description=f"tests, image build and push of {service.name}",
        buildspec=render_buildspec(service),
        repository=repository,
        artifacts=artifacts,
        image=settings.pipeline.build_image,
        compute_type=settings.pipeline.build_compute_type,
        timeout_minutes=settings.pipeline.build_timeout_minutes,
        log_retention_days=settings.pipeline.log_retention_days,
        environment={
            "REGISTRY": Sub(REGISTRY),
            "REPOSITORY_URI": Sub(f"{REGISTRY}/${{Name}}", Name=target.repository_name),
            "CONTAINER_NAME": CONTAINER_NAME,
        },
    )
    pipeline = ecs_deploy_pipeline(
        stack, f"{prefix}Pipeline",
        description=f"pipeline of {service.name}",
        connection_arn=shared.connection_arn,
        repository=service.repository,
        branch=service.branch,
        build=build,
        artifacts=artifacts,
        target=EcsTarget(
            cluster_name=shared.cluster_name,
            service_name=target.service_name,
            service_arn=target.service_arn,
            task_role_arns=[target.task_role_arn, target.execution_role_arn],
        ),
    )
    deploy = github_deploy_role(
        stack, f"{prefix}DeployRole",
        provider_arn=shared.oidc_provider_arn,
        repository=service.repository,
        branch=service.branch,
        description=f"GitHub Actions in {service.repository}@{service.branch} start the "
        f"{service.name} pipeline",
    )
    deploy.allow("StartPipeline", actions.PIPELINE_START, [pipeline_arn(pipeline)])
    publish(stack, ServicePipelineOutputs(deploy_role_arn=deploy.arn, pipeline_name=Ref(pipeline)),
            prefix, what=service.name)
