"""What a deploy uploads: the committed templates, refused when stale, and the function
zips rebuilt into a content-addressed cache and checked against the manifest; uploaded
in parallel, skipping keys that already hold the same bytes."""

from __future__ import annotations

import hashlib
import json
import shutil

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from tap.deploy import artifacts
from tap.errors import UserError
from tap.paths import CONFIG_DIR, TEMPLATES_DIR

BUCKET = "tap-assets-123456789012-us-east-1"


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return artifacts.prepare("distribution", "dev", CONFIG_DIR, TEMPLATES_DIR,
                             tmp_path_factory.mktemp("cache"))


def test_every_artefact_of_the_manifest_is_on_disk_with_its_sha256(release):
    manifest = json.loads((TEMPLATES_DIR / "distribution/dev/manifest.json").read_text())
    assert [a.s3_key for a in release.artifacts] == [entry["s3_key"] for entry in manifest["artifacts"]]
    for artifact in release.artifacts:
        assert hashlib.sha256(artifact.path.read_bytes()).hexdigest() == artifact.sha256
    zips = [a for a in release.artifacts if a.kind == "function"]
    assert len(zips) == 3 and all(a.path.suffix == ".zip" for a in zips)


def test_the_root_and_the_paths_of_nested_stacks_come_from_the_manifest(release):
    assert release.root.path.name == "root.template.json"
    paths = release.stack_paths()
    assert paths[()] == "root.template.json"
    assert paths[("DatabaseStack",)] == "database.template.json"


def test_a_damaged_cached_zip_is_rebuilt(tmp_path, release):
    cache = tmp_path / "cache"
    first = artifacts.prepare("distribution", "dev", CONFIG_DIR, TEMPLATES_DIR, cache)
    damaged = next(a for a in first.artifacts if a.kind == "function")
    damaged.path.write_bytes(b"not a zip")
    again = artifacts.prepare("distribution", "dev", CONFIG_DIR, TEMPLATES_DIR, cache)
    repaired = next(a for a in again.artifacts if a.s3_key == damaged.s3_key)
    assert hashlib.sha256(repaired.path.read_bytes()).hexdigest() == damaged.sha256


def test_stale_templates_are_refused_naming_the_files(tmp_path):
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR / "distribution" / "dev", templates / "distribution" / "dev")
    (templates / "distribution/dev/api.template.json").write_text("{}\n")
    with pytest.raises(UserError) as refused:
        artifacts.prepare("distribution", "dev", CONFIG_DIR, templates, tmp_path / "cache")
    message = str(refused.value)
    assert "templates/distribution/dev is stale" in message and "run `python build.py`" in message
    assert "api.template.json (differs)" in message
    assert refused.value.exit_code == 2


@mock_aws
def test_upload_sends_each_key_once_and_skips_what_is_there(release):
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    first = artifacts.upload(s3, BUCKET, release.artifacts, "123456789012")
    assert (first.uploaded, first.skipped) == (len(release.artifacts), 0)
    assert first.bytes_uploaded == sum(a.path.stat().st_size for a in release.artifacts)
    stored = s3.get_object(Bucket=BUCKET, Key=release.root.s3_key)["Body"].read()
    assert stored == release.root.path.read_bytes()

    again = artifacts.upload(s3, BUCKET, release.artifacts, "123456789012")
    assert (again.uploaded, again.skipped) == (0, len(release.artifacts))


@mock_aws
def test_a_key_holding_other_bytes_is_uploaded_again(release):
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    artifacts.upload(s3, BUCKET, release.artifacts, "123456789012")
    s3.put_object(Bucket=BUCKET, Key=release.root.s3_key, Body=b"tampered")
    sent = []
    summary = artifacts.upload(s3, BUCKET, release.artifacts, "123456789012",
                               on_each=lambda artifact, uploaded: uploaded and sent.append(artifact.s3_key))
    assert summary.uploaded == 1 and sent == [release.root.s3_key]
    assert s3.get_object(Bucket=BUCKET, Key=release.root.s3_key)["Body"].read() == release.root.path.read_bytes()


@mock_aws
def test_a_new_key_is_only_created_never_overwritten_and_a_changed_one_is_replaced(release):
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    puts = []
    s3.meta.events.register("before-parameter-build.s3.PutObject",
                            lambda params, **_: puts.append((params["Key"], params.get("IfNoneMatch"))))
    artifacts.upload(s3, BUCKET, release.artifacts, "123456789012")
    assert puts and all(condition == "*" for _, condition in puts)

    s3.put_object(Bucket=BUCKET, Key=release.root.s3_key, Body=b"tampered")
    puts.clear()
    artifacts.upload(s3, BUCKET, release.artifacts, "123456789012")
    assert puts == [(release.root.s3_key, None)]


def stubbed_race(release, stored_after: str):
    """An upload that finds the root's key absent, then loses the race to create it."""
    s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="testing",
                      aws_secret_access_key="testing")
    root = release.root
    head = {"Bucket": BUCKET, "Key": root.s3_key, "ChecksumMode": "ENABLED",
            "ExpectedBucketOwner": "123456789012"}
    stubber = Stubber(s3)
    stubber.add_client_error("head_object", "404", http_status_code=404, expected_params=head)
    stubber.add_client_error("put_object", "PreconditionFailed", http_status_code=412)
    stubber.add_response("head_object", {"ChecksumSHA256": stored_after}, head)
    return s3, stubber


def test_a_key_another_deploy_created_meanwhile_with_the_same_bytes_is_not_sent_again(release):
    s3, stubber = stubbed_race(release, release.root.checksum)
    with stubber:
        summary = artifacts.upload(s3, BUCKET, (release.root,), "123456789012")
    assert (summary.uploaded, summary.skipped) == (0, 1)
    stubber.assert_no_pending_responses()


def test_a_key_created_meanwhile_with_other_bytes_is_replaced(release):
    s3, stubber = stubbed_race(release, "b3RoZXI=")
    stubber.add_response("put_object", {})
    with stubber:
        summary = artifacts.upload(s3, BUCKET, (release.root,), "123456789012")
    assert summary.uploaded == 1
    stubber.assert_no_pending_responses()


def test_template_urls_have_the_shape_of_the_nested_ones():
    assert artifacts.template_url(BUCKET, "cn-north-1", "amazonaws.com.cn", "templates/root-ab.json") == (
        f"https://{BUCKET}.s3.cn-north-1.amazonaws.com.cn/templates/root-ab.json")
