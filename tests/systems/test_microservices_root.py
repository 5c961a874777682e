"""Microservices platform, root stack: the nested stacks and their wiring."""

from __future__ import annotations

import pytest

from tap.config import load
from tap.systems.microservices.placement import balancer_of, shards
from tests.helpers import resources_of_type
from tests.systems.microservices import Built, config, service


@pytest.fixture(scope="module")
def root(built) -> dict:
    return built.template("microservices/prod", "root")


def nested(template: dict) -> dict:
    return resources_of_type(template, "AWS::CloudFormation::Stack")


def test_root_nests_every_concern_and_one_stack_per_non_empty_shard(root):
    stacks = set(nested(root))
    concerns = {"NetworkStack", "SecurityStack", "StorageStack", "DatabaseStack", "CacheStack",
                "ClusterStack", "MonitoringStack", "CdnStack", "PipelineStack"}
    per_shard = {f"Services{shard:03d}Stack" for shard in shards(load("microservices", "prod"))}
    assert stacks == concerns | per_shard


def test_wiring_goes_through_outputs_never_exports(root):
    database = nested(root)["DatabaseStack"]["Properties"]["Parameters"]
    assert database["PrivateSubnetIds"] == {"Fn::GetAtt": ["NetworkStack", "Outputs.PrivateSubnetIds"]}
    assert database["DatabaseSecurityGroupId"] == {
        "Fn::GetAtt": ["SecurityStack", "Outputs.DatabaseSecurityGroupId"]}


def test_each_load_balancer_reaches_the_stacks_that_use_it_from_the_cluster_outputs():
    built = Built(config([service(f"svc-{n}") for n in range(12)], load_balancer={"count": 3}))
    stacks = nested(built["root"])
    cdn = stacks["CdnStack"]["Properties"]["Parameters"]
    monitoring = stacks["MonitoringStack"]["Properties"]["Parameters"]
    assert cdn["LoadBalancerArns"] == {"Fn::GetAtt": ["ClusterStack", "Outputs.LoadBalancerArns"]}
    assert monitoring["LoadBalancerFullNames"] == {
        "Fn::GetAtt": ["ClusterStack", "Outputs.LoadBalancerFullNames"]}
    assert built["root"]["Outputs"]["LoadBalancerDnsNames"]["Value"] == {
        "Fn::GetAtt": ["ClusterStack", "Outputs.LoadBalancerDnsNames"]}
    # Each service's rule picks its own load balancer's listener out of one list parameter.
    for service_settings in built.settings.services:
        stack = built.stack_of(service_settings.name)
        name = "".join(part.capitalize() for part in service_settings.name.split("-"))
        rule = built[stack]["Resources"][f"{name}ListenerRule"]["Properties"]
        assert rule["ListenerArn"] == {"Fn::Select": [balancer_of(service_settings, 3), {"Ref": "LoadBalancerListenerArns"}]}
        shard = stacks[stack.replace("services-", "Services") + "Stack"]["Properties"]["Parameters"]
        assert shard["LoadBalancerListenerArns"] == {
            "Fn::GetAtt": ["ClusterStack", "Outputs.LoadBalancerListenerArns"]}
    assert len({balancer_of(s, 3) for s in built.settings.services}) == 3  # the twelve use all three


def test_root_outputs_do_not_grow_with_the_number_of_services():
    few = Built(config([service(f"svc-{n}") for n in range(2)]))["root"]
    many = Built(config([service(f"svc-{n}") for n in range(40)]))["root"]
    assert set(few["Outputs"]) == set(many["Outputs"])
    # Parameters grow by shard (one image-tag list each), never by service.
    def platform_wide(root):
        return {name for name in root["Parameters"] if not name.endswith("ImageTags")}
    assert platform_wide(few) == platform_wide(many)
    shards = [name for name in many["Parameters"] if name.endswith("ImageTags")]
    assert len(shards) == len({name for name in nested(many) if name.startswith("Services")})


def test_shards_receive_the_platform_wiring(root):
    shard = next(r for name, r in nested(root).items() if name.startswith("Services"))
    parameters = shard["Properties"]["Parameters"]
    assert parameters["LoadBalancerListenerArns"] == {
        "Fn::GetAtt": ["ClusterStack", "Outputs.LoadBalancerListenerArns"]}
    assert parameters["AlarmTopicArn"] == {"Fn::GetAtt": ["MonitoringStack", "Outputs.AlarmTopicArn"]}
    assert parameters["OidcProviderArn"] == {"Fn::GetAtt": ["PipelineStack", "Outputs.OidcProviderArn"]}


def test_the_root_outputs_where_the_database_cache_and_cluster_are(root):
    outputs = root["Outputs"]
    for name, stack in (("DatabaseAddress", "DatabaseStack"), ("DatabasePort", "DatabaseStack"),
                        ("DatabaseSecretArn", "DatabaseStack"), ("CacheAddress", "CacheStack"),
                        ("CachePort", "CacheStack"), ("CacheAuthSecretArn", "CacheStack"),
                        ("ClusterArn", "ClusterStack")):
        assert outputs[name]["Value"] == {"Fn::GetAtt": [stack, f"Outputs.{name}"]}
        assert outputs[name]["Description"]
