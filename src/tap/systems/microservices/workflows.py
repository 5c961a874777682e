"""Each service's CodeBuild buildspec and GitHub workflows (deploy on push, test on pull
request), rendered by `tap.yamltext` from the templates beside this module (package
data: the one file access a system makes, part of the code, not an input). Actions are
pinned by commit SHA, the same pins as the CI deploy workflow (`tap.ci.ACTIONS`)."""

from __future__ import annotations

from tap import yamltext
from tap.ci import ACTIONS
from tap.config.microservices import MicroservicesSettings, ServiceSettings
from tap.systems.microservices.ids import (
    pipelines_stack_name,
    service_prefix,
    services_stack_name,
)
from tap.systems.microservices.placement import shard_of

WORKFLOWS_FOLDER = "workflows"
PULL_REQUESTS_FOLDER = "pull-requests"


def render_buildspec(service: ServiceSettings) -> str:
    return yamltext.environment(__package__).get_template("buildspec.yml.j2").render(
        service=service.name, test_command=service.test_command
    )


def variable_names(settings: MicroservicesSettings, service: ServiceSettings) -> tuple[str, str]:
    """The repository variables the workflow reads: (role ARN, pipeline name)."""
    stem = f"{service.name}_{settings.env}".upper().replace("-", "_")
    return f"{stem}_DEPLOY_ROLE_ARN", f"{stem}_PIPELINE"


def render_workflow(settings: MicroservicesSettings, service: ServiceSettings) -> str:
    role_variable, pipeline_variable = variable_names(settings, service)
    shard = shard_of(service)
    return yamltext.environment(__package__).get_template("workflow.yml.j2").render(
        service=service.name,
        env=settings.env,
        region=settings.region,
        repository=service.repository,
        branch=service.branch,
        prefix=service_prefix(service),
        stack=pipelines_stack_name(shard),
        stack_path=f"root > {services_stack_name(shard)} > {pipelines_stack_name(shard)}",
        role_variable=role_variable,
        pipeline_variable=pipeline_variable,
        actions=ACTIONS,
    )


def render_pull_request_workflow(settings: MicroservicesSettings, service: ServiceSettings) -> str:
    return yamltext.environment(__package__).get_template("pull_request.yml.j2").render(
        service=service.name,
        env=settings.env,
        repository=service.repository,
        branch=service.branch,
        test_command=service.test_command,
        timeout_minutes=settings.pipeline.build_timeout_minutes,
        actions=ACTIONS,
    )


def render_workflows(settings: MicroservicesSettings) -> dict[str, bytes]:
    """`workflows/<service>.yml` (deploy) and `workflows/pull-requests/<service>.yml` (test)
    for every service, emitted beside the templates."""
    files = {}
    for service in settings.services:
        files[f"{WORKFLOWS_FOLDER}/{service.name}.yml"] = render_workflow(settings, service).encode("utf-8")
        files[f"{WORKFLOWS_FOLDER}/{PULL_REQUESTS_FOLDER}/{service.name}.yml"] = \
            render_pull_request_workflow(settings, service).encode("utf-8")
    return files
