"""E9008: containers run unprivileged on a read-only root, secrets only through Secrets."""

import re
import sys
from pathlib import Path

from cfnlint.rules import CloudFormationLintRule, RuleMatch

if str(Path(__file__).resolve().parents[2]) not in sys.path:  # loaded by path: make tap importable
    sys.path.append(str(Path(__file__).resolve().parents[2]))

from tap.lintrules._policies import as_list, properties, resources, strings  # noqa: E402

SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY|API_KEY|CREDENTIAL", re.IGNORECASE)
SECRET_REFERENCE = re.compile(r"\{\{resolve:(secretsmanager|ssm-secure):")


class TaskDefinitionHardened(CloudFormationLintRule):
    id = "E9008"
    shortdesc = "Task definitions: unprivileged, read-only root, secrets via Secrets"
    description = (
        "Every container of an AWS::ECS::TaskDefinition is not Privileged, sets "
        "ReadonlyRootFilesystem true, and takes secrets only through Secrets (ValueFrom a "
        "secret's ARN, injected at start): no Environment entry with a secret-like name or a "
        "{{resolve:secretsmanager}} value, which would put the value in the task definition."
    )
    source_url = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/security-tasks-containers.html"
    tags = ["tap", "ecs"]

    def match(self, cfn):
        matches = []
        for logical_id, resource, path in resources(cfn.template, "AWS::ECS::TaskDefinition"):
            definitions = as_list(properties(resource).get("ContainerDefinitions", []))
            for index, container in enumerate(definitions):
                if not isinstance(container, dict):
                    continue
                where = [*path, "Properties", "ContainerDefinitions", index]
                name = f"{logical_id} container {container.get('Name')}"
                if container.get("Privileged") not in (None, False):
                    matches.append(RuleMatch([*where, "Privileged"], f"{name} must not be privileged"))
                if container.get("ReadonlyRootFilesystem") is not True:
                    matches.append(RuleMatch(where, f"{name} must set ReadonlyRootFilesystem true"))
                for position, variable in enumerate(as_list(container.get("Environment", []))):
                    if not isinstance(variable, dict):
                        continue
                    variable_path = [*where, "Environment", position]
                    if SECRET_NAME.search(str(variable.get("Name", ""))):
                        matches.append(RuleMatch(
                            variable_path, f"{name}: {variable.get('Name')} looks secret; pass it in Secrets",
                        ))
                    elif any(SECRET_REFERENCE.search(text) for text, _ in strings(variable.get("Value"), [])):
                        matches.append(RuleMatch(
                            variable_path, f"{name}: {variable.get('Name')} resolves a secret; pass it in Secrets",
                        ))
        return matches
