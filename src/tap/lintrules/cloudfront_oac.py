"""E9006: CloudFront reads S3 origins through Origin Access Control."""

import sys
from pathlib import Path

from cfnlint.rules import CloudFormationLintRule, RuleMatch

if str(Path(__file__).resolve().parents[2]) not in sys.path:  # loaded by path: make tap importable
    sys.path.append(str(Path(__file__).resolve().parents[2]))

from tap.lintrules._policies import as_list, branches, properties, resources  # noqa: E402


class CloudFrontS3OriginsUseOac(CloudFormationLintRule):
    id = "E9006"
    shortdesc = "CloudFront S3 origins use Origin Access Control"
    description = (
        "An S3 origin (one with S3OriginConfig) sets OriginAccessControlId and leaves the "
        "legacy OriginAccessIdentity empty: OAC signs every request with SigV4, supports "
        "SSE-KMS, and lets the bucket policy name the one distribution that may read."
    )
    source_url = "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html"
    tags = ["tap", "cloudfront", "s3"]

    def match(self, cfn):
        matches = []
        for logical_id, resource, path in resources(cfn.template, "AWS::CloudFront::Distribution"):
            config = properties(resource).get("DistributionConfig")
            listed = config.get("Origins", []) if isinstance(config, dict) else []
            base = [*path, "Properties", "DistributionConfig", "Origins"]
            for origins, origins_path in branches(listed, base):
                for index, origin in enumerate(as_list(origins)):
                    if not isinstance(origin, dict) or "S3OriginConfig" not in origin:
                        continue
                    identity = (origin.get("S3OriginConfig") or {}).get("OriginAccessIdentity")
                    if not origin.get("OriginAccessControlId") or identity:
                        matches.append(RuleMatch(
                            [*origins_path, index],
                            f"{logical_id}: S3 origin {origin.get('Id')} must use OriginAccessControlId "
                            "and an empty OriginAccessIdentity",
                        ))
        return matches
