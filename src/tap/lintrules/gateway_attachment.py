"""E9011: Elastic IPs and NAT gateways wait for the internet gateway's attachment."""

import sys
from pathlib import Path

from cfnlint.rules import CloudFormationLintRule, RuleMatch

if str(Path(__file__).resolve().parents[2]) not in sys.path:  # loaded by path: make tap importable
    sys.path.append(str(Path(__file__).resolve().parents[2]))

from tap.lintrules._policies import as_list, references, resources  # noqa: E402


def _depends(resource) -> set[str]:
    return set(as_list(resource.get("DependsOn", []))) | references(resource.get("Properties") or {})


class WaitForGatewayAttachment(CloudFormationLintRule):
    id = "E9011"
    shortdesc = "EIPs and NAT gateways depend on the internet gateway attachment"
    description = (
        "In a template that attaches an internet gateway, every AWS::EC2::EIP and "
        "AWS::EC2::NatGateway depends on the AWS::EC2::VPCGatewayAttachment (directly or "
        "through what it references): an EIP in the VPC, or a NAT gateway's public route, "
        "fails to create or to delete cleanly while the gateway is not attached."
    )
    source_url = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-dependson.html#gatewayattachment"
    tags = ["tap", "ec2", "ordering"]

    def match(self, cfn):
        template = cfn.template
        attachments = {name for name, _, _ in resources(template, "AWS::EC2::VPCGatewayAttachment")}
        if not attachments:
            return []
        graph = {logical_id: _depends(resource) for logical_id, resource, _ in resources(template)}
        matches = []
        for logical_id, resource, path in resources(template, "AWS::EC2::EIP", "AWS::EC2::NatGateway"):
            seen, todo = set(), [logical_id]
            while todo:
                current = todo.pop()
                for target in graph.get(current, ()):
                    if target not in seen:
                        seen.add(target)
                        todo.append(target)
            if not seen & attachments:
                needed = ", ".join(sorted(attachments))
                matches.append(RuleMatch(path, f"{logical_id} ({resource['Type']}) must DependsOn {needed}"))
        return matches
