"""CDN stack: CloudFront in front of the load balancers, and of the static bucket for /static/*.

- load balancers: one origin per load balancer (`load-balancer-<k>`). With
  ingress "cloudfront" each is a VPC origin (AWS::CloudFront::VpcOrigin) of an
  internal load balancer, so the only way to the services is this
  distribution; with ingress "internet", a custom origin by DNS name. With
  more than one load balancer a CloudFront Function on viewer requests picks
  the origin (routing.js.j2): by host for host-routed services, else by the
  hash of the first path segment, as the build placed the services.
- default behaviour: the load balancers, nothing cached (managed
  CachingDisabled), every viewer header, cookie and query string forwarded
  except Host (AllViewerExceptHostHeader) unless cdn.forward_host_header
  asks for Host too (host-routed services), all methods.
- /static/*: the static bucket through Origin Access Control; the bucket
  policy written here admits only this distribution (AWS:SourceArn). Files
  live under the `static/` prefix of the bucket.
- viewers: HTTP redirected to HTTPS, HTTP/2 and HTTP/3, IPv6, security
  response headers, TLS 1.2+ with the configured alias certificate,
  standard logs to the CloudFront log bucket, an optional WAF web ACL.
- origin protocol: HTTPS when the load balancers have a certificate
  (CloudFront then connects by load_balancer.domain_name, or lb<k>.<domain_name>
  with several, which the certificate covers); otherwise HTTP, which with
  VPC origins stays on CloudFront's private connection into the VPC.
"""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import GetAtt, Join, Ref, Select, Split, cloudfront

from tap import yamltext
from tap.blocks.buckets import bucket_policy
from tap.blocks.cloudfront import (
    ALL_VIEWER,
    ALL_VIEWER_EXCEPT_HOST_HEADER,
    CACHING_DISABLED,
    CACHING_OPTIMIZED,
    SECURITY_HEADERS,
    cloudfront_read_statement,
    origin_access_control,
    viewer_certificate,
)
from tap.blocks.iam import BucketRef
from tap.blocks.lifecycle import suppress
from tap.cfnvalue import CfnValue
from tap.config.microservices import MicroservicesSettings
from tap.errors import BuildError
from tap.stacktree import Stack
from tap.systems.microservices.accounts import AccountInputs
from tap.systems.microservices.cluster import BalancerOutputs, balancer_name, pick
from tap.systems.microservices.placement import balancer_of, listener_priority
from tap.wiring import declare, publish, wire

LOAD_BALANCER_ORIGIN = "load-balancer-"  # + the load balancer's number
STATIC_ORIGIN = "static"
STATIC_PATH = "/static/*"
# "Maximum function size" of CloudFront Functions: 10 KB, not adjustable.
FUNCTION_SIZE_LIMIT = 10 * 1024


@dataclass(frozen=True)
class CdnInputs:
    static_bucket_name: CfnValue = wire("Bucket of static assets.")
    static_bucket_arn: CfnValue = wire("ARN of the static-assets bucket.")
    static_bucket_domain_name: CfnValue = wire("Regional domain name of the static-assets bucket.")
    cdn_logs_bucket_domain_name: CfnValue = wire("Domain name of the CloudFront log bucket.")


@dataclass(frozen=True)
class CdnOutputs:
    distribution_id: CfnValue = wire("CloudFront distribution id.")
    distribution_domain_name: CfnValue = wire("Domain name of the distribution (point aliases at it).")


def cdn_stack(settings: MicroservicesSettings) -> Stack:
    stack = Stack("cdn", "tap microservices: CloudFront distribution")
    inputs = declare(stack, CdnInputs)
    static_bucket = BucketRef(label="StaticBucket", name=inputs.static_bucket_name, arn=inputs.static_bucket_arn)
    access = origin_access_control(stack, "StaticOriginAccess", "CloudFront reads the static bucket")
    routing = add_routing_function(stack, settings)
    distribution = add_distribution(
        stack, settings, inputs, declare(stack, BalancerOutputs), declare(stack, AccountInputs),
        access, routing,
    )
    bucket_policy(
        stack, "StaticBucketPolicy", static_bucket,
        [cloudfront_read_statement(static_bucket, distribution)],
    )
    publish(stack, CdnOutputs(
        distribution_id=Ref(distribution), distribution_domain_name=GetAtt(distribution, "DomainName"),
    ))
    return stack


def add_load_balancer_origin(
    stack: Stack, settings: MicroservicesSettings, number: int, balancers: BalancerOutputs
) -> cloudfront.Origin:
    """Load balancer `number` as an origin: a VPC origin when it is internal."""
    https = settings.load_balancer.https
    name = (settings.load_balancer.origin_domain_name(number) if https
            else pick(balancers.load_balancer_dns_names, number))
    timeouts = {"OriginReadTimeout": 30, "OriginKeepaliveTimeout": 5}
    if settings.load_balancer.ingress == "internet":
        return cloudfront.Origin(
            Id=f"{LOAD_BALANCER_ORIGIN}{number}",
            DomainName=name,
            CustomOriginConfig=cloudfront.CustomOriginConfig(
                OriginProtocolPolicy="https-only" if https else "http-only",
                HTTPPort=80, HTTPSPort=443, OriginSSLProtocols=["TLSv1.2"], **timeouts,
            ),
        )
    vpc_origin = stack.add(cloudfront.VpcOrigin(
        f"{balancer_name(number)}VpcOrigin",
        VpcOriginEndpointConfig=cloudfront.VpcOriginEndpointConfig(
            # Unique in the account: the stack's id says which platform it belongs to.
            Name=Join("-", [f"tap-lb{number}", Select(2, Split("/", Ref("AWS::StackId")))]),
            Arn=pick(balancers.load_balancer_arns, number),
            HTTPPort=80,
            HTTPSPort=443,
            OriginProtocolPolicy="https-only" if https else "http-only",
            OriginSSLProtocols=["TLSv1.2"],
        ),
    ))
    return cloudfront.Origin(
        Id=f"{LOAD_BALANCER_ORIGIN}{number}",
        DomainName=name,
        VpcOriginConfig=cloudfront.VpcOriginConfig(VpcOriginId=GetAtt(vpc_origin, "Id"), **timeouts),
    )


def routing_code(settings: MicroservicesSettings) -> str:
    """The CloudFront Function that picks a request's load balancer (several of them only)."""
    count = settings.load_balancer.count
    by_priority = sorted(settings.services, key=listener_priority)
    hosts = {service.host: balancer_of(service, count) for service in by_priority
             if service.host is not None and not service.host.startswith("*.")}
    wildcards = [[service.host[1:], balancer_of(service, count)] for service in by_priority
                 if service.host is not None and service.host.startswith("*.")]
    code = yamltext.environment(__package__).get_template("routing.js.j2").render(
        count=count, hosts=hosts, wildcards=wildcards, origin_prefix=LOAD_BALANCER_ORIGIN,
    )
    size = len(code.encode("utf-8"))
    if size > FUNCTION_SIZE_LIMIT:
        raise BuildError(
            f"the CloudFront routing function would be {size} bytes with {len(hosts) + len(wildcards)} "
            f"host-routed services, and CloudFront Functions' 'Maximum function size' is "
            f"{FUNCTION_SIZE_LIMIT} bytes and cannot be raised; route more services by "
            "path_pattern (path routing costs the function nothing)"
        )
    return code


def add_routing_function(stack: Stack, settings: MicroservicesSettings) -> cloudfront.Function | None:
    if settings.load_balancer.count == 1:
        return None
    return stack.add(cloudfront.Function(
        "RoutingFunction",
        # Unique in the account, at most 64 characters.
        Name=Join("-", ["tap-routing", Select(2, Split("/", Ref("AWS::StackId")))]),
        AutoPublish=True,
        FunctionCode=routing_code(settings),
        FunctionConfig=cloudfront.FunctionConfig(
            Comment=f"tap microservices ({settings.env}): pick the load balancer of a request",
            Runtime="cloudfront-js-2.0",
        ),
    ))


def add_distribution(
    stack: Stack, settings: MicroservicesSettings, inputs: CdnInputs, balancer_lists: BalancerOutputs,
    accounts: AccountInputs, access: cloudfront.OriginAccessControl, routing: cloudfront.Function | None,
) -> cloudfront.Distribution:
    balancers = [
        add_load_balancer_origin(stack, settings, number, balancer_lists)
        for number in range(settings.load_balancer.count)
    ]
    config = cloudfront.DistributionConfig(
        Comment=f"tap microservices ({settings.env})",
        Enabled=True,
        HttpVersion="http2and3",
        IPV6Enabled=True,
        PriceClass=settings.cdn.price_class,
        Origins=[
            *balancers,
            cloudfront.Origin(
                Id=STATIC_ORIGIN,
                DomainName=inputs.static_bucket_domain_name,
                S3OriginConfig=cloudfront.S3OriginConfig(OriginAccessIdentity=""),
                OriginAccessControlId=GetAtt(access, "Id"),
            ),
        ],
        DefaultCacheBehavior=cloudfront.DefaultCacheBehavior(
            TargetOriginId=f"{LOAD_BALANCER_ORIGIN}0",
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
            Bucket=inputs.cdn_logs_bucket_domain_name, Prefix="cloudfront/", IncludeCookies=False
        ),
        ViewerCertificate=viewer_certificate(
            None if settings.cdn.certificate_arn is None else accounts.cdn_certificate_arn
        ),
    )
    if routing is not None:
        config.DefaultCacheBehavior.FunctionAssociations = [cloudfront.FunctionAssociation(
            EventType="viewer-request", FunctionARN=GetAtt(routing, "FunctionARN"),
        )]
    if settings.cdn.aliases:
        config.Aliases = list(settings.cdn.aliases)
    if settings.cdn.web_acl_arn is not None:
        config.WebACLId = accounts.cdn_web_acl_arn
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
