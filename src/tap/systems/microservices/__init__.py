"""System B: microservices platform with CI/CD (SYSTEMS.md §B).

The root reads like a table of contents: one nested stack per concern,
wired through parameters and outputs.
"""

from __future__ import annotations

from tap.config.microservices import MicroservicesSettings
from tap.package import FunctionPackager
from tap.stacktree import Stack
from tap.systems import SystemBuild
from tap.systems.microservices.network import network_stack


def build(settings: MicroservicesSettings, package: FunctionPackager) -> SystemBuild:
    root = Stack.root(
        "root",
        f"tap microservices platform ({settings.env}): root stack",
        tags=settings.tags,
    )
    network = root.nest(network_stack(settings.network))
    root.output("VpcId", network.output("VpcId"), "VPC of the platform.")
    return SystemBuild(root)
