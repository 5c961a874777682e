"""Storage stack: the private binaries bucket and the access-log bucket.

The binaries bucket's policy lives in the cdn stack: it names the CloudFront
distribution allowed to read (AWS:SourceArn), which does not exist yet here.
"""

from __future__ import annotations

from tap.blocks.buckets import (
    AccessLogs,
    Lifecycle,
    SecureBucket,
    access_log_bucket,
    secure_bucket,
)
from tap.config.distribution import StorageSettings
from tap.stacktree import Stack


def storage_stack(settings: StorageSettings) -> Stack:
    stack = Stack("storage", "tap distribution: binaries and access-log buckets")
    logs = add_logs_bucket(stack, settings)
    binaries = add_binaries_bucket(stack, settings, logs)
    stack.output("BinariesBucketName", binaries.ref.name, "Bucket holding release binaries.")
    stack.output("BinariesBucketArn", binaries.ref.arn, "ARN of the binaries bucket.")
    stack.output(
        "BinariesBucketDomainName", binaries.regional_domain_name,
        "Regional domain name of the binaries bucket, the CloudFront origin.",
    )
    stack.output("LogsBucketName", logs.ref.name, "Bucket receiving access logs.")
    stack.output("LogsBucketArn", logs.ref.arn, "ARN of the access-log bucket.")
    return stack


def add_logs_bucket(stack: Stack, settings: StorageSettings) -> SecureBucket:
    # vended_logs: CloudFront standard logging (v2) delivers through CloudWatch Logs.
    return access_log_bucket(
        stack, "LogsBucket", expire_after_days=settings.log_expiry_days, vended_logs=True
    )


def add_binaries_bucket(stack: Stack, settings: StorageSettings, logs: SecureBucket) -> SecureBucket:
    return secure_bucket(
        stack,
        "BinariesBucket",
        lifecycle=Lifecycle(
            noncurrent_expire_after_days=settings.noncurrent_version_expiry_days,
            intelligent_tiering_after_days=settings.intelligent_tiering_after_days,
            abort_multipart_after_days=settings.abort_multipart_after_days,
        ),
        access_logs=AccessLogs(bucket=logs.ref, prefix="s3/binaries/"),
        own_policy=False,
    )
