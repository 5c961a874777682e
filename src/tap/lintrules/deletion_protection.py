"""E9014: in prod, databases and load balancers refuse to be deleted."""

import json
import sys
from pathlib import Path

from cfnlint.rules import CloudFormationLintRule, RuleMatch

if str(Path(__file__).resolve().parents[2]) not in sys.path:  # loaded by path: make tap importable
    sys.path.append(str(Path(__file__).resolve().parents[2]))

from tap.lintrules._environment import in_prod  # noqa: E402
from tap.lintrules._policies import properties, resources  # noqa: E402

# Where each type keeps its switch: a property, or a load balancer attribute.
PROPERTY = {
    "AWS::RDS::DBInstance": "DeletionProtection",
    "AWS::RDS::DBCluster": "DeletionProtection",
    "AWS::DynamoDB::Table": "DeletionProtectionEnabled",
}
GLOBAL_TABLE = "AWS::DynamoDB::GlobalTable"  # the switch is on each replica
LOAD_BALANCER = "AWS::ElasticLoadBalancingV2::LoadBalancer"
LOAD_BALANCER_ATTRIBUTE = "deletion_protection.enabled"


def _on(value) -> bool:
    """A literal true (CloudFormation also takes the string "true" for a boolean)."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _problem(name: str, value) -> str | None:
    if isinstance(value, dict):
        return f"{name} must be a literal true in prod, not an intrinsic function ({', '.join(value) or '{}'})"
    if not _on(value):
        return f"{name} must be true in prod" + ("" if value is None else f", not {json.dumps(value)}")
    return None


class DeletionProtectionInProd(CloudFormationLintRule):
    id = "E9014"
    shortdesc = "Prod databases and load balancers have deletion protection"
    description = (
        "In a prod template (one in a folder named prod, as the build emits "
        "templates/SYSTEM/prod/NAME.template.json: a template's folder names its "
        "environment), every AWS::RDS::DBInstance and AWS::RDS::DBCluster sets "
        "DeletionProtection, every AWS::DynamoDB::Table DeletionProtectionEnabled (every "
        "replica of an AWS::DynamoDB::GlobalTable), and every "
        "AWS::ElasticLoadBalancingV2::LoadBalancer the attribute deletion_protection.enabled, "
        "to a literal true. A Ref, Fn::If or other intrinsic function is a finding: whether "
        "prod can be deleted is decided when the template is built and reviewed, not by a "
        "parameter at deploy time. Templates of other environments are not checked."
    )
    source_url = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-rds-dbinstance.html#cfn-rds-dbinstance-deletionprotection"
    tags = ["tap", "resources", "lifecycle", "prod"]

    def match(self, cfn):
        if not in_prod(cfn.filename):
            return []
        matches = []

        def check(path, logical_id, resource, name, value):
            problem = _problem(name, value)
            if problem:
                matches.append(RuleMatch(path, f"{logical_id} ({resource['Type']}): {problem}"))

        for logical_id, resource, path in resources(cfn.template, *PROPERTY):
            name = PROPERTY[resource["Type"]]
            check(path, logical_id, resource, name, properties(resource).get(name))
        for logical_id, resource, path in resources(cfn.template, GLOBAL_TABLE):
            replicas = properties(resource).get("Replicas")
            for index, replica in enumerate(replicas if isinstance(replicas, list) else [None]):
                value = replica.get("DeletionProtectionEnabled") if isinstance(replica, dict) else None
                check(path + ["Properties", "Replicas", index], logical_id, resource,
                      f"Replicas[{index}].DeletionProtectionEnabled", value)
        for logical_id, resource, path in resources(cfn.template, LOAD_BALANCER):
            attributes = properties(resource).get("LoadBalancerAttributes")
            values = [
                attribute.get("Value") for attribute in (attributes if isinstance(attributes, list) else [])
                if isinstance(attribute, dict) and attribute.get("Key") == LOAD_BALANCER_ATTRIBUTE
            ]
            check(path, logical_id, resource, f"LoadBalancerAttributes {LOAD_BALANCER_ATTRIBUTE}",
                  values[-1] if values else None)
        return matches
