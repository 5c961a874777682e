"""E9010: a role a service assumes is assumable for this account's resources only."""

import sys
from pathlib import Path

from cfnlint.rules import CloudFormationLintRule, RuleMatch

if str(Path(__file__).resolve().parents[2]) not in sys.path:  # loaded by path: make tap importable
    sys.path.append(str(Path(__file__).resolve().parents[2]))

from tap.blocks.iam import SOURCE_KEYS_UNSUPPORTED  # noqa: E402
from tap.lintrules._policies import TRUST, as_list, statements  # noqa: E402

SOURCE_KEYS = ("aws:SourceAccount", "aws:SourceArn")


def _names_source(condition) -> bool:
    if not isinstance(condition, dict):
        return False
    return any(
        isinstance(keys, dict) and any(key in SOURCE_KEYS for key in keys)
        for keys in condition.values()
    )


class ServiceTrustNamesSource(CloudFormationLintRule):
    id = "E9010"
    shortdesc = "Service trusts carry aws:SourceAccount or aws:SourceArn"
    description = (
        "A trust statement allowing an AWS service principal to assume the role has a "
        "condition on aws:SourceAccount or aws:SourceArn, so another account cannot make the "
        "service act with this role (the cross-service confused deputy). Services that set "
        "neither key are listed, with why, in tap.blocks.iam.SOURCE_KEYS_UNSUPPORTED."
    )
    source_url = "https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html#cross-service-confused-deputy-prevention"
    tags = ["tap", "iam"]

    def match(self, cfn):
        matches = []
        for logical_id, kind, statement, path in statements(cfn.template):
            if kind != TRUST or statement.get("Effect") != "Allow":
                continue
            services = as_list((statement.get("Principal") or {}).get("Service", []))
            if not services or any(service in SOURCE_KEYS_UNSUPPORTED for service in services):
                continue
            if not _names_source(statement.get("Condition")):
                matches.append(RuleMatch(
                    path, f"{logical_id}: trust of {', '.join(map(str, services))} needs a condition "
                    "on aws:SourceAccount or aws:SourceArn",
                ))
        return matches
