"""Cache stack: an ElastiCache (Valkey or Redis OSS) replication group in the private subnets.

The AUTH token is generated into Secrets Manager and handed to ElastiCache
by dynamic reference; services that list `"cache"` among their secrets get
it injected by ECS, and connect with TLS.
"""

from __future__ import annotations

from troposphere import Ref

from tap.blocks.elasticache import replication_group
from tap.config.microservices import CacheSettings
from tap.stacktree import Stack
from tap.systems.microservices.wiring import subnets_and_group


def cache_stack(settings: CacheSettings) -> Stack:
    stack = Stack("cache", f"tap microservices: {settings.engine} cache")
    subnets, security_group = subnets_and_group(
        stack, "PrivateSubnetIds", "CacheSecurityGroupId", "Redis from service tasks only"
    )
    cache = replication_group(
        stack, "Cache", settings, subnets=subnets, security_groups=[security_group]
    )
    stack.output("CacheReplicationGroupId", Ref(cache.group), "Identifier of the replication group.")
    stack.output("CacheAddress", cache.address, "Primary endpoint services connect to (TLS).")
    stack.output("CachePort", cache.port, "Port services connect to.")
    stack.output("CacheAuthSecretArn", cache.auth.arn, "Secret holding the AUTH token (JSON key 'token').")
    return stack
