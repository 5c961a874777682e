"""security_group and Rule: groups admit only what they are told to, in and out."""

from __future__ import annotations

import pytest
from troposphere import Ref

from tap.blocks.security_groups import Rule, security_group
from tap.stacktree import Stack
from tests.helpers import as_dict, only_resource

# aws-cdk's rule for allowAllOutbound: false, byte for byte: ICMP type 252 code 86 is not
# assigned, and 255.255.255.255/32 is the limited broadcast address, so nothing matches.
NO_TRAFFIC = {
    "IpProtocol": "icmp", "FromPort": 252, "ToPort": 86, "CidrIp": "255.255.255.255/32",
    "Description": "Disallow all outbound traffic",
}


@pytest.fixture
def stack() -> Stack:
    return Stack("network", "sg")


def group_of(stack: Stack) -> dict:
    return only_resource(as_dict(stack), "AWS::EC2::SecurityGroup")["Properties"]


def test_a_group_without_egress_gets_the_rule_that_matches_no_traffic(stack):
    """Without any egress rule EC2 would add allow-all egress; the sentinel stops that."""
    security_group(stack, "Db", "database", vpc_id="vpc-1")
    assert group_of(stack)["SecurityGroupEgress"] == [NO_TRAFFIC]


def test_a_group_without_ingress_admits_nothing(stack):
    security_group(stack, "Db", "database", vpc_id="vpc-1")
    assert "SecurityGroupIngress" not in group_of(stack)


def test_given_egress_replaces_the_sentinel(stack):
    security_group(stack, "App", "app", vpc_id="v", egress=[
        Rule("HTTPS to the world", 443, cidr="0.0.0.0/0"),
    ])
    assert group_of(stack)["SecurityGroupEgress"] == [
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0",
         "Description": "HTTPS to the world"},
    ]


def test_ingress_from_a_group_names_it_as_source_with_its_description(stack):
    security_group(stack, "Db", "database", vpc_id="v", ingress=[
        Rule("PostgreSQL from the services", 5432, group=Ref("ServicesGroup")),
    ])
    assert group_of(stack)["SecurityGroupIngress"] == [
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
         "SourceSecurityGroupId": {"Ref": "ServicesGroup"}, "Description": "PostgreSQL from the services"},
    ]


def test_egress_to_a_group_names_it_as_destination(stack):
    security_group(stack, "App", "app", vpc_id="v", egress=[
        Rule("To the cache", 6379, group=Ref("CacheGroup")),
    ])
    (rule,) = group_of(stack)["SecurityGroupEgress"]
    assert rule["DestinationSecurityGroupId"] == {"Ref": "CacheGroup"}
    assert "SourceSecurityGroupId" not in rule


def test_prefix_lists_are_source_in_and_destination_out(stack):
    security_group(stack, "Lb", "lb", vpc_id="v",
                   ingress=[Rule("HTTP from CloudFront", 80, prefix_list="pl-in")],
                   egress=[Rule("HTTPS to S3", 443, prefix_list="pl-out")])
    props = group_of(stack)
    assert props["SecurityGroupIngress"][0]["SourcePrefixListId"] == "pl-in"
    assert props["SecurityGroupEgress"][0]["DestinationPrefixListId"] == "pl-out"


def test_a_port_range_runs_from_port_to_to_port(stack):
    security_group(stack, "App", "app", vpc_id="v", ingress=[
        Rule("Ephemeral", 1024, to_port=2048, cidr="10.0.0.0/16"),
    ])
    (rule,) = group_of(stack)["SecurityGroupIngress"]
    assert (rule["FromPort"], rule["ToPort"], rule["CidrIp"]) == (1024, 2048, "10.0.0.0/16")


def test_every_emitted_rule_carries_its_description(stack):
    security_group(stack, "App", "app", vpc_id="v",
                   ingress=[Rule("a", 1, cidr="10.0.0.0/8"), Rule("b", 2, group="sg-1")],
                   egress=[Rule("c", 3, prefix_list="pl-1")])
    props = group_of(stack)
    described = [r["Description"] for r in props["SecurityGroupIngress"] + props["SecurityGroupEgress"]]
    assert described == ["a", "b", "c"]


@pytest.mark.parametrize("peers", [{}, {"cidr": "10.0.0.0/8", "group": "sg-1"},
                                   {"group": "sg-1", "prefix_list": "pl-1"}])
def test_a_rule_needs_exactly_one_peer(peers):
    with pytest.raises(ValueError, match="exactly one peer"):
        Rule("bad", 443, **peers).as_ingress()
    with pytest.raises(ValueError, match="exactly one peer"):
        Rule("bad", 443, **peers).as_egress()


@pytest.mark.parametrize("description", ["", "   "])
def test_a_rule_without_a_description_is_refused(description):
    with pytest.raises(ValueError, match="port 443 needs a description"):
        Rule(description, 443, cidr="10.0.0.0/8")


def test_group_is_in_the_vpc_with_a_stack_scoped_name_tag_and_no_physical_name(stack):
    security_group(stack, "Db", "database", vpc_id=Ref("Vpc"))
    props = group_of(stack)
    assert (props["GroupDescription"], props["VpcId"]) == ("database", {"Ref": "Vpc"})
    assert props["Tags"] == [{"Key": "Name", "Value": {"Fn::Sub": "${AWS::StackName}-Db"}}]
    assert "GroupName" not in props
