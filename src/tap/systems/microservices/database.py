"""Database stack: RDS for PostgreSQL in the private subnets.

RDS generates the master password and keeps it in Secrets Manager; the
secret's ARN is an output, and services that list `"database"` among their
secrets get its username and password injected by ECS.
"""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import Ref

from tap.blocks.rds import postgres_instance
from tap.cfnvalue import CfnValue
from tap.config.microservices import DatabaseSettings
from tap.stacktree import Stack
from tap.wiring import declare, publish, wire


@dataclass(frozen=True)
class DatabaseInputs:
    private_subnet_ids: CfnValue = wire("Private subnets, one per AZ.", "List<AWS::EC2::Subnet::Id>")
    database_security_group_id: CfnValue = wire(
        "Admits PostgreSQL from service tasks only.", "AWS::EC2::SecurityGroup::Id")


@dataclass(frozen=True)
class DatabaseOutputs:
    database_instance_id: CfnValue = wire("Identifier of the DB instance.")
    database_address: CfnValue = wire("Host name services connect to.")
    database_port: CfnValue = wire("Port services connect to.")
    database_secret_arn: CfnValue = wire(
        "Secret holding the master credentials (JSON: username, password), kept by RDS.")


def database_stack(settings: DatabaseSettings) -> Stack:
    stack = Stack("database", "tap microservices: PostgreSQL")
    inputs = declare(stack, DatabaseInputs)
    subnets, security_group = inputs.private_subnet_ids, inputs.database_security_group_id
    database = postgres_instance(
        stack, "Database", settings, subnets=subnets, security_groups=[security_group]
    )
    publish(stack, DatabaseOutputs(
        database_instance_id=Ref(database.instance),
        database_address=database.address,
        database_port=database.port,
        database_secret_arn=database.secret_arn,
    ))
    return stack
