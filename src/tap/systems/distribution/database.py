"""Database stack: the licences table and the analytics table.

Licences are found by the sha256 of their key (the raw key is never stored),
by licence id (revocation) and by customer (listing). Analytics holds raw
usage events, which expire through TTL, and per-customer counters, which stay.
The item layout is the functions' contract: see functions/license_api and
functions/usage_tracking.
"""

from __future__ import annotations

from dataclasses import dataclass

from tap.blocks.tables import Index, Key, Table, table
from tap.cfnvalue import CfnValue
from tap.config.distribution import DatabaseSettings
from tap.stacktree import Stack
from tap.wiring import publish, wire

LICENSE_KEY_HASH = Key("keyHash")
BY_LICENSE_ID = Index("byLicenseId", Key("licenseId"))
BY_CUSTOMER = Index("byCustomer", Key("customerId"), Key("createdAt"))
EVENT_TTL_ATTRIBUTE = "ttl"


@dataclass(frozen=True)
class DatabaseOutputs:
    licenses_table_name: CfnValue = wire("Name of the licenses table.")
    licenses_table_arn: CfnValue = wire("ARN of the licenses table.")
    analytics_table_name: CfnValue = wire("Name of the analytics table.")
    analytics_table_arn: CfnValue = wire("ARN of the analytics table.")


def database_stack(settings: DatabaseSettings) -> Stack:
    stack = Stack("database", "tap distribution: licences and analytics tables")
    licenses = add_licenses_table(stack, settings)
    analytics = add_analytics_table(stack, settings)
    publish(stack, DatabaseOutputs(
        licenses_table_name=licenses.ref.name,
        licenses_table_arn=licenses.ref.arn,
        analytics_table_name=analytics.ref.name,
        analytics_table_arn=analytics.ref.arn,
    ))
    return stack


def add_licenses_table(stack: Stack, settings: DatabaseSettings) -> Table:
    return table(
        stack,
        "LicensesTable",
        LICENSE_KEY_HASH,
        indexes=(BY_LICENSE_ID, BY_CUSTOMER),
        # The edge function is packaged with this name (it has no environment).
        table_name=settings.licenses_table_name,
        deletion_protection=settings.deletion_protection,
    )


def add_analytics_table(stack: Stack, settings: DatabaseSettings) -> Table:
    return table(
        stack,
        "AnalyticsTable",
        Key("pk"),
        sort=Key("sk"),
        ttl_attribute=EVENT_TTL_ATTRIBUTE,
        deletion_protection=settings.deletion_protection,
    )
