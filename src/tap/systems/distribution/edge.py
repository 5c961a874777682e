"""Edge stack: the Lambda@Edge licence check that guards the download route.

The function is packaged with its configuration (table, region, cache TTL,
lookup timeout) rendered into `edge_config.py`, because Lambda@Edge has no
environment variables. It may only GetItem on the licences table.
"""

from __future__ import annotations

from dataclasses import dataclass

from tap.blocks import actions
from tap.blocks.edge import EdgeFunction, edge_function
from tap.cfnvalue import CfnValue
from tap.config.distribution import DistributionSettings
from tap.package import FunctionPackager
from tap.stacktree import Stack
from tap.wiring import declare, publish, wire

FUNCTION = "license_verify"


def edge_config(settings: DistributionSettings) -> dict:
    """The values rendered into functions/license_verify/edge_config.py.j2."""
    return {
        "table_name": settings.database.licenses_table_name,
        "table_region": settings.region,
        "cache_ttl_seconds": settings.edge.license_cache_ttl_seconds,
        "lookup_timeout_seconds": settings.edge.lookup_timeout_seconds,
    }


@dataclass(frozen=True)
class EdgeInputs:
    licenses_table_arn: CfnValue = wire("ARN of the licences table.")


@dataclass(frozen=True)
class EdgeOutputs:
    license_check_version_arn: CfnValue = wire("Numbered version CloudFront runs on viewer requests.")
    license_check_function_name: CfnValue = wire("Name of the licence-check function.")
    license_check_log_group_name: CfnValue = wire(
        "Its log group in us-east-1; other regions have one of the same name.")


def edge_stack(settings: DistributionSettings, package: FunctionPackager) -> Stack:
    stack = Stack("edge", "tap distribution: Lambda@Edge licence check")
    inputs = declare(stack, EdgeInputs)
    check = add_license_check(stack, settings, package)
    check.role.allow("ReadLicenseByKeyHash", actions.DYNAMODB_GET, [inputs.licenses_table_arn])
    publish(stack, EdgeOutputs(
        license_check_version_arn=check.version_arn,
        license_check_function_name=check.name,
        license_check_log_group_name=check.log_group.ref.name,
    ))
    return stack


def add_license_check(
    stack: Stack, settings: DistributionSettings, package: FunctionPackager
) -> EdgeFunction:
    return edge_function(
        stack,
        "LicenseCheck",
        package(FUNCTION, edge_config(settings)),
        description="Viewer-request licence check for downloads",
        log_retention_days=settings.edge.log_retention_days,
        trigger="viewer-request",
        memory_mb=128,
        timeout_seconds=5,
    )
