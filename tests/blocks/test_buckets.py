"""secure_bucket and access_log_bucket: the secure defaults every bucket gets."""

from __future__ import annotations

import pytest
from awacs import s3 as s3_actions
from awacs.aws import Allow, Principal, Statement

from tap.blocks.buckets import (
    AccessLogs,
    Lifecycle,
    access_log_bucket,
    bucket_policy,
    secure_bucket,
)
from tap.stacktree import Stack
from tests.helpers import as_dict, only_resource, resources_of_type, statement_by_sid


@pytest.fixture
def stack() -> Stack:
    return Stack.root("root", "buckets")


def bucket_and_policy(stack: Stack) -> tuple[dict, dict]:
    template = as_dict(stack)
    return (
        only_resource(template, "AWS::S3::Bucket"),
        only_resource(template, "AWS::S3::BucketPolicy")["Properties"]["PolicyDocument"],
    )


def test_all_four_block_public_access_flags_are_on(stack):
    secure_bucket(stack, "Data")
    bucket, _ = bucket_and_policy(stack)
    assert bucket["Properties"]["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True,
        "IgnorePublicAcls": True, "RestrictPublicBuckets": True,
    }


def test_acls_are_disabled(stack):
    secure_bucket(stack, "Data")
    bucket, _ = bucket_and_policy(stack)
    assert bucket["Properties"]["OwnershipControls"] == {
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]
    }


def test_default_encryption_is_sse_s3(stack):
    secure_bucket(stack, "Data")
    bucket, _ = bucket_and_policy(stack)
    rule = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}


def test_versioning_is_on(stack):
    secure_bucket(stack, "Data")
    bucket, _ = bucket_and_policy(stack)
    assert bucket["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}


def test_bucket_is_retained_on_delete_and_replace(stack):
    secure_bucket(stack, "Data")
    bucket, _ = bucket_and_policy(stack)
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_cloudformation_names_the_bucket_unless_told(stack):
    secure_bucket(stack, "Data")
    bucket, _ = bucket_and_policy(stack)
    assert "BucketName" not in bucket["Properties"]


def test_policy_denies_plain_http_to_bucket_and_objects(stack):
    secure_bucket(stack, "Data")
    _, policy = bucket_and_policy(stack)
    deny = statement_by_sid(policy, "DenyInsecureTransport")
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == ["s3:*"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Resource"] == [
        {"Fn::GetAtt": ["Data", "Arn"]},
        {"Fn::Join": ["", [{"Fn::GetAtt": ["Data", "Arn"]}, "/*"]]},
    ]


def test_policy_denies_tls_older_than_1_2(stack):
    secure_bucket(stack, "Data")
    _, policy = bucket_and_policy(stack)
    deny = statement_by_sid(policy, "DenyOutdatedTls")
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"NumericLessThan": {"s3:TlsVersion": "1.2"}}


def test_statements_added_later_follow_the_tls_denies(stack):
    bucket = secure_bucket(stack, "Data")
    bucket.allow(Statement(Sid="LetSomeoneRead", Effect=Allow, Principal=Principal("AWS", ["x"]),
                           Action=[s3_actions.GetObject], Resource=[bucket.ref.objects_arn]))
    _, policy = bucket_and_policy(stack)
    assert [s["Sid"] for s in policy["Statement"]] == [
        "DenyInsecureTransport", "DenyOutdatedTls", "LetSomeoneRead"
    ]


def test_incomplete_multipart_uploads_are_aborted_by_default(stack):
    secure_bucket(stack, "Data")
    bucket, _ = bucket_and_policy(stack)
    rules = {r["Id"]: r for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert rules["AbortIncompleteUploads"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
    assert rules["ExpireNoncurrentVersions"]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 90}
    assert "ExpireObjects" not in rules


def test_lifecycle_adds_expiry_and_intelligent_tiering(stack):
    secure_bucket(stack, "Data", lifecycle=Lifecycle(
        expire_after_days=30, noncurrent_expire_after_days=None, intelligent_tiering_after_days=0,
        abort_multipart_after_days=2))
    bucket, _ = bucket_and_policy(stack)
    rules = {r["Id"]: r for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert sorted(rules) == ["AbortIncompleteUploads", "ExpireObjects", "IntelligentTiering"]
    assert rules["ExpireObjects"]["ExpirationInDays"] == 30
    assert rules["IntelligentTiering"]["Transitions"] == [
        {"StorageClass": "INTELLIGENT_TIERING", "TransitionInDays": 0}
    ]


def test_access_logs_go_to_the_given_bucket_and_prefix(stack):
    logs = access_log_bucket(stack, "Logs", expire_after_days=30)
    secure_bucket(stack, "Data", access_logs=AccessLogs(logs.ref, "s3/data/"))
    data = as_dict(stack)["Resources"]["Data"]
    assert data["Properties"]["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": "Logs"}, "LogFilePrefix": "s3/data/"
    }


def test_log_bucket_lets_only_s3_logging_of_this_account_write(stack):
    access_log_bucket(stack, "Logs", expire_after_days=30)
    policy = as_dict(stack)["Resources"]["LogsPolicy"]["Properties"]["PolicyDocument"]
    allow = statement_by_sid(policy, "AllowServerAccessLogDelivery")
    assert allow["Principal"] == {"Service": ["logging.s3.amazonaws.com"]}
    assert allow["Action"] == ["s3:PutObject"]
    assert allow["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_log_bucket_expires_logs_and_stays_private(stack):
    access_log_bucket(stack, "Logs", expire_after_days=30)
    bucket = as_dict(stack)["Resources"]["Logs"]
    rules = {r["Id"]: r for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert rules["ExpireObjects"]["ExpirationInDays"] == 30
    assert bucket["Properties"]["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True


def test_policy_can_live_in_another_stack_and_keeps_the_tls_denies(stack):
    storage = Stack("storage", "s")
    bucket = secure_bucket(storage, "Data", own_policy=False)
    assert resources_of_type(as_dict(storage), "AWS::S3::BucketPolicy") == {}
    bucket_policy(stack, "DataPolicy", bucket.ref, [])
    policy = only_resource(as_dict(stack), "AWS::S3::BucketPolicy")["Properties"]["PolicyDocument"]
    assert [s["Sid"] for s in policy["Statement"]] == ["DenyInsecureTransport", "DenyOutdatedTls"]
