"""Distribution platform, storage stack: binaries bucket and logs bucket."""

from __future__ import annotations

import pytest

from tests.helpers import statement_by_sid


@pytest.fixture(scope="module", params=["dev", "staging", "prod"])
def storage(request, built) -> dict:
    return built.template(f"distribution/{request.param}", "storage")


def test_binaries_bucket_logs_access_to_the_logs_bucket(storage):
    props = storage["Resources"]["BinariesBucket"]["Properties"]
    assert props["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": "LogsBucket"}, "LogFilePrefix": "s3/binaries/"
    }


def test_binaries_move_to_intelligent_tiering(storage):
    rules = {r["Id"]: r for r in storage["Resources"]["BinariesBucket"]["Properties"]
             ["LifecycleConfiguration"]["Rules"]}
    assert rules["IntelligentTiering"]["Transitions"][0]["StorageClass"] == "INTELLIGENT_TIERING"
    assert "AbortIncompleteUploads" in rules


def test_logs_expire(storage):
    rules = {r["Id"]: r for r in storage["Resources"]["LogsBucket"]["Properties"]
             ["LifecycleConfiguration"]["Rules"]}
    assert rules["ExpireObjects"]["ExpirationInDays"] >= 1


def test_logs_bucket_accepts_only_s3_log_delivery(storage):
    policy = storage["Resources"]["LogsBucketPolicy"]["Properties"]["PolicyDocument"]
    assert statement_by_sid(policy, "AllowServerAccessLogDelivery")["Action"] == ["s3:PutObject"]


def test_expiry_days_come_from_config(built):
    dev = built.template("distribution/dev", "storage")
    prod = built.template("distribution/prod", "storage")

    def expiry(template):
        rules = template["Resources"]["LogsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
        return {r["Id"]: r for r in rules}["ExpireObjects"]["ExpirationInDays"]

    assert (expiry(dev), expiry(prod)) == (30, 365)


def test_root_surfaces_the_bucket_names(built):
    root = built.template("distribution/prod", "root")
    assert root["Outputs"]["BinariesBucketName"]["Value"] == {
        "Fn::GetAtt": ["StorageStack", "Outputs.BinariesBucketName"]
    }
