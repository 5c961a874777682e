"""Microservices platform, network stack."""

from __future__ import annotations

import ipaddress

import pytest

from tap.config.microservices import NetworkSettings
from tap.systems.microservices.network import network_stack, subnet_cidrs
from tests.helpers import as_dict, resources_of_type


def network(**settings) -> dict:
    return as_dict(network_stack(NetworkSettings(**settings)))


def test_internet_gateway_is_attached_to_the_vpc():
    template = network()
    attachment = template["Resources"]["InternetGatewayAttachment"]
    assert attachment["Type"] == "AWS::EC2::VPCGatewayAttachment"
    assert attachment["Properties"] == {
        "InternetGatewayId": {"Ref": "InternetGateway"}, "VpcId": {"Ref": "Vpc"}
    }


def test_public_default_route_waits_for_the_attachment():
    route = network()["Resources"]["PublicDefaultRoute"]
    assert route["DependsOn"] == ["InternetGatewayAttachment"]
    assert route["Properties"]["DestinationCidrBlock"] == "0.0.0.0/0"


@pytest.mark.parametrize("nat", ["per-az", "single"])
def test_nat_addresses_and_gateways_wait_for_the_attachment(nat):
    template = network(az_count=3, nat=nat)
    for kind in ("AWS::EC2::EIP", "AWS::EC2::NatGateway"):
        found = resources_of_type(template, kind)
        assert found
        assert all(r["DependsOn"] == ["InternetGatewayAttachment"] for r in found.values())


@pytest.mark.parametrize("az_count", [2, 3])
def test_a_public_and_a_private_subnet_per_az(az_count):
    template = network(az_count=az_count)
    subnets = resources_of_type(template, "AWS::EC2::Subnet")
    assert len(subnets) == 2 * az_count
    zones = {str(s["Properties"]["AvailabilityZone"]) for s in subnets.values()}
    assert len(zones) == az_count


def test_no_subnet_gives_out_public_ips():
    template = network(az_count=3)
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is False
               for s in resources_of_type(template, "AWS::EC2::Subnet").values())


def test_per_az_nat_gives_each_private_route_table_its_own_gateway():
    template = network(az_count=3, nat="per-az")
    assert len(resources_of_type(template, "AWS::EC2::NatGateway")) == 3
    targets = {template["Resources"][f"PrivateDefaultRoute{x}"]["Properties"]["NatGatewayId"]["Ref"]
               for x in "ABC"}
    assert targets == {"NatGatewayA", "NatGatewayB", "NatGatewayC"}


def test_single_nat_is_shared_by_all_private_route_tables():
    template = network(az_count=3, nat="single")
    assert list(resources_of_type(template, "AWS::EC2::NatGateway")) == ["NatGatewayA"]
    targets = {template["Resources"][f"PrivateDefaultRoute{x}"]["Properties"]["NatGatewayId"]["Ref"]
               for x in "ABC"}
    assert targets == {"NatGatewayA"}


def test_subnets_are_disjoint_and_inside_the_vpc():
    settings = NetworkSettings(cidr="10.40.0.0/20", az_count=3)
    public, private = subnet_cidrs(settings)
    networks = [ipaddress.IPv4Network(c) for c in public + private]
    vpc = ipaddress.IPv4Network("10.40.0.0/20")
    assert all(n.subnet_of(vpc) for n in networks)
    assert all(not a.overlaps(b) for i, a in enumerate(networks) for b in networks[i + 1:])


def test_gateway_endpoints_serve_the_private_route_tables():
    template = network(az_count=2)
    endpoints = resources_of_type(template, "AWS::EC2::VPCEndpoint")
    assert {e["Properties"]["ServiceName"]["Fn::Sub"] for e in endpoints.values()} == {
        "com.amazonaws.${AWS::Region}.s3", "com.amazonaws.${AWS::Region}.dynamodb"
    }
    for endpoint in endpoints.values():
        assert endpoint["Properties"]["VpcEndpointType"] == "Gateway"
        assert endpoint["Properties"]["RouteTableIds"] == [
            {"Ref": "PrivateRouteTableA"}, {"Ref": "PrivateRouteTableB"}
        ]


def test_flow_logs_capture_all_traffic_into_a_retained_group():
    template = network(flow_log_retention_days=30)
    flow = template["Resources"]["FlowLog"]["Properties"]
    assert (flow["ResourceType"], flow["TrafficType"]) == ("VPC", "ALL")
    assert flow["LogGroupName"] == {"Ref": "FlowLogGroup"}
    group = template["Resources"]["FlowLogGroup"]
    assert group["Properties"]["RetentionInDays"] == 30
    trust = template["Resources"]["FlowLogRole"]["Properties"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": ["vpc-flow-logs.amazonaws.com"]}


def test_prod_config_spans_three_zones(built):
    template = built.template("microservices/prod", "network")
    assert len(resources_of_type(template, "AWS::EC2::NatGateway")) == 3
    dev = built.template("microservices/dev", "network")
    assert len(resources_of_type(dev, "AWS::EC2::NatGateway")) == 1
