"""E9013: every bucket blocks public access and is encrypted."""

import sys
from pathlib import Path

from cfnlint.rules import CloudFormationLintRule, RuleMatch

if str(Path(__file__).resolve().parents[2]) not in sys.path:  # loaded by path: make tap importable
    sys.path.append(str(Path(__file__).resolve().parents[2]))

from tap.lintrules._policies import properties, resources  # noqa: E402

FLAGS = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")


class PrivateEncryptedBuckets(CloudFormationLintRule):
    id = "E9013"
    shortdesc = "Buckets block all public access and set encryption"
    description = (
        "Every AWS::S3::Bucket sets all four Block Public Access flags to true and a "
        "BucketEncryption configuration: content reaches the public only through CloudFront."
    )
    source_url = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html"
    tags = ["tap", "s3"]

    def match(self, cfn):
        matches = []
        for logical_id, resource, path in resources(cfn.template, "AWS::S3::Bucket"):
            props = properties(resource)
            flags = props.get("PublicAccessBlockConfiguration") or {}
            missing = [flag for flag in FLAGS if flags.get(flag) is not True]
            if missing:
                matches.append(RuleMatch(path, f"{logical_id} must set {', '.join(missing)} to true"))
            if "BucketEncryption" not in props:
                matches.append(RuleMatch(path, f"{logical_id} must set BucketEncryption"))
        return matches
