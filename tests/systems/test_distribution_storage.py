"""Distribution platform, storage stack: binaries bucket and logs bucket."""

from __future__ import annotations

import pytest

from tests.helpers import resources_of_type, statement_by_sid


@pytest.fixture(scope="module", params=["dev", "staging", "prod"])
def storage(request, built) -> dict:
    return built.template(f"distribution/{request.param}", "storage")


def test_binaries_bucket_is_private_encrypted_versioned_and_owner_enforced(storage):
    props = storage["Resources"]["BinariesBucket"]["Properties"]
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert len(props["PublicAccessBlockConfiguration"]) == 4
    assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert "ServerSideEncryptionConfiguration" in props["BucketEncryption"]


def test_binaries_bucket_logs_access_to_the_logs_bucket(storage):
    props = storage["Resources"]["BinariesBucket"]["Properties"]
    assert props["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": "LogsBucket"}, "LogFilePrefix": "s3/binaries/"
    }


def test_binaries_move_to_intelligent_tiering_and_abandoned_uploads_are_aborted(storage):
    rules = {r["Id"]: r for r in storage["Resources"]["BinariesBucket"]["Properties"]
             ["LifecycleConfiguration"]["Rules"]}
    assert rules["IntelligentTiering"]["Transitions"][0]["StorageClass"] == "INTELLIGENT_TIERING"
    assert rules["AbortIncompleteUploads"]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 7


def test_binaries_bucket_policy_is_left_to_the_cdn_stack(storage):
    policies = resources_of_type(storage, "AWS::S3::BucketPolicy")
    assert [p["Properties"]["Bucket"] for p in policies.values()] == [{"Ref": "LogsBucket"}]


def test_logs_expire_and_accept_only_log_delivery_services(storage):
    rules = {r["Id"]: r for r in storage["Resources"]["LogsBucket"]["Properties"]
             ["LifecycleConfiguration"]["Rules"]}
    assert rules["ExpireObjects"]["ExpirationInDays"] >= 1
    policy = storage["Resources"]["LogsBucketPolicy"]["Properties"]["PolicyDocument"]
    allowed = {s["Sid"]: s for s in policy["Statement"] if s["Effect"] == "Allow"}
    assert sorted(allowed) == [
        "AllowServerAccessLogDelivery", "AllowVendedLogAclCheck", "AllowVendedLogDelivery"
    ]
    assert allowed["AllowServerAccessLogDelivery"]["Principal"] == {"Service": ["logging.s3.amazonaws.com"]}
    vended = allowed["AllowVendedLogDelivery"]
    assert vended["Principal"] == {"Service": ["delivery.logs.amazonaws.com"]}
    assert vended["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert statement_by_sid(policy, "DenyInsecureTransport")["Effect"] == "Deny"


def test_expiry_days_come_from_config(built):
    def expiry(env):
        rules = built.template(f"distribution/{env}", "storage")["Resources"]["LogsBucket"][
            "Properties"]["LifecycleConfiguration"]["Rules"]
        return {r["Id"]: r for r in rules}["ExpireObjects"]["ExpirationInDays"]

    assert (expiry("dev"), expiry("prod")) == (30, 365)
