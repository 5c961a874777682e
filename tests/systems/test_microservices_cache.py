"""Microservices platform, cache stack: ElastiCache replication group."""

from __future__ import annotations

import pytest

from tests.helpers import only_resource
from tests.systems.microservices import Built, config


@pytest.fixture(scope="module")
def cache(built) -> dict:
    return built.template("microservices/prod", "cache")


def group(template: dict) -> dict:
    return only_resource(template, "AWS::ElastiCache::ReplicationGroup")


def test_failover_across_azs_with_at_least_two_nodes(cache):
    props = group(cache)["Properties"]
    assert props["NumCacheClusters"] >= 2
    assert props["AutomaticFailoverEnabled"] is True
    assert props["MultiAZEnabled"] is True


def test_encrypted_at_rest_and_in_transit(cache):
    props = group(cache)["Properties"]
    assert props["AtRestEncryptionEnabled"] is True
    assert props["TransitEncryptionEnabled"] is True


def test_auth_token_comes_from_a_generated_secret_by_dynamic_reference(cache):
    props = group(cache)["Properties"]
    assert props["AuthToken"] == {"Fn::Sub": [
        "{{resolve:secretsmanager:${Secret}:SecretString:token}}", {"Secret": {"Ref": "CacheAuthToken"}}
    ]}
    secret = cache["Resources"]["CacheAuthToken"]
    generate = secret["Properties"]["GenerateSecretString"]
    assert (generate["GenerateStringKey"], generate["ExcludePunctuation"]) == ("token", True)
    assert secret["DeletionPolicy"] == "Retain"
    assert "SecretString" not in secret["Properties"]


def test_evicts_least_recently_used_keys(cache):
    parameters = only_resource(cache, "AWS::ElastiCache::ParameterGroup")["Properties"]
    assert parameters["Properties"] == {"maxmemory-policy": "allkeys-lru"}
    assert parameters["CacheParameterGroupFamily"] == "valkey8"


def test_snapshots_are_kept_and_taken_on_delete(cache):
    resource = group(cache)
    assert resource["Properties"]["SnapshotRetentionLimit"] == 14
    assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == ("Snapshot", "Snapshot")


def test_slow_log_goes_to_a_log_group_with_retention(cache):
    (delivery,) = group(cache)["Properties"]["LogDeliveryConfigurations"]
    assert delivery["LogType"] == "slow-log"
    assert delivery["DestinationDetails"]["CloudWatchLogsDetails"]["LogGroup"] == {"Ref": "CacheSlowLog"}
    assert cache["Resources"]["CacheSlowLog"]["Properties"]["RetentionInDays"] == 30


def test_redis_engine_uses_its_own_parameter_family():
    template = Built(config(cache={"engine": "redis", "engine_version": "7.1"}))["cache"]
    assert only_resource(template, "AWS::ElastiCache::ParameterGroup")["Properties"][
        "CacheParameterGroupFamily"] == "redis7"
    assert group(template)["Properties"]["Engine"] == "redis"
