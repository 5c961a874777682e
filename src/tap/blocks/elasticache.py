"""ElastiCache for Redis OSS or Valkey: a replication group in private subnets.

Secure defaults: at least two nodes with automatic failover across AZs
(Multi-AZ), encryption at rest and in transit (TLS required), AUTH with a
token CloudFormation reads from Secrets Manager by dynamic reference (the
template never holds it), an `allkeys-lru` parameter group, the slow log
delivered to a CloudWatch log group with retention, daily snapshots kept
for a number of days, minor versions upgraded automatically, and
DeletionPolicy/UpdateReplacePolicy Snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from troposphere import GetAtt, Ref, elasticache

from tap.blocks.iam import SecretRef
from tap.blocks.lifecycle import snapshot
from tap.blocks.logs import log_group
from tap.blocks.secrets import generated_secret, resolve
from tap.cfnvalue import CfnValue
from tap.stacktree import Stack

CACHE_PORT = 6379
AUTH_TOKEN_KEY = "token"


class CacheSpec(Protocol):
    """What the group is made of (tap.config.microservices.CacheSettings is one)."""

    @property
    def engine(self) -> str: ...
    @property
    def engine_version(self) -> str: ...
    @property
    def parameter_group_family(self) -> str: ...
    @property
    def node_type(self) -> str: ...
    @property
    def node_count(self) -> int: ...
    @property
    def snapshot_retention_days(self) -> int: ...
    @property
    def log_retention_days(self) -> int: ...


@dataclass(frozen=True)
class Cache:
    group: elasticache.ReplicationGroup
    auth: SecretRef

    @property
    def address(self) -> GetAtt:
        return GetAtt(self.group, "PrimaryEndPoint.Address")

    @property
    def port(self) -> GetAtt:
        return GetAtt(self.group, "PrimaryEndPoint.Port")


def replication_group(
    stack: Stack, logical_id: str, spec: CacheSpec, *, subnets: CfnValue, security_groups: list[CfnValue]
) -> Cache:
    if spec.node_count < 2:
        raise ValueError("automatic failover needs at least two nodes")
    auth = generated_secret(
        stack, f"{logical_id}AuthToken",
        "AUTH token of the cache (JSON key 'token'); clients connect with TLS and this token",
        json_key=AUTH_TOKEN_KEY, length=64,
    )
    subnet_group = stack.add(
        elasticache.SubnetGroup(
            f"{logical_id}SubnetGroup", Description="Private subnets of the cache", SubnetIds=subnets
        )
    )
    parameters = stack.add(
        elasticache.ParameterGroup(
            f"{logical_id}Parameters",
            CacheParameterGroupFamily=spec.parameter_group_family,
            Description="Evict least recently used keys when memory is full",
            Properties={"maxmemory-policy": "allkeys-lru"},
        )
    )
    slow_log = log_group(stack, f"{logical_id}SlowLog", spec.log_retention_days)
    group = elasticache.ReplicationGroup(
        logical_id,
        ReplicationGroupDescription=f"{spec.engine} cache of the platform",
        Engine=spec.engine,
        EngineVersion=spec.engine_version,
        CacheNodeType=spec.node_type,
        NumCacheClusters=spec.node_count,
        AutomaticFailoverEnabled=True,
        MultiAZEnabled=True,
        AtRestEncryptionEnabled=True,
        TransitEncryptionEnabled=True,
        AuthToken=resolve(auth, AUTH_TOKEN_KEY),
        CacheSubnetGroupName=Ref(subnet_group),
        CacheParameterGroupName=Ref(parameters),
        SecurityGroupIds=security_groups,
        Port=CACHE_PORT,
        SnapshotRetentionLimit=spec.snapshot_retention_days,
        AutoMinorVersionUpgrade=True,
        LogDeliveryConfigurations=[
            elasticache.LogDeliveryConfigurationRequest(
                LogType="slow-log",
                LogFormat="json",
                DestinationType="cloudwatch-logs",
                DestinationDetails=elasticache.DestinationDetails(
                    CloudWatchLogsDetails=elasticache.CloudWatchLogsDestinationDetails(
                        LogGroup=slow_log.ref.name
                    )
                ),
            )
        ],
    )
    stack.add(snapshot(group))
    return Cache(group=group, auth=auth)
