"""Microservices platform, root stack: the nested stacks and their wiring."""

from __future__ import annotations

import pytest

from tap.config import load
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
    shards = {f"Services{shard:03d}Stack" for shard in load("microservices", "prod").shards}
    assert stacks == concerns | shards


def test_wiring_goes_through_outputs_never_exports(root):
    database = nested(root)["DatabaseStack"]["Properties"]["Parameters"]
    assert database["PrivateSubnetIds"] == {"Fn::GetAtt": ["NetworkStack", "Outputs.PrivateSubnetIds"]}
    assert database["DatabaseSecurityGroupId"] == {
        "Fn::GetAtt": ["SecurityStack", "Outputs.DatabaseSecurityGroupId"]}


def test_the_cloudfront_prefix_list_is_a_deploy_time_parameter(root):
    assert root["Parameters"]["CloudFrontPrefixListId"]["AllowedPattern"] == r"^pl-[0-9a-f]{8,17}$"
    assert nested(root)["SecurityStack"]["Properties"]["Parameters"]["CloudFrontPrefixListId"] == {
        "Ref": "CloudFrontPrefixListId"}


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
    assert parameters["ListenerArn"] == {"Fn::GetAtt": ["ClusterStack", "Outputs.ListenerArn"]}
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
