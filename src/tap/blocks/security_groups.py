"""Security groups that admit only what they are told to, in and out.

EC2 gives a new security group an allow-all egress rule unless the
template lists egress rules. A group made here with no `egress` gets a
single rule that matches no traffic instead (the same device aws-cdk uses
for `allowAllOutbound: false`), so it allows nothing out. Every rule needs
a description.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from troposphere import Sub, Tags, ec2

from tap.cfnvalue import CfnValue
from tap.stacktree import Stack

# ICMP type 252 code 86 does not exist: a rule that matches no packet.
_NO_TRAFFIC = ec2.SecurityGroupRule(
    IpProtocol="icmp", FromPort=252, ToPort=86, CidrIp="255.255.255.255/32",
    Description="Disallow all outbound traffic",
)


@dataclass(frozen=True)
class Rule:
    """TCP `port` (or `port`..`to_port`) from/to a peer: a CIDR, a security group or a prefix list."""

    description: str
    port: int
    to_port: int | None = None
    cidr: CfnValue = None
    group: CfnValue = None
    prefix_list: CfnValue = None

    def __post_init__(self) -> None:
        if not self.description.strip():
            raise ValueError(f"the rule for port {self.port} needs a description")

    def as_ingress(self) -> ec2.SecurityGroupRule:
        rule = self._rule()
        if self.group is not None:
            rule.SourceSecurityGroupId = self.group
        if self.prefix_list is not None:
            rule.SourcePrefixListId = self.prefix_list
        return rule

    def as_egress(self) -> ec2.SecurityGroupRule:
        rule = self._rule()
        if self.group is not None:
            rule.DestinationSecurityGroupId = self.group
        if self.prefix_list is not None:
            rule.DestinationPrefixListId = self.prefix_list
        return rule

    def _rule(self) -> ec2.SecurityGroupRule:
        peers = [peer for peer in (self.cidr, self.group, self.prefix_list) if peer is not None]
        if len(peers) != 1:
            raise ValueError(f"rule {self.description!r} needs exactly one peer")
        rule = ec2.SecurityGroupRule(
            IpProtocol="tcp", FromPort=self.port,
            ToPort=self.port if self.to_port is None else self.to_port,
            Description=self.description,
        )
        if self.cidr is not None:
            rule.CidrIp = self.cidr
        return rule


def security_group(
    stack: Stack,
    logical_id: str,
    description: str,
    *,
    vpc_id: CfnValue,
    ingress: Sequence[Rule] = (),
    egress: Sequence[Rule] = (),
) -> ec2.SecurityGroup:
    group = ec2.SecurityGroup(
        logical_id,
        GroupDescription=description,
        VpcId=vpc_id,
        SecurityGroupEgress=[rule.as_egress() for rule in egress] or [_NO_TRAFFIC],
        Tags=Tags(Name=Sub("${AWS::StackName}-" + logical_id)),
    )
    if ingress:
        group.SecurityGroupIngress = [rule.as_ingress() for rule in ingress]
    return stack.add(group)

