"""Microservices platform, cdn stack: CloudFront in front of the load balancer and static bucket."""

from __future__ import annotations

import pytest

from tests.helpers import only_resource, statement_by_sid
from tests.systems.microservices import Built, config

ALB_CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
CDN_CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"


@pytest.fixture(scope="module")
def cdn(built) -> dict:
    return built.template("microservices/prod", "cdn")


def distribution(template: dict) -> dict:
    return only_resource(template, "AWS::CloudFront::Distribution")["Properties"]["DistributionConfig"]


def origins(template: dict) -> dict:
    return {origin["Id"]: origin for origin in distribution(template)["Origins"]}


def test_load_balancer_is_the_default_origin_with_caching_disabled(cdn):
    default = distribution(cdn)["DefaultCacheBehavior"]
    assert default["TargetOriginId"] == "load-balancer"
    assert default["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # CachingDisabled
    assert default["OriginRequestPolicyId"] == "b689b0a8-53d0-40ab-baf2-68738e2966ac"  # AllViewerExceptHostHeader
    assert default["ViewerProtocolPolicy"] == "redirect-to-https"
    assert "POST" in default["AllowedMethods"]


def test_static_assets_come_from_the_bucket_through_origin_access_control(cdn):
    (static,) = distribution(cdn)["CacheBehaviors"]
    assert (static["PathPattern"], static["TargetOriginId"]) == ("/static/*", "static")
    origin = origins(cdn)["static"]
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # no legacy OAI
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["StaticOriginAccess", "Id"]}
    control = only_resource(cdn, "AWS::CloudFront::OriginAccessControl")["Properties"]["OriginAccessControlConfig"]
    assert (control["SigningBehavior"], control["SigningProtocol"]) == ("always", "sigv4")


def test_static_bucket_admits_only_this_distribution(cdn):
    policy = cdn["Resources"]["StaticBucketPolicy"]["Properties"]
    assert policy["Bucket"] == {"Ref": "StaticBucketName"}
    read = statement_by_sid(policy["PolicyDocument"], "AllowCloudFrontRead")
    assert read["Principal"] == {"Service": ["cloudfront.amazonaws.com"]}
    assert read["Action"] == ["s3:GetObject"]
    assert read["Condition"] == {"StringEquals": {"AWS:SourceArn": {"Fn::Sub": [
        "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${Distribution}",
        {"Distribution": {"Ref": "Distribution"}}]}}}
    statement_by_sid(policy["PolicyDocument"], "DenyInsecureTransport")


def test_http2_and_3_logging_and_price_class(cdn):
    config_ = distribution(cdn)
    assert config_["HttpVersion"] == "http2and3"
    assert config_["Logging"]["Bucket"] == {"Ref": "CdnLogsBucketDomainName"}
    assert config_["PriceClass"] == "PriceClass_All"


def test_without_a_load_balancer_certificate_the_origin_is_http_only(cdn):
    origin = origins(cdn)["load-balancer"]
    assert origin["DomainName"] == {"Ref": "LoadBalancerDnsName"}
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "http-only"


def test_with_a_load_balancer_certificate_the_origin_is_https_by_its_domain_name():
    template = Built(config(load_balancer={"certificate_arn": ALB_CERTIFICATE,
                                           "domain_name": "origin.example.com"}))["cdn"]
    origin = origins(template)["load-balancer"]
    assert origin["DomainName"] == "origin.example.com"
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert origin["CustomOriginConfig"]["OriginSSLProtocols"] == ["TLSv1.2"]
    assert "LoadBalancerDnsName" not in template["Parameters"]


def test_aliases_get_their_certificate_and_tls_1_2():
    built = Built(config(cdn={"aliases": ["shop.example.com"], "certificate_arn": CDN_CERTIFICATE}))
    config_ = distribution(built["cdn"])
    assert config_["Aliases"] == ["shop.example.com"]
    assert config_["ViewerCertificate"] == {
        "AcmCertificateArn": {"Ref": "CdnCertificateArn"}, "MinimumProtocolVersion": "TLSv1.2_2021",
        "SslSupportMethod": "sni-only"}
    assert built["root"]["Resources"]["CdnStack"]["Properties"]["Parameters"]["CdnCertificateArn"] == {
        "Ref": "CdnCertificateArn"}
    assert built.configured["CdnCertificateArn"] == CDN_CERTIFICATE


def test_a_configured_web_acl_is_attached_through_the_root_parameter():
    arn = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/edge/0a1b2c3d"
    built = Built(config(cdn={"web_acl_arn": arn}))
    assert distribution(built["cdn"])["WebACLId"] == {"Ref": "CdnWebAclArn"}
    assert built["root"]["Resources"]["CdnStack"]["Properties"]["Parameters"]["CdnWebAclArn"] == {
        "Ref": "CdnWebAclArn"}
    assert built.configured == {"CdnWebAclArn": arn}


def test_host_routed_services_get_the_viewer_host_forwarded():
    template = Built(config(cdn={"forward_host_header": True}))["cdn"]
    assert distribution(template)["DefaultCacheBehavior"]["OriginRequestPolicyId"] == (
        "216adef6-5c7f-47e4-b989-5492eafa07d3")  # AllViewer
