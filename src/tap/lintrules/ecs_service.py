"""E9007: ECS services roll back failed deployments and get no public IP."""

import sys
from pathlib import Path

from cfnlint.rules import CloudFormationLintRule, RuleMatch

if str(Path(__file__).resolve().parents[2]) not in sys.path:  # loaded by path: make tap importable
    sys.path.append(str(Path(__file__).resolve().parents[2]))

from tap.lintrules._policies import branches, properties, resources  # noqa: E402


class EcsServiceDeploysSafely(CloudFormationLintRule):
    id = "E9007"
    shortdesc = "ECS services: circuit breaker with rollback, no public IP"
    description = (
        "Every AWS::ECS::Service enables the deployment circuit breaker with rollback, so a "
        "task that never becomes healthy returns the service to its last working revision, "
        "and does not assign public IPs: tasks sit in private subnets behind the load balancer."
    )
    source_url = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html"
    tags = ["tap", "ecs"]

    def match(self, cfn):
        matches = []
        for logical_id, resource, path in resources(cfn.template, "AWS::ECS::Service"):
            props = properties(resource)
            breaker = (props.get("DeploymentConfiguration") or {}).get("DeploymentCircuitBreaker") or {}
            if not (breaker.get("Enable") is True and breaker.get("Rollback") is True):
                matches.append(RuleMatch(
                    [*path, "Properties", "DeploymentConfiguration"],
                    f"{logical_id} must set DeploymentCircuitBreaker Enable and Rollback to true",
                ))
            network = (props.get("NetworkConfiguration") or {}).get("AwsvpcConfiguration") or {}
            where = [*path, "Properties", "NetworkConfiguration", "AwsvpcConfiguration", "AssignPublicIp"]
            for value, value_path in branches(network.get("AssignPublicIp", "DISABLED"), where):
                if value != "DISABLED":
                    matches.append(RuleMatch(value_path, f"{logical_id} must not assign public IPs"))
        return matches
