"""CDN stack: CloudFront in front of the load balancer, and of the static bucket for /static/*.

- default behaviour: the load balancer, nothing cached (managed
  CachingDisabled), every viewer header, cookie and query string forwarded
  except Host (AllViewerExceptHostHeader) unless cdn.forward_host_header
  asks for Host too (host-routed services), all methods.
- /static/*: the static bucket through Origin Access Control; the bucket
  policy written here admits only this distribution (AWS:SourceArn). Files
  live under the `static/` prefix of the bucket.
- viewers: HTTP redirected to HTTPS, HTTP/2 and HTTP/3, IPv6, security
  response headers, TLS 1.2+ with the configured alias certificate,
  standard logs to the CloudFront log bucket, an optional WAF web ACL.
- origin protocol: HTTPS when the load balancer has a certificate (CloudFront
  then connects by load_balancer.domain_name, which the certificate covers);
  otherwise HTTP, since CloudFront cannot validate a certificate for the
  load balancer's generated *.elb.amazonaws.com name. Without a certificate
  the hop from CloudFront to the load balancer is therefore unencrypted.
"""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import GetAtt, Parameter, Ref, cloudfront

from tap.blocks.buckets import bucket_policy
from tap.blocks.cloudfront import (
    ALL_VIEWER,
    ALL_VIEWER_EXCEPT_HOST_HEADER,
    CACHING_DISABLED,
    CACHING_OPTIMIZED,
    SECURITY_HEADERS,
    cloudfront_read_statement,
    origin_access_control,
)
from tap.blocks.iam import BucketRef
from tap.blocks.lifecycle import suppress
from tap.config.microservices import MicroservicesSettings
from tap.stacktree import Stack
from tap.systems.microservices.accounts import AccountInputs
from tap.systems.microservices.wiring import declare

LOAD_BALANCER_ORIGIN = "load-balancer"
STATIC_ORIGIN = "static"
STATIC_PATH = "/static/*"


@dataclass(frozen=True)
class Inputs:
    load_balancer_dns_name: Parameter | None
    static_bucket: BucketRef
    static_domain_name: Parameter
    log_bucket_domain_name: Parameter
    accounts: AccountInputs  # the certificate and web ACL, read only when configured


def cdn_stack(settings: MicroservicesSettings) -> Stack:
    stack = Stack("cdn", "tap microservices: CloudFront distribution")
    inputs = add_parameters(stack, settings)
    access = origin_access_control(stack, "StaticOriginAccess", "CloudFront reads the static bucket")
    distribution = add_distribution(stack, settings, inputs, access)
    bucket_policy(
        stack, "StaticBucketPolicy", inputs.static_bucket,
        [cloudfront_read_statement(inputs.static_bucket, distribution)],
    )
    stack.output("DistributionId", Ref(distribution), "CloudFront distribution id.")
    stack.output("DistributionDomainName", GetAtt(distribution, "DomainName"),
                 "Domain name of the distribution (point aliases at it).")
    return stack


def add_parameters(stack: Stack, settings: MicroservicesSettings) -> Inputs:
    dns_name = None
    if not settings.load_balancer.https:
        dns_name = stack.parameter("LoadBalancerDnsName", Description="DNS name of the load balancer.")
    name = stack.parameter("StaticBucketName", Description="Bucket of static assets.")
    arn = stack.parameter("StaticBucketArn", Description="ARN of the static-assets bucket.")
    return Inputs(
        load_balancer_dns_name=dns_name,
        static_bucket=BucketRef(label="StaticBucket", name=Ref(name), arn=Ref(arn)),
        static_domain_name=stack.parameter(
            "StaticBucketDomainName", Description="Regional domain name of the static-assets bucket."
        ),
        log_bucket_domain_name=stack.parameter(
            "CdnLogsBucketDomainName", Description="Domain name of the CloudFront log bucket."
        ),
        accounts=declare(stack, AccountInputs),
    )


def _load_balancer_origin(settings: MicroservicesSettings, inputs: Inputs) -> cloudfront.Origin:
    https = settings.load_balancer.https
    return cloudfront.Origin(
        Id=LOAD_BALANCER_ORIGIN,
        DomainName=settings.load_balancer.domain_name if https else Ref(inputs.load_balancer_dns_name),
        CustomOriginConfig=cloudfront.CustomOriginConfig(
            OriginProtocolPolicy="https-only" if https else "http-only",
            HTTPPort=80,
            HTTPSPort=443,
            OriginSSLProtocols=["TLSv1.2"],
            OriginReadTimeout=30,
            OriginKeepaliveTimeout=5,
        ),
    )


def _viewer_certificate(settings: MicroservicesSettings, inputs: Inputs) -> cloudfront.ViewerCertificate:
    if settings.cdn.certificate_arn is None:
        return cloudfront.ViewerCertificate(CloudFrontDefaultCertificate=True)
    return cloudfront.ViewerCertificate(
        AcmCertificateArn=inputs.accounts.cdn_certificate_arn,
        SslSupportMethod="sni-only",
        MinimumProtocolVersion="TLSv1.2_2021",
    )


def add_distribution(
    stack: Stack, settings: MicroservicesSettings, inputs: Inputs,
    access: cloudfront.OriginAccessControl,
) -> cloudfront.Distribution:
    config = cloudfront.DistributionConfig(
        Comment=f"tap microservices ({settings.env})",
        Enabled=True,
        HttpVersion="http2and3",
        IPV6Enabled=True,
        PriceClass=settings.cdn.price_class,
        Origins=[
            _load_balancer_origin(settings, inputs),
            cloudfront.Origin(
                Id=STATIC_ORIGIN,
                DomainName=Ref(inputs.static_domain_name),
                S3OriginConfig=cloudfront.S3OriginConfig(OriginAccessIdentity=""),
                OriginAccessControlId=GetAtt(access, "Id"),
            ),
        ],
        DefaultCacheBehavior=cloudfront.DefaultCacheBehavior(
            TargetOriginId=LOAD_BALANCER_ORIGIN,
            ViewerProtocolPolicy="redirect-to-https",
            AllowedMethods=["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"],
            CachedMethods=["GET", "HEAD"],
            CachePolicyId=CACHING_DISABLED,
            OriginRequestPolicyId=(
                ALL_VIEWER if settings.cdn.forward_host_header else ALL_VIEWER_EXCEPT_HOST_HEADER
            ),
            ResponseHeadersPolicyId=SECURITY_HEADERS,
            Compress=True,
        ),
        CacheBehaviors=[
            cloudfront.CacheBehavior(
                PathPattern=STATIC_PATH,
                TargetOriginId=STATIC_ORIGIN,
                ViewerProtocolPolicy="redirect-to-https",
                AllowedMethods=["GET", "HEAD"],
                CachedMethods=["GET", "HEAD"],
                CachePolicyId=CACHING_OPTIMIZED,
                ResponseHeadersPolicyId=SECURITY_HEADERS,
                Compress=True,
            )
        ],
        Logging=cloudfront.Logging(
            Bucket=Ref(inputs.log_bucket_domain_name), Prefix="cloudfront/", IncludeCookies=False
        ),
        ViewerCertificate=_viewer_certificate(settings, inputs),
    )
    if settings.cdn.aliases:
        config.Aliases = list(settings.cdn.aliases)
    if settings.cdn.web_acl_arn is not None:
        config.WebACLId = inputs.accounts.cdn_web_acl_arn
    distribution = cloudfront.Distribution("Distribution", DistributionConfig=config)
    if settings.cdn.certificate_arn is None:
        suppress(
            distribution,
            CKV_AWS_174="No alias is configured, so CloudFront serves its default *.cloudfront.net "
            "certificate, whose minimum TLS version cannot be set; aliases get TLSv1.2_2021.",
        )
    if settings.cdn.web_acl_arn is None:
        suppress(
            distribution,
            CKV_AWS_68="No WAF: this environment sets no cdn.web_acl_arn, so the distribution "
            "has no web ACL. A CLOUDFRONT-scope web ACL must be created in us-east-1 and this "
            "system deploys to any region, so it is made outside and passed in by ARN.",
        )
    return stack.add(distribution)
