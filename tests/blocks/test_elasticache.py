"""replication_group: an encrypted, authenticated, Multi-AZ Valkey/Redis cache."""

from __future__ import annotations

from dataclasses import replace

import pytest
from troposphere import Ref

from tap.blocks.elasticache import AUTH_TOKEN_KEY, CACHE_PORT, replication_group
from tap.blocks.lifecycle import is_stateful, keeps_data
from tap.config.microservices import CacheSettings
from tap.stacktree import Stack
from tests.helpers import as_dict, only_resource

SPEC = CacheSettings()  # valkey 8.0, two nodes


def build(spec=SPEC):
    stack = Stack("cache", "c")
    cache = replication_group(stack, "Cache", spec, subnets=["subnet-a", "subnet-b"],
                              security_groups=[Ref("CacheGroup")])
    return as_dict(stack), cache


@pytest.fixture
def template() -> dict:
    return build()[0]


def group_of(template: dict) -> dict:
    return only_resource(template, "AWS::ElastiCache::ReplicationGroup")


def props(template: dict) -> dict:
    return group_of(template)["Properties"]


def test_encrypted_at_rest_and_in_transit(template):
    found = props(template)
    assert (found["AtRestEncryptionEnabled"], found["TransitEncryptionEnabled"]) == (True, True)


def test_auth_token_comes_from_secrets_manager_by_dynamic_reference(template):
    """The template never holds the token: CloudFormation resolves it at deploy time."""
    assert props(template)["AuthToken"] == {"Fn::Sub": [
        "{{resolve:secretsmanager:${Secret}:SecretString:token}}", {"Secret": {"Ref": "CacheAuthToken"}},
    ]}


def test_auth_token_is_generated_within_elasticaches_password_rules(template):
    """ElastiCache: 16-128 printable characters, few specials; letters and digits only is safe."""
    secret = template["Resources"]["CacheAuthToken"]
    generate = secret["Properties"]["GenerateSecretString"]
    assert 16 <= generate["PasswordLength"] <= 128
    assert generate["ExcludePunctuation"] is True
    assert generate["GenerateStringKey"] == AUTH_TOKEN_KEY == "token"
    assert (secret["DeletionPolicy"], secret["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_automatic_failover_across_azs(template):
    found = props(template)
    assert (found["AutomaticFailoverEnabled"], found["MultiAZEnabled"]) == (True, True)
    assert found["NumCacheClusters"] == 2


def test_fewer_than_two_nodes_is_refused_before_anything_is_added():
    stack = Stack("cache", "c")
    with pytest.raises(ValueError, match="at least two nodes"):
        replication_group(stack, "Cache", replace(SPEC, node_count=1), subnets=[], security_groups=[])
    assert as_dict(stack).get("Resources", {}) == {}


def test_node_count_and_type_follow_the_spec():
    template, _ = build(replace(SPEC, node_count=3, node_type="cache.r7g.large"))
    found = props(template)
    assert (found["NumCacheClusters"], found["CacheNodeType"]) == (3, "cache.r7g.large")


def test_engine_and_parameter_family_follow_the_spec():
    template, _ = build(replace(SPEC, engine="redis", engine_version="7.1"))
    assert (props(template)["Engine"], props(template)["EngineVersion"]) == ("redis", "7.1")
    family = only_resource(template, "AWS::ElastiCache::ParameterGroup")["Properties"]
    assert family["CacheParameterGroupFamily"] == "redis7"


def test_parameter_group_evicts_least_recently_used_keys(template):
    group = only_resource(template, "AWS::ElastiCache::ParameterGroup")["Properties"]
    assert group["Properties"] == {"maxmemory-policy": "allkeys-lru"}
    assert props(template)["CacheParameterGroupName"] == {"Ref": "CacheParameters"}


def test_group_lives_in_the_given_private_subnets_and_security_groups(template):
    found = props(template)
    assert found["SecurityGroupIds"] == [{"Ref": "CacheGroup"}]
    assert found["CacheSubnetGroupName"] == {"Ref": "CacheSubnetGroup"}
    subnets = only_resource(template, "AWS::ElastiCache::SubnetGroup")["Properties"]["SubnetIds"]
    assert subnets == ["subnet-a", "subnet-b"]


def test_slow_log_goes_to_a_retained_log_group_with_retention(template):
    (delivery,) = props(template)["LogDeliveryConfigurations"]
    assert delivery["LogType"] == "slow-log" and delivery["DestinationType"] == "cloudwatch-logs"
    assert delivery["DestinationDetails"] == {"CloudWatchLogsDetails": {"LogGroup": {"Ref": "CacheSlowLog"}}}
    group = template["Resources"]["CacheSlowLog"]
    assert group["Properties"]["RetentionInDays"] == SPEC.log_retention_days
    assert group["DeletionPolicy"] == "Retain"


def test_snapshots_are_kept_and_minor_versions_upgraded(template):
    found = props(template)
    assert found["SnapshotRetentionLimit"] == SPEC.snapshot_retention_days
    assert found["AutoMinorVersionUpgrade"] is True


def test_group_snapshots_on_delete_and_replace(template):
    group = group_of(template)
    assert (group["DeletionPolicy"], group["UpdateReplacePolicy"]) == ("Snapshot", "Snapshot")
    assert is_stateful("AWS::ElastiCache::ReplicationGroup") and keeps_data(group["DeletionPolicy"])


def test_port_and_handles_point_at_the_primary_endpoint():
    template, cache = build()
    assert props(template)["Port"] == CACHE_PORT == 6379
    assert cache.address.to_dict() == {"Fn::GetAtt": ["Cache", "PrimaryEndPoint.Address"]}
    assert cache.port.to_dict() == {"Fn::GetAtt": ["Cache", "PrimaryEndPoint.Port"]}
    assert cache.auth.arn.to_dict() == {"Ref": "CacheAuthToken"}
