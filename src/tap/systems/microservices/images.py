"""Which image each service runs: a deploy-time value, never only the config's.

The config's `image_tag` is where a service starts, not what it must run: the
service's pipeline deploys newer images outside CloudFormation, and an ECR
repository the stack creates is empty on a fresh account. So the image tag is
a parameter of the service's shard (`<Service>ImageTag`), and the root takes
one `Services<NNN>ImageTags` list per shard (a root parameter per service
would cross the 200-parameter quota long before 1,000 services) whose
default is the config's tags. `./deploy.sh` passes, per service, the newest
pushed of the image running now and the config's, among those its repository
holds; `no-image-yet` when it holds neither.

A service whose tag is `no-image-yet` runs no task and has no autoscaling
(its `<Service>HasImage` condition is false), so a first deploy never waits
for an image nobody has pushed, and a later update never rolls a service
back to an image older than the one it runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from troposphere import Equals, If, Not, Ref, Select

from tap.cfnvalue import CfnValue
from tap.config.microservices import NO_IMAGE, ServiceSettings
from tap.errors import BuildError
from tap.stacktree import Stack, camel
from tap.systems.microservices.ids import service_prefix, services_stack_name
from tap.wiring import Prefixed, declare, prefixed, wire

# CloudFormation's limit on one parameter value.
MAX_PARAMETER_VALUE_BYTES = 4096
IMAGE_TAG_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"


@dataclass(frozen=True)
class ImageInputs:
    """A service's image tag, as its shard takes it (under the service's prefix)."""

    image_tag: CfnValue = wire(
        f"Image tag {{what}} runs; {NO_IMAGE}: none pushed yet, no task runs.",
        AllowedPattern=f"^(?!latest$){IMAGE_TAG_PATTERN}$",
        ConstraintDescription="an image tag other than latest (tags are immutable; latest is not one)",
    )


@dataclass(frozen=True)
class ServiceImage:
    """The image tag parameter of one service in its shard, and the condition it drives."""

    tag: str  # parameter name, for Fn::Sub ("${OrdersImageTag}")
    has_image: str  # condition name

    def when_built(self, value: Any, otherwise: Any) -> If:
        return If(self.has_image, value, otherwise)


def service_image(stack: Stack, service: ServiceSettings) -> ServiceImage:
    """Declare the service's image tag parameter and its HasImage condition."""
    prefix = service_prefix(service)
    tag = declare(stack, ImageInputs, prefix, what=service.name).image_tag
    condition = f"{prefix}HasImage"
    stack.template.add_condition(condition, Not(Equals(tag, NO_IMAGE)))
    return ServiceImage(tag=tag.data["Ref"], has_image=condition)


def image_tags_parameter_name(shard: int) -> str:
    return f"{camel(services_stack_name(shard))}ImageTags"


def shard_image_tags(root: Stack, shard: int, services: Sequence[ServiceSettings]) -> list[Prefixed]:
    """The root's list parameter of the shard's tags (services in name order) and, per
    service, the element its shard receives."""
    tags = [service.image_tag or NO_IMAGE for service in services]
    default = ",".join(tags)
    name = image_tags_parameter_name(shard)
    if len(default.encode()) > MAX_PARAMETER_VALUE_BYTES:
        raise BuildError(
            f"{root.file_name}: parameter {name}: the image tags of shard {shard} take "
            f"{len(default.encode())} bytes, above CloudFormation's {MAX_PARAMETER_VALUE_BYTES} per "
            "parameter value (a hard quota); allowed: shorter image tags, or `shard = N` on a service "
            "not yet deployed to move it to another shard"
        )
    parameter = root.parameter(
        name, Type="CommaDelimitedList", Default=default,
        Description=f"Image tag of each service of shard {shard} ("
        + ", ".join(service.name for service in services)
        + f"); {NO_IMAGE} runs no task. ./deploy.sh passes the running or newer pushed ones.",
    )
    return [prefixed(ImageInputs(image_tag=Select(index, Ref(parameter))), service_prefix(service))
            for index, service in enumerate(services)]
