"""CDN stack: the CloudFront distribution in front of the binaries bucket.

Two ways in, each a cache behaviour:
- default (`*`): the Lambda@Edge licence check runs on every viewer request
  (headers x-license-key / x-customer-id) before the cache is consulted;
- `signed/*`: CloudFront itself demands a URL signed by a key of the signing
  key group (issued by the licence API), then a CloudFront Function strips
  the `/signed` prefix so both routes serve the same objects.

The key group has two slots, A (`SigningPublicKey`) and B (`SigningPublicKeyB`),
each holding a key while its parameter is not empty; `ActiveSigningKey` names
the slot the licence API signs with (`PublicKeyId`). Rotation fills the empty
slot, switches, then empties the old one: CloudFront cannot change a key in place.

The bucket is reached only through Origin Access Control, and its policy
(here, because it names this distribution) lets only this distribution read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from troposphere import And, Condition, Equals, GetAtt, If, Not, Ref, cloudfront

from tap.blocks.buckets import bucket_policy
from tap.blocks.cloudfront import (
    CACHING_OPTIMIZED,
    SECURITY_HEADERS,
    KeySlot,
    SigningKeys,
    access_logs_to_s3,
    cloudfront_read_statement,
    edge_web_acl,
    origin_access_control,
    signing_key_group,
    viewer_certificate,
    viewer_function,
    waf_log_group_name,
)
from tap.blocks.iam import BucketRef
from tap.blocks.lifecycle import suppress
from tap.blocks.logs import log_group
from tap.cfnvalue import CfnValue
from tap.config.distribution import CdnSettings
from tap.package import FunctionPackager
from tap.stacktree import Stack
from tap.wiring import declare, publish, wire

SIGNED_PATH_PREFIX = "/signed"
BINARIES_ORIGIN = "binaries"
# Licence credentials arrive in these headers; WAF logs must never hold them.
LICENSE_HEADERS = ("x-license-key", "x-customer-id")
WAF_LOG_RETENTION_DAYS = 90


@dataclass(frozen=True)
class CdnInputs:
    binaries_bucket_name: CfnValue = wire("Bucket holding the binaries.")
    binaries_bucket_arn: CfnValue = wire("ARN of the binaries bucket.")
    binaries_bucket_domain_name: CfnValue = wire("Regional domain name of the binaries bucket.")
    logs_bucket_arn: CfnValue = wire("ARN of the bucket receiving CloudFront standard logs.")
    license_check_version_arn: CfnValue = wire("Numbered Lambda@Edge version for viewer requests.")
    signing_public_key: CfnValue = wire("PEM public key of signing slot A; empty: slot A holds no key.")
    signing_public_key_b: CfnValue = wire("PEM public key of signing slot B; empty: slot B holds no key.")
    active_signing_key: CfnValue = wire("The slot (A or B) whose key the licence API signs with.")
    # An ARN names an account, so no template holds it; read only when the config sets one.
    cdn_certificate_arn: CfnValue = wire("ACM certificate (us-east-1) covering the distribution's alias.")


@dataclass(frozen=True)
class CdnOutputs:
    distribution_id: CfnValue = wire("CloudFront distribution id.")
    distribution_domain_name: CfnValue = wire("CloudFront domain name.")
    download_domain: CfnValue = wire("Host name downloads and signed URLs use (the alias when one is set).")
    signed_path_prefix: CfnValue = wire("Path prefix of signed download URLs.")
    key_group_id: CfnValue = wire("Key group trusted for signed URLs.")
    public_key_id: CfnValue = wire("Key-Pair-Id of signed URLs: the active slot's key.")
    web_acl_arn: CfnValue = wire("WAF web ACL of the distribution.")


def cdn_stack(settings: CdnSettings, package: FunctionPackager) -> Stack:
    stack = Stack("cdn", "tap distribution: CloudFront with licence check and signed URLs")
    inputs = declare(stack, CdnInputs)
    binaries = BucketRef("BinariesBucket", name=inputs.binaries_bucket_name, arn=inputs.binaries_bucket_arn)
    keys = add_signing_keys(stack, inputs)
    strip_prefix = viewer_function(
        stack, "StripSignedPrefix",
        package.inline_code("cloudfront_strip_prefix", {"prefix": SIGNED_PATH_PREFIX}),
        "Removes the signed-URL path prefix before the origin request",
    )
    web_acl = add_web_acl(stack, settings) if settings.waf_enabled else None
    distribution = add_distribution(stack, settings, inputs, keys, strip_prefix, web_acl)
    bucket_policy(
        stack, "BinariesBucketPolicy", binaries, [cloudfront_read_statement(binaries, distribution)]
    )
    access_logs_to_s3(stack, "AccessLogs", distribution, inputs.logs_bucket_arn)
    add_outputs(stack, settings, distribution, keys, web_acl)
    return stack


def add_signing_keys(stack: Stack, inputs: CdnInputs) -> SigningKeys:
    """The two key slots; slot A keeps the logical id a single key had, so stacks made
    before the slots keep their key."""
    slots = {"A": inputs.signing_public_key, "B": inputs.signing_public_key_b}
    for slot, key in slots.items():
        stack.template.add_condition(f"SigningSlot{slot}Filled", Not(Equals(key, "")))
    active_b = Equals(inputs.active_signing_key, "B")
    # The slot that signs: active and filled (the root's rule makes the active slot filled).
    stack.template.add_condition("SigningSlotASigns", And(Not(active_b), Condition("SigningSlotAFilled")))
    stack.template.add_condition("SigningSlotBSigns", And(active_b, Condition("SigningSlotBFilled")))
    return signing_key_group(stack, "UrlSigning", [
        KeySlot("" if slot == "A" else slot, key, f"SigningSlot{slot}Filled")
        for slot, key in slots.items()
    ])


def active_key_id(keys: SigningKeys) -> If:
    return If("SigningSlotASigns", Ref(keys.public_keys[""]),
              If("SigningSlotBSigns", Ref(keys.public_keys["B"]), ""))


def add_web_acl(stack: Stack, settings: CdnSettings) -> Any:
    logs = log_group(stack, "WebAclLogGroup", WAF_LOG_RETENTION_DAYS, name=waf_log_group_name())
    return edge_web_acl(
        stack, "WebAcl", settings.waf_rate_limit, logs.ref, redacted_headers=LICENSE_HEADERS
    )


def add_distribution(
    stack: Stack,
    settings: CdnSettings,
    inputs: CdnInputs,
    keys: SigningKeys,
    strip_prefix: cloudfront.Function,
    web_acl: Any,
) -> cloudfront.Distribution:
    access = origin_access_control(stack, "BinariesOriginAccess")
    common = {
        "TargetOriginId": BINARIES_ORIGIN,
        "ViewerProtocolPolicy": "https-only",
        "AllowedMethods": ["GET", "HEAD"],
        "CachedMethods": ["GET", "HEAD"],
        "CachePolicyId": CACHING_OPTIMIZED,
        "ResponseHeadersPolicyId": SECURITY_HEADERS,
        "Compress": True,
    }
    config = cloudfront.DistributionConfig(
        Comment="tap software downloads",
        Enabled=True,
        HttpVersion="http2and3",
        IPV6Enabled=True,
        PriceClass=settings.price_class,
        Origins=[
            cloudfront.Origin(
                Id=BINARIES_ORIGIN,
                DomainName=inputs.binaries_bucket_domain_name,
                OriginAccessControlId=GetAtt(access, "Id"),
                # Empty identity: OAC signs instead of a legacy origin access identity.
                S3OriginConfig=cloudfront.S3OriginConfig(OriginAccessIdentity=""),
            )
        ],
        DefaultCacheBehavior=cloudfront.DefaultCacheBehavior(
            **common,
            LambdaFunctionAssociations=[
                cloudfront.LambdaFunctionAssociation(
                    EventType="viewer-request",
                    LambdaFunctionARN=inputs.license_check_version_arn,
                    IncludeBody=False,
                )
            ],
        ),
        CacheBehaviors=[
            cloudfront.CacheBehavior(
                **common,
                PathPattern=SIGNED_PATH_PREFIX.lstrip("/") + "/*",
                TrustedKeyGroups=[Ref(keys.key_group)],
                FunctionAssociations=[
                    cloudfront.FunctionAssociation(
                        EventType="viewer-request", FunctionARN=GetAtt(strip_prefix, "FunctionARN")
                    )
                ],
            )
        ],
        ViewerCertificate=viewer_certificate(
            None if settings.certificate_arn is None else inputs.cdn_certificate_arn
        ),
    )
    if settings.alias is not None:
        config.Aliases = [settings.alias]
    if web_acl is not None:
        config.WebACLId = GetAtt(web_acl, "Arn")
    distribution = cloudfront.Distribution("Distribution", DistributionConfig=config)
    _explain_scanner_exceptions(distribution, settings)
    return stack.add(distribution)


def _explain_scanner_exceptions(distribution: cloudfront.Distribution, settings: CdnSettings) -> None:
    suppress(
        distribution,
        CKV_AWS_86="Access logs are delivered by CloudFront standard logging v2 "
        "(AWS::Logs::Delivery to the logs bucket), which this check does not see.",
    )
    if settings.certificate_arn is None:
        suppress(
            distribution,
            CKV_AWS_174="No alias: the default *.cloudfront.net certificate is used, and its "
            "TLS policy cannot be chosen; set cdn.alias and cdn.certificate_arn to pick TLSv1.2_2021.",
        )
    if not settings.waf_enabled:
        suppress(
            distribution,
            CKV_AWS_68="WAF is switched off in this environment's config (cdn.waf_enabled).",
        )


def add_outputs(
    stack: Stack, settings: CdnSettings, distribution: cloudfront.Distribution,
    keys: SigningKeys, web_acl: Any,
) -> None:
    domain = GetAtt(distribution, "DomainName")
    publish(stack, CdnOutputs(
        distribution_id=Ref(distribution),
        distribution_domain_name=domain,
        download_domain=settings.alias or domain,
        signed_path_prefix=SIGNED_PATH_PREFIX,
        key_group_id=Ref(keys.key_group),
        public_key_id=active_key_id(keys),
        web_acl_arn=None if web_acl is None else GetAtt(web_acl, "Arn"),
    ))

