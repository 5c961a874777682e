"""Distribution platform, cdn stack: CloudFront, OAC, signed URLs, WAF, logging."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tap.package import FunctionPackager
from tap.systems.distribution.cdn import SIGNED_PATH_PREFIX
from tests.helpers import only_resource, resources_of_type, statement_by_sid

ENVS = ["dev", "staging", "prod"]


@pytest.fixture(scope="module", params=ENVS)
def cdn(request, built) -> dict:
    return built.template(f"distribution/{request.param}", "cdn")


def config_of(cdn: dict) -> dict:
    return cdn["Resources"]["Distribution"]["Properties"]["DistributionConfig"]


def test_bucket_is_reached_only_through_origin_access_control(cdn):
    (origin,) = config_of(cdn)["Origins"]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["BinariesOriginAccess", "Id"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    control = cdn["Resources"]["BinariesOriginAccess"]["Properties"]["OriginAccessControlConfig"]
    assert (control["SigningBehavior"], control["SigningProtocol"]) == ("always", "sigv4")
    assert control["OriginAccessControlOriginType"] == "s3"


def test_bucket_policy_lets_only_this_distribution_read(cdn, built):
    policy = cdn["Resources"]["BinariesBucketPolicy"]["Properties"]
    read = statement_by_sid(policy["PolicyDocument"], "AllowCloudFrontRead")
    assert read["Principal"] == {"Service": ["cloudfront.amazonaws.com"]}
    assert read["Action"] == ["s3:GetObject"]
    assert read["Condition"] == {"StringEquals": {"AWS:SourceArn": {"Fn::Sub": [
        "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${Distribution}",
        {"Distribution": {"Ref": "Distribution"}},
    ]}}}
    assert statement_by_sid(policy["PolicyDocument"], "DenyInsecureTransport")["Effect"] == "Deny"


def test_bucket_policy_is_the_binaries_buckets(built):
    for env in ENVS:
        bucket = built.template(f"distribution/{env}", "cdn")["Resources"]["BinariesBucketPolicy"][
            "Properties"]["Bucket"]
        assert built.resolve(f"distribution/{env}", "cdn", bucket) == ("storage", {"Ref": "BinariesBucket"})


def test_https_only_http2_and_3_managed_policies(cdn):
    config = config_of(cdn)
    assert config["HttpVersion"] == "http2and3"
    for behaviour in [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]:
        assert behaviour["ViewerProtocolPolicy"] == "https-only"
        assert behaviour["CachePolicyId"] == "658327ea-f89d-4fab-a63d-7e88639e58f6"  # CachingOptimized
        assert behaviour["ResponseHeadersPolicyId"] == "67f7725c-6f97-4210-82d7-5512b31e9d03"
        assert behaviour["AllowedMethods"] == ["GET", "HEAD"]


def test_signed_behaviour_trusts_the_key_group_and_strips_its_prefix(cdn):
    (signed,) = config_of(cdn)["CacheBehaviors"]
    assert signed["PathPattern"] == "signed/*"
    assert signed["TrustedKeyGroups"] == [{"Ref": "UrlSigningKeyGroup"}]
    assert signed["FunctionAssociations"] == [{
        "EventType": "viewer-request",
        "FunctionARN": {"Fn::GetAtt": ["StripSignedPrefix", "FunctionARN"]},
    }]
    assert "LambdaFunctionAssociations" not in signed


def test_each_key_slot_holds_its_parameter_s_key_while_it_is_filled(cdn):
    for logical_id, parameter, condition in (("UrlSigningPublicKey", "SigningPublicKey", "SigningSlotAFilled"),
                                             ("UrlSigningPublicKeyB", "SigningPublicKeyB", "SigningSlotBFilled")):
        key = cdn["Resources"][logical_id]
        assert key["Properties"]["PublicKeyConfig"]["EncodedKey"] == {"Ref": parameter}
        assert key["Condition"] == condition
        assert cdn["Conditions"][condition] == {"Fn::Not": [{"Fn::Equals": [{"Ref": parameter}, ""]}]}
    group = cdn["Resources"]["UrlSigningKeyGroup"]["Properties"]["KeyGroupConfig"]
    assert group["Items"] == [
        {"Fn::If": ["SigningSlotAFilled", {"Ref": "UrlSigningPublicKey"}, {"Ref": "AWS::NoValue"}]},
        {"Fn::If": ["SigningSlotBFilled", {"Ref": "UrlSigningPublicKeyB"}, {"Ref": "AWS::NoValue"}]},
    ]


def test_the_two_slots_have_names_of_their_own(cdn):
    names = [cdn["Resources"][key]["Properties"]["PublicKeyConfig"]["Name"]["Fn::Sub"][0]
             for key in ("UrlSigningPublicKey", "UrlSigningPublicKeyB")]
    assert names == ["signing-key-${Uuid}", "signing-key-b-${Uuid}"]


def test_urls_are_signed_with_the_active_slot_s_key(cdn):
    assert cdn["Outputs"]["PublicKeyId"]["Value"] == {"Fn::If": [
        "SigningSlotASigns", {"Ref": "UrlSigningPublicKey"},
        {"Fn::If": ["SigningSlotBSigns", {"Ref": "UrlSigningPublicKeyB"}, ""]}]}


def test_standard_logging_v2_delivers_to_the_logs_bucket(cdn):
    source = cdn["Resources"]["AccessLogsSource"]["Properties"]
    assert source["LogType"] == "ACCESS_LOGS"
    assert cdn["Resources"]["AccessLogsDestination"]["Properties"]["DestinationResourceArn"] == {
        "Ref": "LogsBucketArn"
    }
    delivery = cdn["Resources"]["AccessLogs"]["Properties"]
    assert delivery["DeliverySourceName"] == {"Ref": "AccessLogsSource"}


def test_price_class_alias_and_certificate_follow_config(built):
    dev = config_of(built.template("distribution/dev", "cdn"))
    prod = config_of(built.template("distribution/prod", "cdn"))
    assert (dev["PriceClass"], prod["PriceClass"]) == ("PriceClass_100", "PriceClass_All")
    assert dev["ViewerCertificate"] == {"CloudFrontDefaultCertificate": True}
    assert "Aliases" not in dev
    assert prod["Aliases"] == ["downloads.example.com"]
    assert prod["ViewerCertificate"]["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert prod["ViewerCertificate"]["SslSupportMethod"] == "sni-only"


def test_waf_is_optional(built):
    dev = built.template("distribution/dev", "cdn")
    assert resources_of_type(dev, "AWS::WAFv2::WebACL") == {}
    assert "WebACLId" not in config_of(dev)


def test_waf_rate_limits_each_client_ip(built):
    prod = built.template("distribution/prod", "cdn")
    acl = only_resource(prod, "AWS::WAFv2::WebACL")["Properties"]
    assert acl["Scope"] == "CLOUDFRONT"
    rate = {rule["Name"]: rule for rule in acl["Rules"]}["RatePerClientIp"]
    assert rate["Statement"]["RateBasedStatement"] == {"AggregateKeyType": "IP", "Limit": 2000}
    assert rate["Action"] == {"Block": {}}
    assert config_of(prod)["WebACLId"] == {"Fn::GetAtt": ["WebAcl", "Arn"]}


def test_waf_logs_never_hold_license_headers(built):
    logging = only_resource(built.template("distribution/prod", "cdn"), "AWS::WAFv2::LoggingConfiguration")
    redacted = [field["SingleHeader"]["Name"] for field in logging["Properties"]["RedactedFields"]]
    assert redacted == ["x-license-key", "x-customer-id"]


def test_outputs_name_what_the_license_api_needs(built):
    prod = built.template("distribution/prod", "cdn")
    assert prod["Outputs"]["DownloadDomain"]["Value"] == "downloads.example.com"
    dev = built.template("distribution/dev", "cdn")
    assert dev["Outputs"]["DownloadDomain"]["Value"] == {"Fn::GetAtt": ["Distribution", "DomainName"]}
    assert dev["Outputs"]["SignedPathPrefix"]["Value"] == SIGNED_PATH_PREFIX


STRIP_PREFIX_CASES = [
    ("/signed/app/1.2/setup.exe", "/app/1.2/setup.exe"),
    ("/signed/x", "/x"),
    ("/signedx/app", "/signedx/app"),
    ("/app/signed/x", "/app/signed/x"),
]


@pytest.mark.skipif(shutil.which("node") is None, reason="node runs the CloudFront Function")
def test_the_cloudfront_function_strips_only_the_signed_prefix(tmp_path):
    code = FunctionPackager().inline_code("cloudfront_strip_prefix", {"prefix": SIGNED_PATH_PREFIX})
    script = tmp_path / "run.js"
    script.write_text(
        code + "\nconst cases = " + json.dumps([uri for uri, _ in STRIP_PREFIX_CASES]) + ";\n"
        "console.log(JSON.stringify(cases.map(u => handler({request: {uri: u}}).uri)));\n"
    )
    result = subprocess.run(["node", str(script)], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == [expected for _, expected in STRIP_PREFIX_CASES]
