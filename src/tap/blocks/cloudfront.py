"""CloudFront building blocks: S3 origins through Origin Access Control, signed-URL key
groups, CloudFront Functions, standard logging to S3, and a CLOUDFRONT-scope WAF.

Secure defaults: origins are reached only through OAC (SigV4 on every request, never a
legacy origin access identity) and the bucket policy names the one distribution allowed
to read; managed cache and security-header policies; WAF logs never contain the headers
passed in `redacted_headers`.

Two ways to keep standard logs: v2 (`access_logs_to_s3`, CloudWatch vended delivery, no
ACLs) needs its delivery source in us-east-1, so stacks that may live elsewhere use the
legacy logging into `cloudfront_log_bucket`, which keeps ACLs for CloudFront's grant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from awacs import s3 as s3_actions
from awacs.aws import Allow, Condition, Principal, Statement, StringEquals
from troposphere import GetAtt, If, NoValue, Ref, Sub, cloudfront, logs, s3, wafv2

from tap.blocks.arns import arn
from tap.blocks.buckets import Lifecycle, SecureBucket, secure_bucket
from tap.blocks.iam import BucketRef, LogGroupRef
from tap.blocks.lifecycle import suppress
from tap.blocks.naming import unique_name
from tap.cfnvalue import CfnValue
from tap.stacktree import Stack

# AWS-managed policies: the same ids in every account.
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
SECURITY_HEADERS = "67f7725c-6f97-4210-82d7-5512b31e9d03"
ALL_VIEWER = "216adef6-5c7f-47e4-b989-5492eafa07d3"  # origin request policy
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"


def distribution_arn(distribution: Any) -> Sub:
    return arn(
        "cloudfront", "distribution/${Distribution}", region="",
        Distribution=Ref(distribution) if hasattr(distribution, "title") else distribution,
    )


def origin_access_control(
    stack: Stack, logical_id: str,
    description: str = "CloudFront reads the private bucket with SigV4",
) -> cloudfront.OriginAccessControl:
    """SigV4-signs every origin request to S3, so the bucket can stay private."""
    return stack.add(
        cloudfront.OriginAccessControl(
            logical_id,
            OriginAccessControlConfig=cloudfront.OriginAccessControlConfig(
                Name=unique_name("oac"),
                Description=description,
                OriginAccessControlOriginType="s3",
                SigningBehavior="always",
                SigningProtocol="sigv4",
            ),
        )
    )


def cloudfront_read_statement(bucket: BucketRef, distribution: Any) -> Statement:
    """Lets exactly one distribution read objects (the OAC half of the bucket policy)."""
    return Statement(
        Sid="AllowCloudFrontRead",
        Effect=Allow,
        Principal=Principal("Service", ["cloudfront.amazonaws.com"]),
        Action=[s3_actions.GetObject],
        Resource=[bucket.objects_arn],
        Condition=Condition(StringEquals("AWS:SourceArn", distribution_arn(distribution))),
    )


@dataclass(frozen=True)
class KeySlot:
    """One place for a public key in a key group. A slot with a `condition` holds a key only
    while the condition is true (its parameter is not empty), so a key is added and removed
    by filling and emptying its slot; CloudFront cannot change a key in place."""

    suffix: str  # "" for the first slot, so its logical id and name stay as they were
    encoded_key: CfnValue
    condition: str | None = None


@dataclass(frozen=True)
class SigningKeys:
    public_keys: dict[str, cloudfront.PublicKey]  # by slot suffix
    key_group: cloudfront.KeyGroup


def signing_key_group(stack: Stack, logical_id: str, slots: list[KeySlot]) -> SigningKeys:
    """Public keys (PEM, from parameters), one per slot, in a key group that behaviours can
    trust. Keep at least one slot filled: a key group needs a key."""
    public_keys = {}
    for slot in slots:
        name = unique_name("signing-key" + (f"-{slot.suffix.lower()}" if slot.suffix else ""))
        key = cloudfront.PublicKey(
            f"{logical_id}PublicKey{slot.suffix}",
            PublicKeyConfig=cloudfront.PublicKeyConfig(
                CallerReference=name, EncodedKey=slot.encoded_key, Name=name,
                Comment="Verifies signed download URLs",
            ),
        )
        if slot.condition is not None:
            key.Condition = slot.condition
        public_keys[slot.suffix] = stack.add(key)
    items = [
        Ref(public_keys[slot.suffix]) if slot.condition is None
        else If(slot.condition, Ref(public_keys[slot.suffix]), NoValue)
        for slot in slots
    ]
    key_group = stack.add(
        cloudfront.KeyGroup(
            f"{logical_id}KeyGroup",
            KeyGroupConfig=cloudfront.KeyGroupConfig(
                Items=items,
                Name=unique_name("signing-keys"),
                Comment="Keys trusted for signed download URLs",
            ),
        )
    )
    return SigningKeys(public_keys, key_group)


def viewer_certificate(certificate_arn: CfnValue = None) -> cloudfront.ViewerCertificate:
    """The distribution's TLS certificate: an ACM certificate (which CloudFront reads only
    from us-east-1) served by SNI with TLS 1.2 at least, or CloudFront's own *.cloudfront.net
    certificate when `certificate_arn` is None."""
    if certificate_arn is None:
        return cloudfront.ViewerCertificate(CloudFrontDefaultCertificate=True)
    return cloudfront.ViewerCertificate(
        AcmCertificateArn=certificate_arn,
        SslSupportMethod="sni-only",
        MinimumProtocolVersion="TLSv1.2_2021",
    )


def viewer_function(stack: Stack, logical_id: str, code: str, comment: str) -> cloudfront.Function:
    """A published CloudFront Function (cloudfront-js-2.0) for viewer events."""
    return stack.add(
        cloudfront.Function(
            logical_id,
            Name=unique_name(logical_id.lower()[:20]),
            AutoPublish=True,
            FunctionCode=code,
            FunctionConfig=cloudfront.FunctionConfig(Comment=comment, Runtime="cloudfront-js-2.0"),
        )
    )


def access_logs_to_s3(stack: Stack, logical_id: str, distribution: Any, bucket_arn: CfnValue) -> None:
    """Standard logging (v2): CloudWatch vended-log delivery into a bucket, no ACLs needed.

    The bucket policy must allow delivery.logs.amazonaws.com (see
    `buckets.access_log_bucket`).
    """
    source = stack.add(
        logs.DeliverySource(
            f"{logical_id}Source",
            Name=Sub("${Distribution}-access", Distribution=Ref(distribution)),
            LogType="ACCESS_LOGS",
            ResourceArn=distribution_arn(distribution),
        )
    )
    destination = stack.add(
        logs.DeliveryDestination(
            f"{logical_id}Destination",
            Name=Sub("${Distribution}-s3", Distribution=Ref(distribution)),
            DestinationResourceArn=bucket_arn,
        )
    )
    stack.add(
        logs.Delivery(
            logical_id,
            DeliverySourceName=Ref(source),
            DeliveryDestinationArn=GetAtt(destination, "Arn"),
        )
    )


def _visibility(metric: str) -> wafv2.VisibilityConfig:
    return wafv2.VisibilityConfig(
        CloudWatchMetricsEnabled=True, MetricName=metric, SampledRequestsEnabled=True
    )


def _managed_rule(name: str, priority: int) -> wafv2.WebACLRule:
    return wafv2.WebACLRule(
        Name=name,
        Priority=priority,
        OverrideAction=wafv2.OverrideAction(**{"None": {}}),
        Statement=wafv2.Statement(
            ManagedRuleGroupStatement=wafv2.ManagedRuleGroupStatement(VendorName="AWS", Name=name)
        ),
        VisibilityConfig=_visibility(name),
    )


def edge_web_acl(
    stack: Stack,
    logical_id: str,
    rate_limit: int,
    log_group: LogGroupRef,
    redacted_headers: tuple[str, ...] = (),
) -> wafv2.WebACL:
    """A CLOUDFRONT-scope web ACL: per-IP rate limit plus AWS managed rule groups.

    Its log group name must start with `aws-waf-logs-`; `redacted_headers`
    never reach the logs (credentials carried in headers).
    """
    acl = stack.add(
        wafv2.WebACL(
            logical_id,
            Name=unique_name("edge"),
            Scope="CLOUDFRONT",
            DefaultAction=wafv2.DefaultAction(Allow=wafv2.AllowAction()),
            VisibilityConfig=_visibility(logical_id),
            Rules=[
                wafv2.WebACLRule(
                    Name="RatePerClientIp",
                    Priority=0,
                    Action=wafv2.RuleAction(Block=wafv2.BlockAction()),
                    Statement=wafv2.Statement(
                        RateBasedStatement=wafv2.RateBasedStatement(
                            Limit=rate_limit, AggregateKeyType="IP"
                        )
                    ),
                    VisibilityConfig=_visibility("RatePerClientIp"),
                ),
                _managed_rule("AWSManagedRulesAmazonIpReputationList", 1),
                _managed_rule("AWSManagedRulesCommonRuleSet", 2),
                _managed_rule("AWSManagedRulesKnownBadInputsRuleSet", 3),
            ],
        )
    )
    logging = wafv2.LoggingConfiguration(
        f"{logical_id}Logging",
        ResourceArn=GetAtt(acl, "Arn"),
        # WAF wants the log group ARN without the ":*" that GetAtt Arn carries.
        LogDestinationConfigs=[arn("logs", "log-group:${Group}", Group=log_group.name)],
    )
    if redacted_headers:
        logging.RedactedFields = [
            wafv2.LoggingConfigurationFieldToMatch(SingleHeader=wafv2.SingleHeader(Name=header))
            for header in redacted_headers
        ]
    stack.add(logging)
    return acl


def waf_log_group_name() -> Sub:
    """WAF only logs to groups named aws-waf-logs-*; the stack UUID keeps it unique."""
    return unique_name("aws-waf-logs-edge")



def cloudfront_log_bucket(stack: Stack, logical_id: str, expire_after_days: int) -> SecureBucket:
    """A bucket for CloudFront's legacy standard logging, which writes through an ACL grant
    to the awslogsdelivery account: ACLs stay enabled (BucketOwnerPreferred, objects still
    owned by the bucket owner); everything else is `secure_bucket`'s defaults, including all
    four Block Public Access flags (the grant is not public)."""
    log_bucket = secure_bucket(
        stack,
        logical_id,
        lifecycle=Lifecycle(expire_after_days=expire_after_days, noncurrent_expire_after_days=1),
    )
    log_bucket.resource.OwnershipControls = s3.OwnershipControls(
        Rules=[s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerPreferred")]
    )
    suppress(
        log_bucket.resource,
        CKV_AWS_18="This is a log destination; logging it into another bucket adds nothing.",
    )
    return log_bucket
