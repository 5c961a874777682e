"""E9004: no Action "*", and "*" resources only where the API accepts nothing else."""

import sys
from pathlib import Path

from cfnlint.rules import CloudFormationLintRule, RuleMatch

if str(Path(__file__).resolve().parents[2]) not in sys.path:  # loaded by path: make tap importable
    sys.path.append(str(Path(__file__).resolve().parents[2]))

from tap.lintrules._policies import KEY_POLICY, TRUST, as_list, statements  # noqa: E402

# Allow statements that may name Resource "*", by statement id: the APIs they call have
# no resource-level permissions. Each entry says which API and why.
STAR_RESOURCE_SIDS = {
    "WriteTraces": "xray:PutTraceSegments and PutTelemetryRecords accept only Resource *",
    "AuthorizeEcr": "ecr:GetAuthorizationToken accepts only Resource *",
    "ManageTaskDefinitions": "ecs:RegisterTaskDefinition and DescribeTaskDefinition accept only Resource *",
    "ListClusterTasks": "ecs:ListTasks accepts only Resource *; the ecs:cluster condition scopes it",
    "ListOidcProviders": "iam:ListOpenIDConnectProviders accepts only Resource *",
    "ReadTaskDefinitions": "ecs:DescribeTaskDefinition accepts only Resource *",
    "ManageTapResourceTypes": (
        "the CloudFormation and StackSet execution roles create every resource type the "
        "templates use, by name unknown in advance: service-wide actions on *, an "
        "administrator in effect (docs/security.md)"
    ),
}


def _service_wide(action) -> bool:
    return isinstance(action, str) and action.endswith(":*")


class PolicyWildcards(CloudFormationLintRule):
    id = "E9004"
    shortdesc = "No Action * and no unlisted Resource * in Allow statements"
    description = (
        "Every Allow statement of every identity and resource policy names its actions; "
        "Resource * (and with it any service-wide action such as s3:*) appears only in "
        "statements listed in STAR_RESOURCE_SIDS with the API that requires it. Key "
        "policies are exempt from the Resource check: there * means the key itself."
    )
    source_url = "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege"
    tags = ["tap", "iam"]

    def match(self, cfn):
        matches = []
        for logical_id, kind, statement, path in statements(cfn.template):
            if statement.get("Effect") != "Allow" or kind == TRUST:
                continue
            allowed = as_list(statement.get("Action", []))
            if "*" in allowed:
                matches.append(RuleMatch([*path, "Action"], f"{logical_id}: Action * allows everything"))
            if kind == KEY_POLICY or "*" not in as_list(statement.get("Resource", [])):
                continue
            sid = statement.get("Sid")
            if sid in STAR_RESOURCE_SIDS:
                continue
            wide = [action for action in allowed if _service_wide(action)]
            what = f"service-wide {', '.join(wide)} on Resource *" if wide else "Resource *"
            matches.append(RuleMatch(
                [*path, "Resource"],
                f"{logical_id}: statement {sid or '(no Sid)'} allows {what}; scope it, or add the "
                f"Sid with the API that needs * to STAR_RESOURCE_SIDS",
            ))
        return matches
