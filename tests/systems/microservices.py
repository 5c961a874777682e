"""Build the microservices platform from settings written in a test, in memory."""

from __future__ import annotations

import copy
import json
from typing import Any

from tap.config.microservices import SHARD_COUNT, MicroservicesSettings
from tap.config.schema import parse
from tap.emit import emit_tree
from tap.stacktree import camel
from tap.systems import Tools
from tap.systems.microservices import build
from tap.systems.microservices.placement import shard_of, stable_number


def service(name: str, **settings: Any) -> dict[str, Any]:
    """A [[services]] table with sensible values; keyword arguments override them."""
    table = {
        "name": name,
        "repository": f"example-org/{name}",
        "path_pattern": f"/{name}/*",
        "image_tag": "0123456789abcdef0123456789abcdef01234567",
    }
    table.update(settings)
    return {key: value for key, value in table.items() if value is not None}


def config(services: list[dict[str, Any]] | None = None, **tables: Any) -> dict[str, Any]:
    """A whole config file as a table; keyword arguments replace top-level tables or keys."""
    table: dict[str, Any] = {
        "tags": {"project": "tap", "environment": "test"},
        "services": services if services is not None else [service("orders"), service("catalog")],
    }
    table.update(copy.deepcopy(tables))
    return table


def settings(table: dict[str, Any], env: str = "test") -> MicroservicesSettings:
    return parse(MicroservicesSettings, table, env=env)


class Built:
    """Every emitted file of one build, and its templates parsed."""

    def __init__(self, table: dict[str, Any]):
        self.settings = settings(table)
        system = build(self.settings, Tools())
        self.emission = emit_tree(system.root, "microservices/test", {}, system.files)
        self.files = self.emission.files
        self.templates = {
            name.removesuffix(".template.json"): json.loads(data)
            for name, data in self.files.items() if name.endswith(".template.json")
        }
        self.manifest = json.loads(self.files["manifest.json"])
        # The config's values of the root's per-account parameters, as a deploy passes them.
        self.configured = self.manifest["parameters"]

    def __getitem__(self, stack: str) -> dict[str, Any]:
        return self.templates[stack]

    def stack_of(self, service_name: str) -> str:
        """The services-NNN stack holding `service_name`'s resources."""
        (shard,) = [shard_of(s) for s in self.settings.services if s.name == service_name]
        return f"services-{shard:03d}"

    def pipelines_of(self, service_name: str) -> str:
        return self.stack_of(service_name).replace("services-", "pipelines-")

    def resources_of(self, service_name: str, stack: str | None = None) -> dict[str, Any]:
        """The resources whose logical id starts with the service's CamelCased name."""
        stack = stack or self.stack_of(service_name)
        prefix = camel(service_name)
        return {
            logical_id: resource for logical_id, resource in self.templates[stack]["Resources"].items()
            if logical_id.startswith(prefix)
        }


def names_with_same_shard(count: int = 2, start: int = 0) -> list[str]:
    """`count` service names that hash into the same shard (found deterministically)."""
    seen: dict[int, list[str]] = {}
    number = start
    while True:
        name = f"svc-{number}"
        group = seen.setdefault(stable_number(name, SHARD_COUNT), [])
        group.append(name)
        if len(group) == count:
            return group
        number += 1
