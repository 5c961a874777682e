"""S3 buckets that are private, encrypted, versioned and TLS-only unless told otherwise.

Every bucket made here has all four Block Public Access flags, ACLs
disabled (BucketOwnerEnforced), default encryption, versioning, an
abort-incomplete-multipart-upload rule, a bucket policy that denies
non-TLS and pre-TLS-1.2 requests, and DeletionPolicy/UpdateReplacePolicy
Retain. Callers add lifecycle rules, access logging and policy statements.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from awacs import s3 as s3_actions
from awacs.aws import (
    Allow,
    ArnLike,
    Bool,
    Condition,
    Deny,
    NumericLessThan,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
)
from troposphere import GetAtt, Ref, s3

from tap.blocks.arns import arn
from tap.blocks.iam import BucketRef
from tap.blocks.lifecycle import retain, suppress
from tap.cfnvalue import CfnValue
from tap.stacktree import Stack


@dataclass(frozen=True)
class Lifecycle:
    """Object lifecycle of a bucket; None switches a rule off."""

    expire_after_days: int | None = None
    noncurrent_expire_after_days: int | None = 90
    intelligent_tiering_after_days: int | None = None
    abort_multipart_after_days: int = 7


@dataclass(frozen=True)
class AccessLogs:
    """Where a bucket's server access logs go."""

    bucket: BucketRef
    prefix: str


@dataclass
class SecureBucket:
    resource: s3.Bucket
    ref: BucketRef
    statements: list[Statement] = field(default_factory=list)

    def allow(self, statement: Statement) -> None:
        """Add a statement to this bucket's policy (after the TLS-only denies)."""
        self.statements.append(statement)

    @property
    def regional_domain_name(self) -> GetAtt:
        return GetAtt(self.resource, "RegionalDomainName")


def tls_only_statements(bucket: BucketRef) -> list[Statement]:
    """Deny any request over plain HTTP or TLS older than 1.2."""
    everything = [bucket.arn, bucket.objects_arn]
    return [
        Statement(
            Sid="DenyInsecureTransport",
            Effect=Deny,
            Principal=Principal("*"),
            Action=[s3_actions.Action("*")],
            Resource=everything,
            Condition=Condition(Bool("aws:SecureTransport", "false")),
        ),
        Statement(
            Sid="DenyOutdatedTls",
            Effect=Deny,
            Principal=Principal("*"),
            Action=[s3_actions.Action("*")],
            Resource=everything,
            Condition=Condition(NumericLessThan("s3:TlsVersion", "1.2")),
        ),
    ]


def bucket_policy(
    stack: Stack, logical_id: str, bucket: BucketRef, statements: list[Statement]
) -> s3.BucketPolicy:
    """The one policy of `bucket`: TLS-only denies first, then `statements`.

    Usable from another nested stack than the bucket's, for statements that
    need something created later (a CloudFront distribution's ARN).
    """
    policy = s3.BucketPolicy(
        logical_id,
        Bucket=bucket.name,
        PolicyDocument=PolicyDocument(
            Version="2012-10-17", Statement=tls_only_statements(bucket) + list(statements)
        ),
    )
    return stack.add(policy)


def _lifecycle_rules(lifecycle: Lifecycle) -> list[s3.LifecycleRule]:
    rules = [
        s3.LifecycleRule(
            Id="AbortIncompleteUploads",
            Status="Enabled",
            AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(
                DaysAfterInitiation=lifecycle.abort_multipart_after_days
            ),
        )
    ]
    if lifecycle.expire_after_days is not None:
        rules.append(
            s3.LifecycleRule(
                Id="ExpireObjects", Status="Enabled", ExpirationInDays=lifecycle.expire_after_days
            )
        )
    if lifecycle.noncurrent_expire_after_days is not None:
        rules.append(
            s3.LifecycleRule(
                Id="ExpireNoncurrentVersions",
                Status="Enabled",
                NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(
                    NoncurrentDays=lifecycle.noncurrent_expire_after_days
                ),
            )
        )
    if lifecycle.intelligent_tiering_after_days is not None:
        rules.append(
            s3.LifecycleRule(
                Id="IntelligentTiering",
                Status="Enabled",
                Transitions=[
                    s3.LifecycleRuleTransition(
                        StorageClass="INTELLIGENT_TIERING",
                        TransitionInDays=lifecycle.intelligent_tiering_after_days,
                    )
                ],
            )
        )
    return rules


def _encryption() -> s3.BucketEncryption:
    default = s3.ServerSideEncryptionByDefault(SSEAlgorithm="AES256")
    return s3.BucketEncryption(
        ServerSideEncryptionConfiguration=[
            s3.ServerSideEncryptionRule(ServerSideEncryptionByDefault=default)
        ]
    )


def secure_bucket(
    stack: Stack,
    logical_id: str,
    *,
    lifecycle: Lifecycle = Lifecycle(),
    access_logs: AccessLogs | None = None,
    bucket_name: CfnValue = None,
    own_policy: bool = True,
) -> SecureBucket:
    """A private bucket with the secure defaults listed in this module's docstring.

    `own_policy=False` leaves the bucket policy to the caller, who must then
    create it with `bucket_policy()` (which keeps the TLS-only denies).
    """
    bucket = s3.Bucket(
        logical_id,
        BucketEncryption=_encryption(),
        PublicAccessBlockConfiguration=s3.PublicAccessBlockConfiguration(
            BlockPublicAcls=True,
            BlockPublicPolicy=True,
            IgnorePublicAcls=True,
            RestrictPublicBuckets=True,
        ),
        OwnershipControls=s3.OwnershipControls(
            Rules=[s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]
        ),
        VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
        LifecycleConfiguration=s3.LifecycleConfiguration(Rules=_lifecycle_rules(lifecycle)),
    )
    if bucket_name is not None:
        bucket.BucketName = bucket_name
    if access_logs is not None:
        bucket.LoggingConfiguration = s3.LoggingConfiguration(
            DestinationBucketName=access_logs.bucket.name, LogFilePrefix=access_logs.prefix
        )
    retain(stack.add(bucket))
    ref = BucketRef(label=logical_id, name=Ref(bucket), arn=GetAtt(bucket, "Arn"))
    block = SecureBucket(resource=bucket, ref=ref)
    if own_policy:
        stack.before_render(
            lambda: bucket_policy(stack, f"{logical_id}Policy", ref, block.statements)
        )
    return block


def access_log_bucket(
    stack: Stack, logical_id: str, expire_after_days: int, *, vended_logs: bool = False
) -> SecureBucket:
    """A bucket that receives S3 server access logs from buckets of this account.

    Delivery is granted to the S3 logging service principal by bucket policy
    (ACLs stay disabled), limited to this account's buckets. `vended_logs`
    also admits CloudWatch vended-log delivery (CloudFront standard logging
    v2 and other services), limited to log sources of this account and region.
    """
    logs = secure_bucket(
        stack,
        logical_id,
        lifecycle=Lifecycle(expire_after_days=expire_after_days, noncurrent_expire_after_days=1),
    )
    suppress(
        logs.resource,
        CKV_AWS_18="This is the access-log destination; logging it into itself would loop.",
    )
    logs.allow(
        Statement(
            Sid="AllowServerAccessLogDelivery",
            Effect=Allow,
            Principal=Principal("Service", ["logging.s3.amazonaws.com"]),
            Action=[s3_actions.PutObject],
            Resource=[logs.ref.objects_arn],
            Condition=Condition(StringEquals("aws:SourceAccount", Ref("AWS::AccountId"))),
        )
    )
    if vended_logs:
        for statement in vended_log_delivery_statements(logs.ref):
            logs.allow(statement)
    return logs


def vended_log_delivery_statements(bucket: BucketRef) -> list[Statement]:
    """What CloudWatch Logs' delivery service needs to write vended logs into `bucket`."""
    this_account = StringEquals("aws:SourceAccount", Ref("AWS::AccountId"))
    log_sources = ArnLike(
        "aws:SourceArn", arn("logs", "*")
    )
    service = Principal("Service", ["delivery.logs.amazonaws.com"])
    return [
        Statement(
            Sid="AllowVendedLogDelivery",
            Effect=Allow,
            Principal=service,
            Action=[s3_actions.PutObject],
            Resource=[bucket.objects_arn],
            Condition=Condition([
                StringEquals({
                    "aws:SourceAccount": Ref("AWS::AccountId"),
                    "s3:x-amz-acl": "bucket-owner-full-control",
                }),
                log_sources,
            ]),
        ),
        Statement(
            Sid="AllowVendedLogAclCheck",
            Effect=Allow,
            Principal=service,
            Action=[s3_actions.GetBucketAcl, s3_actions.ListBucket],
            Resource=[bucket.arn],
            Condition=Condition([this_account, log_sources]),
        ),
    ]
