"""Network stack: VPC, public and private subnets per AZ, internet and NAT gateways,
route tables, S3/DynamoDB gateway endpoints and VPC flow logs.

Subnet CIDRs are carved from the VPC CIDR at build time, so the template
shows them literally. Availability zones are picked at deploy time with
Fn::GetAZs, so the template works in any region.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from awacs import logs as logs_actions
from troposphere import GetAtt, GetAZs, Join, Ref, Select, Sub, Tags, ec2

from tap.blocks.iam import Role, service_trust
from tap.blocks.logs import log_group
from tap.cfnvalue import CfnValue
from tap.config.microservices import NetworkSettings
from tap.stacktree import Stack
from tap.wiring import publish, wire

# The VPC is cut into 8 equal blocks: private subnets take the first three
# (one per AZ, most of the address space), public subnets the next three.
_BLOCKS = 8
_PRIVATE_FIRST = 0
_PUBLIC_FIRST = 3


@dataclass(frozen=True)
class Zone:
    """The subnets, route table and NAT gateway of one availability zone."""

    index: int
    public_subnet: ec2.Subnet
    private_subnet: ec2.Subnet
    private_route_table: ec2.RouteTable


def subnet_cidrs(settings: NetworkSettings) -> tuple[list[str], list[str]]:
    """(public, private) subnet CIDRs, one of each per AZ."""
    network = ipaddress.IPv4Network(settings.cidr)
    blocks = list(network.subnets(prefixlen_diff=3))
    assert len(blocks) == _BLOCKS
    public = [str(blocks[_PUBLIC_FIRST + index]) for index in range(settings.az_count)]
    private = [str(blocks[_PRIVATE_FIRST + index]) for index in range(settings.az_count)]
    return public, private


def network_stack(settings: NetworkSettings) -> Stack:
    stack = Stack("network", "tap microservices: VPC, subnets, gateways, endpoints, flow logs")
    vpc = add_vpc(stack, settings)
    internet = add_internet_gateway(stack, vpc)
    public_routes = add_public_route_table(stack, vpc, internet)
    zones = add_zones(stack, settings, vpc, public_routes, internet)
    add_gateway_endpoints(stack, vpc, zones)
    add_flow_logs(stack, vpc, settings)
    add_outputs(stack, vpc, zones)
    return stack


def _name(value: str) -> Tags:
    return Tags(Name=Sub("${AWS::StackName}-" + value))


def add_vpc(stack: Stack, settings: NetworkSettings) -> ec2.VPC:
    return stack.add(
        ec2.VPC(
            "Vpc",
            CidrBlock=settings.cidr,
            EnableDnsHostnames=True,
            EnableDnsSupport=True,
            Tags=_name("vpc"),
        )
    )


def add_internet_gateway(stack: Stack, vpc: ec2.VPC) -> ec2.VPCGatewayAttachment:
    gateway = stack.add(ec2.InternetGateway("InternetGateway", Tags=_name("igw")))
    return stack.add(
        ec2.VPCGatewayAttachment(
            "InternetGatewayAttachment", VpcId=Ref(vpc), InternetGatewayId=Ref(gateway)
        )
    )


def add_public_route_table(
    stack: Stack, vpc: ec2.VPC, attachment: ec2.VPCGatewayAttachment
) -> ec2.RouteTable:
    table = stack.add(ec2.RouteTable("PublicRouteTable", VpcId=Ref(vpc), Tags=_name("public")))
    stack.add(
        ec2.Route(
            "PublicDefaultRoute",
            RouteTableId=Ref(table),
            DestinationCidrBlock="0.0.0.0/0",
            GatewayId=attachment.InternetGatewayId,
            # A route to an internet gateway fails until the gateway is attached.
            DependsOn=[attachment.title],
        )
    )
    return table


def add_subnet(
    stack: Stack, vpc: ec2.VPC, tier: str, letter: str, zone: Select, cidr: str,
    routes: ec2.RouteTable,
) -> ec2.Subnet:
    """`<tier>Subnet<letter>` in `zone`, routed by `routes`; no public IPs on launch."""
    subnet = stack.add(
        ec2.Subnet(
            f"{tier}Subnet{letter}",
            VpcId=Ref(vpc),
            AvailabilityZone=zone,
            CidrBlock=cidr,
            MapPublicIpOnLaunch=False,
            Tags=_name(f"{tier.lower()}-{letter.lower()}"),
        )
    )
    stack.add(
        ec2.SubnetRouteTableAssociation(
            f"{tier}Subnet{letter}Routes", SubnetId=Ref(subnet), RouteTableId=Ref(routes)
        )
    )
    return subnet


def add_zones(
    stack: Stack, settings: NetworkSettings, vpc: ec2.VPC, public_routes: ec2.RouteTable,
    internet: ec2.VPCGatewayAttachment,
) -> list[Zone]:
    public_cidrs, private_cidrs = subnet_cidrs(settings)
    zones = []
    nat = None
    for index in range(settings.az_count):
        zone = Select(index, GetAZs(""))
        letter = "ABC"[index]
        public = add_subnet(stack, vpc, "Public", letter, zone, public_cidrs[index], public_routes)
        if nat is None or settings.nat == "per-az":
            nat = add_nat_gateway(stack, letter, public, internet)
        routes = stack.add(
            ec2.RouteTable(
                f"PrivateRouteTable{letter}", VpcId=Ref(vpc), Tags=_name(f"private-{letter.lower()}")
            )
        )
        stack.add(
            ec2.Route(
                f"PrivateDefaultRoute{letter}",
                RouteTableId=Ref(routes),
                DestinationCidrBlock="0.0.0.0/0",
                NatGatewayId=Ref(nat),
            )
        )
        private = add_subnet(stack, vpc, "Private", letter, zone, private_cidrs[index], routes)
        zones.append(Zone(index, public, private, routes))
    return zones


def add_nat_gateway(
    stack: Stack, letter: str, public_subnet: ec2.Subnet, internet: ec2.VPCGatewayAttachment
) -> ec2.NatGateway:
    # An Elastic IP in a VPC needs the internet gateway attached first (AWS::EC2::EIP
    # docs), and a NAT gateway needs it to reach the internet: without the DependsOn,
    # create can race the attachment and delete can detach the gateway while an
    # address is still mapped ("has some mapped public address(es)").
    address = stack.add(ec2.EIP(
        f"NatAddress{letter}", Domain="vpc", Tags=_name(f"nat-{letter.lower()}"),
        DependsOn=[internet.title],
    ))
    return stack.add(
        ec2.NatGateway(
            f"NatGateway{letter}",
            AllocationId=GetAtt(address, "AllocationId"),
            SubnetId=Ref(public_subnet),
            Tags=_name(f"nat-{letter.lower()}"),
            DependsOn=[internet.title],
        )
    )


def add_gateway_endpoints(stack: Stack, vpc: ec2.VPC, zones: list[Zone]) -> None:
    """S3 and DynamoDB traffic from private subnets stays off the NAT gateways."""
    route_tables = [Ref(zone.private_route_table) for zone in zones]
    for service, logical_id in (("s3", "S3Endpoint"), ("dynamodb", "DynamoDbEndpoint")):
        stack.add(
            ec2.VPCEndpoint(
                logical_id,
                VpcId=Ref(vpc),
                ServiceName=Sub(f"com.amazonaws.${{AWS::Region}}.{service}"),
                VpcEndpointType="Gateway",
                RouteTableIds=route_tables,
            )
        )


def add_flow_logs(stack: Stack, vpc: ec2.VPC, settings: NetworkSettings) -> None:
    logs = log_group(stack, "FlowLogGroup", settings.flow_log_retention_days)
    # Only flow logs of this account may use the role (confused deputy).
    role = Role(
        stack, "FlowLogRole", service_trust("vpc-flow-logs.amazonaws.com"),
        "Lets VPC Flow Logs write to its log group",
    )
    role.allow(
        "WriteFlowLogs",
        [
            logs_actions.CreateLogStream,
            logs_actions.PutLogEvents,
            logs_actions.DescribeLogGroups,
            logs_actions.DescribeLogStreams,
        ],
        [logs.ref.arn],
    )
    stack.add(
        ec2.FlowLog(
            "FlowLog",
            ResourceId=Ref(vpc),
            ResourceType="VPC",
            TrafficType="ALL",
            LogDestinationType="cloud-watch-logs",
            LogGroupName=logs.ref.name,
            DeliverLogsPermissionArn=role.arn,
            Tags=_name("flow-log"),
        )
    )


@dataclass(frozen=True)
class NetworkOutputs:
    vpc_id: CfnValue = wire("VPC of the platform.")
    vpc_cidr: CfnValue = wire("CIDR block of the VPC.")
    public_subnet_ids: CfnValue = wire("Public subnets, one per AZ (load balancer, NAT gateways).")
    private_subnet_ids: CfnValue = wire("Private subnets, one per AZ (services, database, cache).")


def add_outputs(stack: Stack, vpc: ec2.VPC, zones: list[Zone]) -> None:
    publish(stack, NetworkOutputs(
        vpc_id=Ref(vpc),
        vpc_cidr=GetAtt(vpc, "CidrBlock"),
        public_subnet_ids=Join(",", [Ref(zone.public_subnet) for zone in zones]),
        private_subnet_ids=Join(",", [Ref(zone.private_subnet) for zone in zones]),
    ))
