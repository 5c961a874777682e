"""Storage stack: the artefacts bucket, the static-assets bucket and the log buckets.

- artefacts: pipeline artefacts (source zips, imagedefinitions.json);
  versioned, encrypted, TLS-only, private, replaced versions expire after
  90 days.
- static: files CloudFront serves under /static/*. Its bucket policy is
  written by the cdn stack, which knows the distribution it admits.
- logs: S3 server access logs of the two buckets above and the load
  balancer's access logs (delivered by the ELB log-delivery service
  principal, which needs no per-region ELB account id).
- cdn-logs: CloudFront standard logs (a bucket with ACLs, which CloudFront's
  legacy log delivery requires; logging v2 would avoid ACLs but needs its
  delivery source in us-east-1, and this platform may live in any region).
"""

from __future__ import annotations

from dataclasses import dataclass

from awacs import s3 as s3_actions
from awacs.aws import Allow, Principal, Statement
from troposphere import GetAtt, Join, Ref

from tap.blocks.buckets import (
    AccessLogs,
    Lifecycle,
    SecureBucket,
    access_log_bucket,
    secure_bucket,
)
from tap.blocks.cloudfront import cloudfront_log_bucket
from tap.cfnvalue import CfnValue
from tap.config.microservices import MicroservicesSettings
from tap.stacktree import Stack
from tap.wiring import publish, wire

LOAD_BALANCER_LOG_PREFIX = "alb"


def storage_stack(settings: MicroservicesSettings) -> Stack:
    stack = Stack("storage", "tap microservices: artefacts, static assets and log buckets")
    logs = add_logs_bucket(stack, settings.load_balancer.log_expiry_days)
    cdn_logs = cloudfront_log_bucket(stack, "CdnLogsBucket", settings.cdn.log_expiry_days)
    artifacts = add_artifacts_bucket(stack, logs)
    static = add_static_bucket(stack, logs)
    add_outputs(stack, logs, cdn_logs, artifacts, static)
    return stack


def add_logs_bucket(stack: Stack, expire_after_days: int) -> SecureBucket:
    logs = access_log_bucket(stack, "LogsBucket", expire_after_days=expire_after_days)
    logs.allow(
        Statement(
            Sid="AllowLoadBalancerLogDelivery",
            Effect=Allow,
            Principal=Principal("Service", ["logdelivery.elasticloadbalancing.amazonaws.com"]),
            Action=[s3_actions.PutObject],
            Resource=[Join("", [logs.ref.arn, f"/{LOAD_BALANCER_LOG_PREFIX}/AWSLogs/",
                                Ref("AWS::AccountId"), "/*"])],
        )
    )
    return logs


def add_artifacts_bucket(stack: Stack, logs: SecureBucket) -> SecureBucket:
    return secure_bucket(
        stack, "ArtifactsBucket",
        lifecycle=Lifecycle(noncurrent_expire_after_days=90),
        access_logs=AccessLogs(bucket=logs.ref, prefix="s3/artifacts/"),
    )


def add_static_bucket(stack: Stack, logs: SecureBucket) -> SecureBucket:
    return secure_bucket(
        stack, "StaticBucket",
        lifecycle=Lifecycle(noncurrent_expire_after_days=90),
        access_logs=AccessLogs(bucket=logs.ref, prefix="s3/static/"),
        own_policy=False,  # the cdn stack writes it, scoped to the distribution
    )


@dataclass(frozen=True)
class StorageOutputs:
    logs_bucket_name: CfnValue = wire("Bucket receiving S3 and load balancer access logs.")
    cdn_logs_bucket_domain_name: CfnValue = wire(
        "Bucket receiving CloudFront standard logs (its global domain name).")
    artifacts_bucket_name: CfnValue = wire("Bucket holding pipeline artefacts.")
    static_bucket_name: CfnValue = wire("Bucket of static assets served under /static/.")
    static_bucket_arn: CfnValue = wire("ARN of the static-assets bucket.")
    static_bucket_domain_name: CfnValue = wire(
        "Regional domain name of the static-assets bucket, the CloudFront origin.")


def add_outputs(
    stack: Stack, logs: SecureBucket, cdn_logs: SecureBucket, artifacts: SecureBucket,
    static: SecureBucket,
) -> None:
    publish(stack, StorageOutputs(
        logs_bucket_name=logs.ref.name,
        cdn_logs_bucket_domain_name=GetAtt(cdn_logs.resource, "DomainName"),
        artifacts_bucket_name=artifacts.ref.name,
        static_bucket_name=static.ref.name,
        static_bucket_arn=static.ref.arn,
        static_bucket_domain_name=static.regional_domain_name,
    ))
