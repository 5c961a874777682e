"""E9005: every bucket policy denies requests that do not use TLS."""

import sys
from pathlib import Path

from cfnlint.rules import CloudFormationLintRule, RuleMatch

if str(Path(__file__).resolve().parents[2]) not in sys.path:  # loaded by path: make tap importable
    sys.path.append(str(Path(__file__).resolve().parents[2]))

from tap.lintrules._policies import as_list, branches, properties, resources  # noqa: E402


def _denies_plain_http(document) -> bool:
    for listed, _ in branches(document.get("Statement", []), []):
        for statement in as_list(listed):
            condition = statement.get("Condition", {}) if isinstance(statement, dict) else {}
            secure = (condition.get("Bool") or {}).get("aws:SecureTransport")
            if statement.get("Effect") == "Deny" and str(secure).lower() == "false":
                return True
    return False


class BucketPolicyDeniesPlainHttp(CloudFormationLintRule):
    id = "E9005"
    shortdesc = "Bucket policies deny non-TLS requests"
    description = (
        "Every AWS::S3::BucketPolicy, in every branch of its conditions, has a Deny "
        "statement on aws:SecureTransport false, so no object travels unencrypted."
    )
    source_url = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html"
    tags = ["tap", "s3"]

    def match(self, cfn):
        matches = []
        for logical_id, resource, path in resources(cfn.template, "AWS::S3::BucketPolicy"):
            document = properties(resource).get("PolicyDocument", {})
            for variant, variant_path in branches(document, [*path, "Properties", "PolicyDocument"]):
                if not (isinstance(variant, dict) and _denies_plain_http(variant)):
                    matches.append(RuleMatch(
                        variant_path, f"{logical_id} must deny s3:* when aws:SecureTransport is false",
                    ))
        return matches
