"""Microservices platform, cdn stack: CloudFront in front of the load balancer and static bucket."""

from __future__ import annotations

import pytest

from tap.config import load
from tests.helpers import only_resource, resources_of_type, statement_by_sid
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
    assert default["TargetOriginId"] == "load-balancer-0"
    assert "FunctionAssociations" not in default  # one load balancer: nothing to choose
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


def vpc_origin(template: dict, number: int) -> dict:
    return template["Resources"][f"LoadBalancer{number}VpcOrigin"]["Properties"]["VpcOriginEndpointConfig"]


def test_the_load_balancer_is_a_vpc_origin_reached_over_https_in_every_shipped_config_but_dev(built):
    for env in ("staging", "prod"):
        template = built.template(f"microservices/{env}", "cdn")
        origin = origins(template)["load-balancer-0"]
        assert origin["VpcOriginConfig"]["VpcOriginId"] == {"Fn::GetAtt": ["LoadBalancer0VpcOrigin", "Id"]}
        assert "CustomOriginConfig" not in origin
        assert origin["DomainName"] == load("microservices", env).load_balancer.domain_name
        endpoint = vpc_origin(template, 0)
        assert endpoint["Arn"] == {"Fn::Select": [0, {"Ref": "LoadBalancerArns"}]}
        assert (endpoint["OriginProtocolPolicy"], endpoint["OriginSSLProtocols"]) == ("https-only", ["TLSv1.2"])
    dev = built.template("microservices/dev", "cdn")
    assert origins(dev)["load-balancer-0"]["DomainName"] == {"Fn::Select": [0, {"Ref": "LoadBalancerDnsNames"}]}
    assert vpc_origin(dev, 0)["OriginProtocolPolicy"] == "http-only"


def test_with_internet_ingress_the_origin_is_the_public_load_balancer_by_name():
    template = Built(config(load_balancer={"ingress": "internet", "certificate_arn": ALB_CERTIFICATE,
                                           "domain_name": "origin.example.com"}))["cdn"]
    origin = origins(template)["load-balancer-0"]
    assert origin["DomainName"] == "origin.example.com"
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert origin["CustomOriginConfig"]["OriginSSLProtocols"] == ["TLSv1.2"]
    assert not resources_of_type(template, "AWS::CloudFront::VpcOrigin")
    assert "LoadBalancerDnsNames" not in template["Parameters"]


def test_several_load_balancers_are_origins_a_viewer_request_function_chooses_between():
    template = Built(config(load_balancer={"count": 3, "certificate_arn": ALB_CERTIFICATE,
                                           "domain_name": "origin.example.com"}))["cdn"]
    found = origins(template)
    for number in range(3):
        assert found[f"load-balancer-{number}"]["DomainName"] == f"lb{number}.origin.example.com"
        assert vpc_origin(template, number)["Arn"] == {"Fn::Select": [number, {"Ref": "LoadBalancerArns"}]}
    (association,) = distribution(template)["DefaultCacheBehavior"]["FunctionAssociations"]
    assert association == {"EventType": "viewer-request",
                           "FunctionARN": {"Fn::GetAtt": ["RoutingFunction", "FunctionARN"]}}
    function = template["Resources"]["RoutingFunction"]["Properties"]
    assert function["AutoPublish"] is True
    assert function["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"
    assert "const BALANCERS = 3;" in function["FunctionCode"]


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
