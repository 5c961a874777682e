"""E9009: Lambda@Edge functions stay within what CloudFront replicates and runs."""

import sys
from pathlib import Path

from cfnlint.rules import CloudFormationLintRule, RuleMatch

if str(Path(__file__).resolve().parents[2]) not in sys.path:  # loaded by path: make tap importable
    sys.path.append(str(Path(__file__).resolve().parents[2]))

from tap.lintrules._policies import TRUST, as_list, references, resources, statements  # noqa: E402

EDGE_SERVICE = "edgelambda.amazonaws.com"
# Viewer-event limits (the stricter ones), so a function may serve any trigger.
MAX_MEMORY_MB = 128
MAX_TIMEOUT_SECONDS = 5


def _edge_roles(template) -> set[str]:
    return {
        logical_id
        for logical_id, kind, statement, _ in statements(template)
        if kind == TRUST and EDGE_SERVICE in as_list((statement.get("Principal") or {}).get("Service", []))
    }


class LambdaEdgeLimits(CloudFormationLintRule):
    id = "E9009"
    shortdesc = "Lambda@Edge: no environment, 128 MB, 5 s, no tracing, retained version"
    description = (
        "A function whose role trusts edgelambda.amazonaws.com has no Environment (Lambda@Edge "
        "rejects it), at most 128 MB and 5 s (the viewer-event quotas), no active X-Ray "
        "tracing (unsupported at the edge), and a numbered AWS::Lambda::Version kept with "
        "DeletionPolicy Retain (CloudFront needs a version, and deletes replicas only hours "
        "after a distribution stops using it)."
    )
    source_url = "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/edge-functions-restrictions.html"
    tags = ["tap", "lambda", "cloudfront"]

    def match(self, cfn):
        template = cfn.template
        roles = _edge_roles(template)
        versions = {}
        for _, version, _ in resources(template, "AWS::Lambda::Version"):
            for target in references((version.get("Properties") or {}).get("FunctionName")):
                versions.setdefault(target, []).append(version)
        matches = []
        for logical_id, resource, path in resources(template, "AWS::Lambda::Function"):
            props = resource.get("Properties") or {}
            if not references(props.get("Role")) & roles:
                continue
            where = [*path, "Properties"]
            if "Environment" in props:
                matches.append(RuleMatch([*where, "Environment"], f"{logical_id}: Lambda@Edge allows no Environment"))
            if not isinstance(props.get("MemorySize", 128), int) or props.get("MemorySize", 128) > MAX_MEMORY_MB:
                matches.append(RuleMatch(where, f"{logical_id}: MemorySize must be at most {MAX_MEMORY_MB} MB"))
            if not isinstance(props.get("Timeout", 3), int) or props.get("Timeout", 3) > MAX_TIMEOUT_SECONDS:
                matches.append(RuleMatch(where, f"{logical_id}: Timeout must be at most {MAX_TIMEOUT_SECONDS} s"))
            if (props.get("TracingConfig") or {}).get("Mode") == "Active":
                matches.append(RuleMatch([*where, "TracingConfig"], f"{logical_id}: Lambda@Edge does not support X-Ray"))
            if not any(version.get("DeletionPolicy") == "Retain" for version in versions.get(logical_id, [])):
                matches.append(RuleMatch(path, f"{logical_id}: needs an AWS::Lambda::Version with DeletionPolicy Retain"))
        return matches
