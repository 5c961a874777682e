"""The image each service runs after this deploy: the one running now or a newer one.

A service's pipeline deploys images outside CloudFormation, so the templates cannot
know what runs. Where a template takes a container's image tag as a parameter that
the root fills from one element of a list parameter (`Fn::Select [i, Ref List]`),
the deploy passes that list itself: per service, among the tag running now and the
template's default (the config's `image_tag`), the one pushed last that its
repository holds; the template's no-image tag when it holds neither, which runs no
task. A stack update therefore never takes a service back to an older image than
the one it runs, and a first deploy never waits for an image nobody has pushed.
A list given with `--parameter` or in the parameters file is passed as given (the
pre-flight then checks that its images exist).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import botocore.exceptions

from tap.deploy.aws import Aws
from tap.deploy.parameters import Value
from tap.deploy.stacks import DeployedStack, Path

_TAG_VARIABLE = re.compile(r"\$\{([A-Za-z0-9]+)\}")
Templates = Mapping[Path, dict[str, Any]]


@dataclass(frozen=True)
class ImageSlot:
    """One service whose image tag arrives as element `index` of root list `list_name`."""

    path: Path  # the stack holding the service
    service_id: str
    repository_id: str
    list_name: str
    index: int
    no_image: str  # the tag that means "none yet": its HasImage condition compares with it


def slots(templates: Templates) -> Iterator[ImageSlot]:
    """Every service in `templates` whose image tag the root passes from a list."""
    root = templates.get((), {})
    for path, template in templates.items():
        if len(path) != 1:
            continue  # the root passes lists to its children only
        passed = root.get("Resources", {}).get(path[0], {}).get("Properties", {}).get("Parameters", {})
        resources = template.get("Resources", {})
        for service_id, resource in resources.items():
            if resource["Type"] != "AWS::ECS::Service":
                continue
            found = _image_parameter(resources, resource)
            if found is None:
                continue
            repository_id, parameter = found
            select = passed.get(parameter, {}).get("Fn::Select") if isinstance(passed.get(parameter), dict) else None
            if not (isinstance(select, list) and isinstance(select[1], dict) and "Ref" in select[1]):
                continue
            yield ImageSlot(path, service_id, repository_id, select[1]["Ref"], int(select[0]),
                            _no_image_tag(template, parameter))


def _image_parameter(resources: Mapping[str, Any], service: dict[str, Any]) -> tuple[str, str] | None:
    """(repository logical id, tag parameter) of a `${Repository}:${Parameter}` image."""
    task = service.get("Properties", {}).get("TaskDefinition", {})
    definition = resources.get(task.get("Ref", "")) if isinstance(task, dict) else None
    for container in (definition or {}).get("Properties", {}).get("ContainerDefinitions", []):
        sub = container.get("Image", {}).get("Fn::Sub") if isinstance(container.get("Image"), dict) else None
        if not (isinstance(sub, list) and sub[0].startswith("${Repository}:")):
            continue
        tag = _TAG_VARIABLE.fullmatch(sub[0].split(":", 1)[1])
        source = sub[1].get("Repository", {}).get("Fn::GetAtt", [None])[0]
        if tag and source in resources and resources[source]["Type"] == "AWS::ECR::Repository":
            return source, tag.group(1)
    return None


def _no_image_tag(template: dict[str, Any], parameter: str) -> str:
    """The tag the template's conditions treat as "no image": `Not(Equals(Ref p, tag))`."""
    for condition in template.get("Conditions", {}).values():
        equals = condition.get("Fn::Not", [{}])[0].get("Fn::Equals") if isinstance(condition, dict) else None
        if isinstance(equals, list) and equals[0] == {"Ref": parameter}:
            return equals[1]
    raise ValueError(f"no condition of the template compares {parameter} with a no-image tag")


@dataclass(frozen=True)
class Choice:
    slot: ImageSlot
    tag: str
    why: str  # "running", "config", "newer in config", "none"


def choose(aws: Aws, templates: Templates, deployed: Mapping[Path, DeployedStack]) -> list[Choice]:
    """The tag each slot gets (see the module docstring)."""
    ecr, ecs = aws.client("ecr"), aws.client("ecs")
    choices = []
    for slot in slots(templates):
        configured = _default(templates[()], slot)
        stack = deployed.get(slot.path)
        repository = stack.physical_id(slot.repository_id) if stack else None
        if stack is None or repository is None:  # created by this deploy: empty
            choices.append(Choice(slot, slot.no_image, "none"))
            continue
        service_arn = stack.physical_id(slot.service_id)
        running = _running_tag(ecs, service_arn) if service_arn else None
        candidates = {tag for tag in (running, configured) if tag is not None and tag != slot.no_image}
        pushed = {tag: when for tag in candidates if (when := _pushed_at(ecr, repository, tag)) is not None}
        if not pushed:
            choices.append(Choice(slot, slot.no_image, "none"))
            continue
        newest = max(pushed, key=lambda tag: (pushed[tag], tag == running))
        why = "running" if newest == running else ("newer in config" if running in pushed else "config")
        choices.append(Choice(slot, newest, why))
    return choices


def _default(root: dict[str, Any], slot: ImageSlot) -> str | None:
    default = root.get("Parameters", {}).get(slot.list_name, {}).get("Default")
    elements = default.split(",") if isinstance(default, str) else []
    return elements[slot.index] if slot.index < len(elements) else None


def _running_tag(ecs: Any, service_arn: str) -> str | None:
    """The tag of the image the service's current task definition names."""
    cluster = service_arn.split(":service/", 1)[-1].split("/")[0] if ":service/" in service_arn else None
    if cluster is None or cluster == service_arn.split(":service/", 1)[-1]:
        return None  # an old-format ARN without the cluster: nothing to ask
    services = ecs.describe_services(cluster=cluster, services=[service_arn]).get("services", [])
    if not services or services[0].get("status") == "INACTIVE":
        return None
    definition = ecs.describe_task_definition(taskDefinition=services[0]["taskDefinition"])["taskDefinition"]
    for container in definition.get("containerDefinitions", []):
        image = container.get("image", "")
        name = image.rsplit("/", 1)[-1]
        if ":" in name and "@" not in name:
            return name.split(":", 1)[1]
    return None


def _pushed_at(ecr: Any, repository: str, tag: str) -> Any:
    """When `tag` was pushed to `repository`; None when it does not hold it."""
    try:
        (image,) = ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])["imageDetails"]
    except botocore.exceptions.ClientError as error:
        if error.response["Error"]["Code"] in ("ImageNotFoundException", "RepositoryNotFoundException"):
            return None
        raise
    return image["imagePushedAt"]


def with_chosen_images(aws: Aws, templates: Templates, deployed: Mapping[Path, DeployedStack],
                       values: list[Value]) -> list[Value]:
    """`values` plus each image-tag list the deploy decides (lists given explicitly stay)."""
    given = {value.name for value in values}
    chosen = choose(aws, templates, deployed)
    lists: dict[str, list[Choice]] = {}
    for choice in chosen:
        if choice.slot.list_name not in given:
            lists.setdefault(choice.slot.list_name, []).append(choice)
    added = []
    for name, choices in sorted(lists.items()):
        tags = templates[()]["Parameters"][name]["Default"].split(",")
        for choice in choices:
            tags[choice.slot.index] = choice.tag
        added.append(Value(name, ",".join(tags), _summary(choices)))
    return sorted([*values, *added], key=lambda value: value.name)


def _summary(choices: list[Choice]) -> str:
    counts = {why: sum(choice.why == why for choice in choices)
              for why in ("running", "newer in config", "config", "none")}
    words = {"running": "running now", "newer in config": "newer in the config",
             "config": "from the config", "none": "not pushed yet, no task"}
    return "images: " + ", ".join(f"{count} {words[why]}" for why, count in counts.items() if count)
