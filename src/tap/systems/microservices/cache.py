"""Cache stack: an ElastiCache (Valkey or Redis OSS) replication group in the private subnets.

The AUTH token is generated into Secrets Manager and handed to ElastiCache
by dynamic reference; services that list `"cache"` among their secrets get
it injected by ECS, and connect with TLS.
"""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import Ref

from tap.blocks.elasticache import replication_group
from tap.cfnvalue import CfnValue
from tap.config.microservices import CacheSettings
from tap.stacktree import Stack
from tap.wiring import declare, publish, wire


@dataclass(frozen=True)
class CacheInputs:
    private_subnet_ids: CfnValue = wire("Private subnets, one per AZ.", "List<AWS::EC2::Subnet::Id>")
    cache_security_group_id: CfnValue = wire(
        "Admits Redis from service tasks only.", "AWS::EC2::SecurityGroup::Id")


@dataclass(frozen=True)
class CacheOutputs:
    cache_replication_group_id: CfnValue = wire("Identifier of the replication group.")
    cache_address: CfnValue = wire("Primary endpoint services connect to (TLS).")
    cache_port: CfnValue = wire("Port services connect to.")
    cache_auth_secret_arn: CfnValue = wire("Secret holding the AUTH token (JSON key 'token').")


def cache_stack(settings: CacheSettings) -> Stack:
    stack = Stack("cache", f"tap microservices: {settings.engine} cache")
    inputs = declare(stack, CacheInputs)
    subnets, security_group = inputs.private_subnet_ids, inputs.cache_security_group_id
    cache = replication_group(
        stack, "Cache", settings, subnets=subnets, security_groups=[security_group]
    )
    publish(stack, CacheOutputs(
        cache_replication_group_id=Ref(cache.group),
        cache_address=cache.address,
        cache_port=cache.port,
        cache_auth_secret_arn=cache.auth.arn,
    ))
    return stack
