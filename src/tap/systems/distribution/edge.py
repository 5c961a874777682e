"""Edge stack: the Lambda@Edge licence check that guards the download route.

The function is packaged with its configuration (table, region, cache TTL,
lookup timeout) rendered into `edge_config.py`, because Lambda@Edge has no
environment variables. It may only GetItem on the licences table.
"""

from __future__ import annotations

from troposphere import Ref

from tap.blocks import actions
from tap.blocks.edge import EdgeFunction, edge_function
from tap.config.distribution import DistributionSettings
from tap.package import FunctionPackager
from tap.stacktree import Stack

FUNCTION = "license_verify"


def edge_config(settings: DistributionSettings) -> dict:
    """The values rendered into functions/license_verify/edge_config.py.j2."""
    return {
        "table_name": settings.database.licenses_table_name,
        "table_region": settings.region,
        "cache_ttl_seconds": settings.edge.license_cache_ttl_seconds,
        "lookup_timeout_seconds": settings.edge.lookup_timeout_seconds,
    }


def edge_stack(settings: DistributionSettings, package: FunctionPackager) -> Stack:
    stack = Stack("edge", "tap distribution: Lambda@Edge licence check")
    table_arn = stack.parameter("LicensesTableArn", Description="ARN of the licences table.")
    check = add_license_check(stack, settings, package)
    check.role.allow("ReadLicenseByKeyHash", actions.DYNAMODB_GET, [Ref(table_arn)])
    stack.output(
        "LicenseCheckVersionArn", check.version_arn,
        "Numbered version CloudFront runs on viewer requests.",
    )
    stack.output("LicenseCheckFunctionName", check.name, "Name of the licence-check function.")
    stack.output(
        "LicenseCheckLogGroupName", check.log_group.ref.name,
        "Its log group in us-east-1; other regions have one of the same name.",
    )
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
