"""Microservices platform, storage stack: artefacts, static assets and log buckets."""

from __future__ import annotations

import pytest

from tests.helpers import statement_by_sid


@pytest.fixture(scope="module", params=["dev", "staging", "prod"])
def storage(request, built) -> dict:
    return built.template(f"microservices/{request.param}", "storage")


def rules(bucket: dict) -> dict:
    return {rule["Id"]: rule for rule in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}


def test_artifacts_bucket_is_versioned_and_expires_replaced_versions_after_90_days(storage):
    bucket = storage["Resources"]["ArtifactsBucket"]
    assert bucket["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
    assert rules(bucket)["ExpireNoncurrentVersions"]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 90}
    assert bucket["DeletionPolicy"] == "Retain"


def test_artifacts_bucket_policy_is_tls_only(storage):
    policy = storage["Resources"]["ArtifactsBucketPolicy"]["Properties"]["PolicyDocument"]
    deny = statement_by_sid(policy, "DenyInsecureTransport")
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_static_bucket_policy_is_left_to_the_cdn_stack(storage):
    assert "StaticBucket" in storage["Resources"]
    assert "StaticBucketPolicy" not in storage["Resources"]


def test_both_buckets_log_access_to_the_logs_bucket(storage):
    for bucket, prefix in (("ArtifactsBucket", "s3/artifacts/"), ("StaticBucket", "s3/static/")):
        assert storage["Resources"][bucket]["Properties"]["LoggingConfiguration"] == {
            "DestinationBucketName": {"Ref": "LogsBucket"}, "LogFilePrefix": prefix
        }


def test_logs_bucket_admits_load_balancer_logs_through_the_elb_service_principal(storage):
    policy = storage["Resources"]["LogsBucketPolicy"]["Properties"]["PolicyDocument"]
    statement = statement_by_sid(policy, "AllowLoadBalancerLogDelivery")
    assert statement["Principal"] == {"Service": ["logdelivery.elasticloadbalancing.amazonaws.com"]}
    assert statement["Action"] == ["s3:PutObject"]
    assert statement["Resource"] == [{"Fn::Join": ["", [
        {"Fn::GetAtt": ["LogsBucket", "Arn"]}, "/alb/AWSLogs/", {"Ref": "AWS::AccountId"}, "/*"
    ]]}]


def test_cloudfront_log_bucket_keeps_acls_for_log_delivery_but_blocks_public_access(storage):
    props = storage["Resources"]["CdnLogsBucket"]["Properties"]
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]}
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert "ExpireObjects" in rules(storage["Resources"]["CdnLogsBucket"])


def test_log_expiry_comes_from_config(built):
    def expiry(env):
        logs = built.template(f"microservices/{env}", "storage")["Resources"]["LogsBucket"]
        return rules(logs)["ExpireObjects"]["ExpirationInDays"]

    assert (expiry("dev"), expiry("prod")) == (90, 365)
