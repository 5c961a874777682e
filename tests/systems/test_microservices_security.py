"""Microservices platform, security stack: who may talk to whom."""

from __future__ import annotations

from tests.helpers import resources_of_type
from tests.systems.microservices import Built, config


def ingress(template: dict, group: str) -> list[dict]:
    return template["Resources"][group]["Properties"].get("SecurityGroupIngress", [])


def egress(template: dict, group: str) -> list[dict]:
    return template["Resources"][group]["Properties"]["SecurityGroupEgress"]


def test_behind_cloudfront_the_load_balancer_admits_one_port_from_the_vpc_only():
    """CloudFront reaches an internal load balancer through its VPC origin's network
    interfaces in the private subnets: nothing outside the VPC is admitted."""
    template = Built(config(load_balancer={"ingress": "cloudfront"}))["security"]
    (rule,) = ingress(template, "LoadBalancerSecurityGroup")
    assert rule["CidrIp"] == {"Ref": "VpcCidr"}
    assert (rule["FromPort"], rule["ToPort"]) == (80, 80)
    assert set(template["Parameters"]) == {"VpcId", "VpcCidr"}  # no prefix list of all CloudFront


def test_with_a_certificate_cloudfront_reaches_the_load_balancer_on_443_only():
    table = config(load_balancer={
        "ingress": "cloudfront",
        "certificate_arn": "arn:aws:acm:eu-west-1:123456789012:certificate/" + "a" * 8 + "-" + "b" * 27,
        "domain_name": "origin.example.com",
    })
    (rule,) = ingress(Built(table)["security"], "LoadBalancerSecurityGroup")
    assert (rule["FromPort"], rule["ToPort"]) == (443, 443)


def test_open_to_the_internet_the_load_balancer_takes_80_and_443():
    table = config(load_balancer={
        "ingress": "internet",
        "certificate_arn": "arn:aws:acm:eu-west-1:123456789012:certificate/" + "a" * 8 + "-" + "b" * 27,
        "domain_name": "origin.example.com",
    })
    template = Built(table)["security"]
    rules = ingress(template, "LoadBalancerSecurityGroup")
    assert sorted(rule["FromPort"] for rule in rules) == [80, 443]
    assert all(rule["CidrIp"] == "0.0.0.0/0" for rule in rules)
    assert "CloudFrontPrefixListId" not in template.get("Parameters", {})


def test_load_balancer_sends_only_to_unprivileged_ports_inside_the_vpc():
    (rule,) = egress(Built(config())["security"], "LoadBalancerSecurityGroup")
    assert rule["CidrIp"] == {"Ref": "VpcCidr"}
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 1024, 65535)


def test_database_and_cache_admit_only_service_tasks_on_their_ports():
    template = Built(config())["security"]
    for group, port in (("DatabaseSecurityGroup", 5432), ("CacheSecurityGroup", 6379)):
        (rule,) = ingress(template, group)
        assert rule["SourceSecurityGroupId"] == {"Fn::GetAtt": ["ServicesSecurityGroup", "GroupId"]}
        assert (rule["FromPort"], rule["ToPort"]) == (port, port)


def test_groups_without_outbound_needs_allow_no_outbound_traffic():
    template = Built(config())["security"]
    for group in ("DatabaseSecurityGroup", "CacheSecurityGroup"):
        (rule,) = egress(template, group)
        assert rule["CidrIp"] == "255.255.255.255/32"  # matches no packet


def test_service_tasks_may_reach_tls_anywhere_and_the_data_stores_in_the_vpc():
    rules = egress(Built(config())["security"], "ServicesSecurityGroup")
    assert {(rule["FromPort"], str(rule["CidrIp"])) for rule in rules} == {
        (443, "0.0.0.0/0"), (5432, "{'Ref': 'VpcCidr'}"), (6379, "{'Ref': 'VpcCidr'}"),
    }


def test_every_rule_is_described():
    template = Built(config(load_balancer={"ingress": "internet"}))["security"]
    for group in resources_of_type(template, "AWS::EC2::SecurityGroup").values():
        rules = group["Properties"].get("SecurityGroupIngress", []) + group["Properties"]["SecurityGroupEgress"]
        assert all(rule["Description"] for rule in rules)
