"""System A: software distribution platform (SYSTEMS.md §A).

The root reads like a table of contents: one nested stack per concern,
wired through parameters and outputs.
"""

from __future__ import annotations

from tap.config.distribution import DistributionSettings
from tap.package import FunctionPackager
from tap.stacktree import Stack
from tap.systems import SystemBuild
from tap.systems.distribution.storage import storage_stack


def build(settings: DistributionSettings, package: FunctionPackager) -> SystemBuild:
    root = Stack.root(
        "root",
        f"tap software distribution platform ({settings.env}): root stack",
        tags=settings.tags,
    )
    storage = root.nest(storage_stack(settings.storage))
    root.output(
        "BinariesBucketName", storage.output("BinariesBucketName"),
        "Bucket to upload release binaries to.",
    )
    root.output(
        "LogsBucketName", storage.output("LogsBucketName"),
        "Bucket receiving access logs.",
    )
    return SystemBuild(root)
