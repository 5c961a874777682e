"""Database stack: the licences table and the analytics table.

Licences are found by the sha256 of their key (the raw key is never stored),
by licence id (revocation) and by customer (listing). Analytics holds raw
usage events, which expire through TTL, and per-customer counters, which stay.
The item layout is the functions' contract: see functions/license_api and
functions/usage_tracking.
"""

from __future__ import annotations

from tap.blocks.tables import Index, Key, Table, table
from tap.config.distribution import DatabaseSettings
from tap.stacktree import Stack

LICENSE_KEY_HASH = Key("keyHash")
BY_LICENSE_ID = Index("byLicenseId", Key("licenseId"))
BY_CUSTOMER = Index("byCustomer", Key("customerId"), Key("createdAt"))
EVENT_TTL_ATTRIBUTE = "ttl"


def database_stack(settings: DatabaseSettings) -> Stack:
    stack = Stack("database", "tap distribution: licences and analytics tables")
    licenses = add_licenses_table(stack, settings)
    analytics = add_analytics_table(stack, settings)
    for label, created in (("Licenses", licenses), ("Analytics", analytics)):
        stack.output(f"{label}TableName", created.ref.name, f"Name of the {label.lower()} table.")
        stack.output(f"{label}TableArn", created.ref.arn, f"ARN of the {label.lower()} table.")
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
