"""Text artefacts rendered with jinja2: each service's CodeBuild buildspec and GitHub workflow.

The templates are package data beside this module, read with
importlib.resources: reading the package's own resources is the one file
access a system makes, and it is part of the code, not of any input.
They use [[ ]] and [% %] as delimiters so GitHub's own ${{ }} expressions
pass through untouched.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

import jinja2

from tap.config.microservices import MicroservicesSettings, ServiceSettings
from tap.systems.microservices.ids import (
    pipelines_stack_name,
    service_prefix,
    services_stack_name,
)

WORKFLOWS_FOLDER = "workflows"


@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FunctionLoader(
            lambda name: resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
        ),
        variable_start_string="[[", variable_end_string="]]",
        block_start_string="[%", block_end_string="%]",
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    environment.filters["quote"] = json.dumps  # a YAML double-quoted scalar
    return environment


def render_buildspec(service: ServiceSettings) -> str:
    return _environment().get_template("buildspec.yml.j2").render(
        service=service.name, test_command=service.test_command
    )


def variable_names(settings: MicroservicesSettings, service: ServiceSettings) -> tuple[str, str]:
    """The repository variables the workflow reads: (role ARN, pipeline name)."""
    stem = f"{service.name}_{settings.env}".upper().replace("-", "_")
    return f"{stem}_DEPLOY_ROLE_ARN", f"{stem}_PIPELINE"


def render_workflow(settings: MicroservicesSettings, service: ServiceSettings) -> str:
    role_variable, pipeline_variable = variable_names(settings, service)
    shard = service.shard_index
    return _environment().get_template("workflow.yml.j2").render(
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
    )


def render_workflows(settings: MicroservicesSettings) -> dict[str, bytes]:
    """`workflows/<service>.yml` for every service, emitted beside the templates."""
    return {
        f"{WORKFLOWS_FOLDER}/{service.name}.yml": render_workflow(settings, service).encode("utf-8")
        for service in settings.services
    }
