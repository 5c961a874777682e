"""Database stack: RDS for PostgreSQL in the private subnets.

RDS generates the master password and keeps it in Secrets Manager; the
secret's ARN is an output, and services that list `"database"` among their
secrets get its username and password injected by ECS.
"""

from __future__ import annotations

from troposphere import Ref

from tap.blocks.rds import postgres_instance
from tap.config.microservices import DatabaseSettings
from tap.stacktree import Stack
from tap.systems.microservices.wiring import subnets_and_group


def database_stack(settings: DatabaseSettings) -> Stack:
    stack = Stack("database", "tap microservices: PostgreSQL")
    subnets, security_group = subnets_and_group(
        stack, "PrivateSubnetIds", "DatabaseSecurityGroupId", "PostgreSQL from service tasks only"
    )
    database = postgres_instance(
        stack, "Database", settings, subnets=subnets, security_groups=[security_group]
    )
    stack.output("DatabaseInstanceId", Ref(database.instance), "Identifier of the DB instance.")
    stack.output("DatabaseAddress", database.address, "Host name services connect to.")
    stack.output("DatabasePort", database.port, "Port services connect to.")
    stack.output("DatabaseSecretArn", database.secret_arn,
                 "Secret holding the master credentials (JSON: username, password), kept by RDS.")
    return stack
