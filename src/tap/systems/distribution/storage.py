"""Storage stack: the private binaries bucket and the access-log bucket.

The binaries bucket's policy lives in the cdn stack: it names the CloudFront
distribution allowed to read (AWS:SourceArn), which does not exist yet here.
"""

from __future__ import annotations

from dataclasses import dataclass

from tap.blocks.buckets import (
    AccessLogs,
    Lifecycle,
    SecureBucket,
    access_log_bucket,
    secure_bucket,
)
from tap.cfnvalue import CfnValue
from tap.config.distribution import StorageSettings
from tap.stacktree import Stack
from tap.wiring import publish, wire


@dataclass(frozen=True)
class StorageOutputs:
    binaries_bucket_name: CfnValue = wire("Bucket holding release binaries.")
    binaries_bucket_arn: CfnValue = wire("ARN of the binaries bucket.")
    binaries_bucket_domain_name: CfnValue = wire(
        "Regional domain name of the binaries bucket, the CloudFront origin.")
    logs_bucket_name: CfnValue = wire("Bucket receiving access logs.")
    logs_bucket_arn: CfnValue = wire("ARN of the access-log bucket.")


def storage_stack(settings: StorageSettings) -> Stack:
    stack = Stack("storage", "tap distribution: binaries and access-log buckets")
    logs = add_logs_bucket(stack, settings)
    binaries = add_binaries_bucket(stack, settings, logs)
    publish(stack, StorageOutputs(
        binaries_bucket_name=binaries.ref.name,
        binaries_bucket_arn=binaries.ref.arn,
        binaries_bucket_domain_name=binaries.regional_domain_name,
        logs_bucket_name=logs.ref.name,
        logs_bucket_arn=logs.ref.arn,
    ))
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
