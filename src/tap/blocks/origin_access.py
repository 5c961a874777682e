"""CloudFront in front of private origins: Origin Access Control, its bucket
statement, CloudFront's managed policies and a bucket for CloudFront's logs.

- `origin_access_control`: CloudFront signs every request to an S3 origin
  (SigV4, always); the legacy Origin Access Identity is never used.
- `cloudfront_read_statement`: the bucket-policy statement that lets only
  the one distribution (`AWS:SourceArn`) read objects.
- `cloudfront_log_bucket`: CloudFront's standard (legacy) logging writes
  through an ACL grant to the awslogsdelivery account, so this one bucket
  keeps ACLs enabled (BucketOwnerPreferred, objects still owned by the
  bucket owner); everything else about it is `secure_bucket`'s defaults
  (all four Block Public Access flags: the grant is not public).
"""

from __future__ import annotations

from typing import Any

from awacs import s3 as s3_actions
from awacs.aws import Allow, Condition, Principal, Statement, StringEquals
from troposphere import Ref, Select, Split, Sub, cloudfront, s3

from tap.blocks.buckets import Lifecycle, SecureBucket, secure_bucket
from tap.blocks.iam import BucketRef
from tap.blocks.lifecycle import suppress
from tap.stacktree import Stack

# CloudFront managed policies (ids are the same in every account).
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
SECURITY_HEADERS = "67f7725c-6f97-4210-82d7-5512b31e9d03"


def origin_access_control(stack: Stack, logical_id: str, description: str) -> cloudfront.OriginAccessControl:
    # An OAC needs a name unique in the account; the stack's id is, and fits
    # the 64-character limit where a stack name might not.
    unique = Select(2, Split("/", Ref("AWS::StackId")))
    return stack.add(
        cloudfront.OriginAccessControl(
            logical_id,
            OriginAccessControlConfig=cloudfront.OriginAccessControlConfig(
                Name=Sub("oac-${Id}", Id=unique),
                Description=description,
                OriginAccessControlOriginType="s3",
                SigningBehavior="always",
                SigningProtocol="sigv4",
            ),
        )
    )


def cloudfront_read_statement(bucket: BucketRef, distribution_arn: Any) -> Statement:
    return Statement(
        Sid="AllowCloudFrontRead",
        Effect=Allow,
        Principal=Principal("Service", ["cloudfront.amazonaws.com"]),
        Action=[s3_actions.GetObject],
        Resource=[bucket.objects_arn],
        Condition=Condition(StringEquals("AWS:SourceArn", distribution_arn)),
    )


def distribution_arn(distribution: cloudfront.Distribution) -> Sub:
    return Sub(
        "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${Distribution}",
        Distribution=Ref(distribution),
    )


def cloudfront_log_bucket(stack: Stack, logical_id: str, expire_after_days: int) -> SecureBucket:
    logs = secure_bucket(
        stack,
        logical_id,
        lifecycle=Lifecycle(expire_after_days=expire_after_days, noncurrent_expire_after_days=1),
    )
    logs.resource.OwnershipControls = s3.OwnershipControls(
        Rules=[s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerPreferred")]
    )
    suppress(
        logs.resource,
        CKV_AWS_18="This is a log destination; logging it into another bucket adds nothing.",
    )
    return logs
