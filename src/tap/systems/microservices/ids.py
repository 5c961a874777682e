"""Names that tie a service to its nested stack and logical ids.

Logical ids are a contract: changing one replaces the resource. A
service's ids are its CamelCased name plus a fixed suffix, and its stack is
named after its shard, so both depend on nothing but the service's own
settings.
"""

from __future__ import annotations

from tap.config.microservices import ServiceSettings
from tap.stacktree import camel

# The container's name inside every task definition; imagedefinitions.json names it.
CONTAINER_NAME = "app"


def service_prefix(service: ServiceSettings) -> str:
    """`orders-api` -> `OrdersApi`: the start of every logical id of the service."""
    return camel(service.name)


def services_stack_name(shard: int) -> str:
    return f"services-{shard:03d}"


def pipelines_stack_name(shard: int) -> str:
    return f"pipelines-{shard:03d}"
