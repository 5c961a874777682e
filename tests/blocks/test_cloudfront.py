"""CloudFront blocks: OAC, the bucket-policy read statement, key groups, functions, logging, WAF."""

from __future__ import annotations

import pytest
from troposphere import Ref, cloudfront

from tap.blocks.buckets import secure_bucket
from tap.blocks.cloudfront import (
    KeySlot,
    access_logs_to_s3,
    cloudfront_log_bucket,
    cloudfront_read_statement,
    distribution_arn,
    edge_web_acl,
    origin_access_control,
    signing_key_group,
    viewer_certificate,
    viewer_function,
)
from tap.blocks.iam import LogGroupRef
from tap.stacktree import Stack
from tests.helpers import as_dict, only_resource, statement_by_sid

DISTRIBUTION_ARN = {"Fn::Sub": [
    "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${Distribution}",
    {"Distribution": {"Ref": "Distribution"}},
]}


@pytest.fixture
def stack() -> Stack:
    return Stack("cdn", "cf")


def test_origin_access_control_always_signs_s3_requests_with_sigv4(stack):
    origin_access_control(stack, "Oac")
    config = only_resource(as_dict(stack), "AWS::CloudFront::OriginAccessControl")["Properties"][
        "OriginAccessControlConfig"]
    assert (config["OriginAccessControlOriginType"], config["SigningBehavior"], config["SigningProtocol"]) == (
        "s3", "always", "sigv4"
    )


def test_read_statement_lets_only_the_one_distribution_get_objects(stack):
    bucket = secure_bucket(stack, "Binaries")
    bucket.allow(cloudfront_read_statement(bucket.ref, Ref("Distribution")))
    policy = only_resource(as_dict(stack), "AWS::S3::BucketPolicy")["Properties"]["PolicyDocument"]
    statement = statement_by_sid(policy, "AllowCloudFrontRead")
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": ["cloudfront.amazonaws.com"]}
    assert statement["Action"] == ["s3:GetObject"]
    assert statement["Resource"] == [{"Fn::Join": ["", [{"Fn::GetAtt": ["Binaries", "Arn"]}, "/*"]]}]
    assert statement["Condition"] == {"StringEquals": {"AWS:SourceArn": DISTRIBUTION_ARN}}


def test_distribution_arn_takes_a_resource_or_an_expression_and_hard_codes_no_partition(stack):
    resource = cloudfront.Distribution("Distribution", DistributionConfig=cloudfront.DistributionConfig())
    assert distribution_arn(resource).to_dict() == DISTRIBUTION_ARN
    assert distribution_arn(Ref("Distribution")).to_dict() == DISTRIBUTION_ARN


def test_key_group_trusts_every_unconditional_slot(stack):
    keys = signing_key_group(stack, "Signing", [KeySlot("", Ref("PublicKeyPem"))])
    template = as_dict(stack)
    key = template["Resources"]["SigningPublicKey"]
    assert key["Properties"]["PublicKeyConfig"]["EncodedKey"] == {"Ref": "PublicKeyPem"}
    assert "Condition" not in key
    group = template["Resources"]["SigningKeyGroup"]["Properties"]["KeyGroupConfig"]
    assert group["Items"] == [{"Ref": "SigningPublicKey"}]
    assert list(keys.public_keys) == [""]


def test_a_conditional_slot_holds_a_key_only_while_its_condition_is_true(stack):
    signing_key_group(stack, "Signing", [KeySlot("", "pem-1"), KeySlot("Next", "pem-2", "HasNextKey")])
    template = as_dict(stack)
    assert template["Resources"]["SigningPublicKeyNext"]["Condition"] == "HasNextKey"
    items = template["Resources"]["SigningKeyGroup"]["Properties"]["KeyGroupConfig"]["Items"]
    assert items == [
        {"Ref": "SigningPublicKey"},
        {"Fn::If": ["HasNextKey", {"Ref": "SigningPublicKeyNext"}, {"Ref": "AWS::NoValue"}]},
    ]


def test_viewer_function_is_published_on_the_current_runtime(stack):
    viewer_function(stack, "Rewrite", "function handler(e) { return e.request; }", "rewrites")
    props = only_resource(as_dict(stack), "AWS::CloudFront::Function")["Properties"]
    assert props["AutoPublish"] is True
    assert props["FunctionConfig"] == {"Comment": "rewrites", "Runtime": "cloudfront-js-2.0"}


def test_access_logs_v2_deliver_the_distributions_access_logs_to_the_bucket(stack):
    access_logs_to_s3(stack, "AccessLogs", Ref("Distribution"), "log-bucket-arn")
    resources = as_dict(stack)["Resources"]
    source = resources["AccessLogsSource"]["Properties"]
    assert (source["LogType"], source["ResourceArn"]) == ("ACCESS_LOGS", DISTRIBUTION_ARN)
    assert resources["AccessLogsDestination"]["Properties"]["DestinationResourceArn"] == "log-bucket-arn"
    delivery = resources["AccessLogs"]["Properties"]
    assert delivery == {
        "DeliverySourceName": {"Ref": "AccessLogsSource"},
        "DeliveryDestinationArn": {"Fn::GetAtt": ["AccessLogsDestination", "Arn"]},
    }


def test_legacy_log_bucket_keeps_acls_for_cloudfront_but_stays_private_and_expires(stack):
    cloudfront_log_bucket(stack, "CdnLogs", expire_after_days=30)
    bucket = only_resource(as_dict(stack), "AWS::S3::Bucket")
    props = bucket["Properties"]
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]}
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert len(props["PublicAccessBlockConfiguration"]) == 4
    rules = {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}
    assert rules["ExpireObjects"]["ExpirationInDays"] == 30
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert "CKV_AWS_18" in [skip["id"] for skip in bucket["Metadata"]["checkov"]["skip"]]


WAF_GROUP = LogGroupRef("WafLogs", name=Ref("WafLogs"), arn="waf-logs-arn")


def test_web_acl_is_cloudfront_scope_rate_limited_with_managed_rules(stack):
    edge_web_acl(stack, "Edge", rate_limit=500, log_group=WAF_GROUP)
    props = only_resource(as_dict(stack), "AWS::WAFv2::WebACL")["Properties"]
    assert props["Scope"] == "CLOUDFRONT"
    rules = {rule["Name"]: rule for rule in props["Rules"]}
    assert rules["RatePerClientIp"]["Action"] == {"Block": {}}
    assert rules["RatePerClientIp"]["Statement"]["RateBasedStatement"] == {"Limit": 500, "AggregateKeyType": "IP"}
    assert sorted(rules) == [
        "AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet", "RatePerClientIp",
    ]
    assert sorted(rule["Priority"] for rule in props["Rules"]) == [0, 1, 2, 3]


def test_web_acl_logs_to_the_group_arn_without_the_trailing_star(stack):
    edge_web_acl(stack, "Edge", rate_limit=500, log_group=WAF_GROUP)
    logging = only_resource(as_dict(stack), "AWS::WAFv2::LoggingConfiguration")["Properties"]
    assert logging["LogDestinationConfigs"] == [{"Fn::Sub": [
        "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${Group}",
        {"Group": {"Ref": "WafLogs"}},
    ]}]
    assert "RedactedFields" not in logging


def test_web_acl_logs_never_contain_the_redacted_headers(stack):
    edge_web_acl(stack, "Edge", rate_limit=500, log_group=WAF_GROUP, redacted_headers=("authorization", "x-api-key"))
    logging = only_resource(as_dict(stack), "AWS::WAFv2::LoggingConfiguration")["Properties"]
    assert logging["RedactedFields"] == [
        {"SingleHeader": {"Name": "authorization"}}, {"SingleHeader": {"Name": "x-api-key"}},
    ]


def test_viewer_certificate_without_an_arn_is_cloudfronts_own():
    assert viewer_certificate().to_dict() == {"CloudFrontDefaultCertificate": True}


def test_viewer_certificate_with_an_arn_serves_it_by_sni_with_tls_1_2_at_least():
    assert viewer_certificate(Ref("Certificate")).to_dict() == {
        "AcmCertificateArn": {"Ref": "Certificate"},
        "SslSupportMethod": "sni-only",
        "MinimumProtocolVersion": "TLSv1.2_2021",
    }
