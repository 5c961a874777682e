"""The bootstrap stack: artefact bucket by convention, StackSet roles."""

from __future__ import annotations

import pytest

from tap import names
from tests.helpers import statement_by_sid


@pytest.fixture(scope="module")
def template(built) -> dict:
    return built.template("bootstrap", "bootstrap")


def test_bucket_is_named_from_account_and_region(template):
    bucket = template["Resources"]["ArtifactBucket"]
    assert bucket["Properties"]["BucketName"] == {
        "Fn::Sub": ["tap-assets-${Account}-${AWS::Region}", {"Account": {"Ref": "AWS::AccountId"}}]
    }
    assert names.bootstrap_bucket_name("123456789012", "eu-west-1") == "tap-assets-123456789012-eu-west-1"


def test_bucket_is_versioned_encrypted_private_and_retained(template):
    bucket = template["Resources"]["ArtifactBucket"]
    props = bucket["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert "ServerSideEncryptionConfiguration" in props["BucketEncryption"]
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert bucket["DeletionPolicy"] == "Retain"


def test_only_replaced_versions_and_abandoned_uploads_expire(template):
    rules = {r["Id"]: r for r in template["Resources"]["ArtifactBucket"]["Properties"]
             ["LifecycleConfiguration"]["Rules"]}
    assert sorted(rules) == ["AbortIncompleteUploads", "ExpireNoncurrentVersions"]
    assert rules["ExpireNoncurrentVersions"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30


def test_bucket_policy_is_tls_only_and_opens_reads_to_an_organization_only_when_given(template):
    document = template["Resources"]["ArtifactBucketPolicy"]["Properties"]["PolicyDocument"]
    condition, with_org, without_org = document["Fn::If"]
    assert condition == "OrganizationGiven"
    assert [s["Sid"] for s in without_org["Statement"]] == ["DenyInsecureTransport", "DenyOutdatedTls"]
    read = statement_by_sid(with_org, "AllowOrganizationRead")
    assert read["Action"] == ["s3:GetObject", "s3:GetObjectVersion"]
    assert read["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": {"Ref": "ReaderOrganizationId"}}}


def test_administration_role_may_only_assume_execution_roles(template):
    role = template["Resources"]["StackSetAdministrationRole"]
    assert role["Condition"] == "IsAdministrator"
    assert role["Properties"]["RoleName"] == "AWSCloudFormationStackSetAdministrationRole"
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": ["cloudformation.amazonaws.com"]}
    (policy,) = role["Properties"]["Policies"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["sts:AssumeRole"]
    assert statement["Resource"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/AWSCloudFormationStackSetExecutionRole"}
    ]


def test_execution_role_trusts_only_the_administrator_accounts_role(template):
    role = template["Resources"]["StackSetExecutionRole"]
    assert role["Condition"] == "AdministratorGiven"
    assert role["Properties"]["RoleName"] == "AWSCloudFormationStackSetExecutionRole"
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": [{"Fn::Sub": (
        "arn:${AWS::Partition}:iam::${AdministratorAccountId}:role/AWSCloudFormationStackSetAdministrationRole"
    )}]}


def test_execution_role_is_limited_to_the_services_tap_deploys(template):
    (policy,) = template["Resources"]["StackSetExecutionRole"]["Properties"]["Policies"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    services = {action.split(":")[0] for action in statement["Action"]}
    assert "*" not in statement["Action"]
    assert {"cloudformation", "s3", "lambda", "ecs", "rds"} <= services
    assert not services & {"organizations", "account", "billing", "sts"}


def test_outputs_name_the_bucket(template):
    assert set(template["Outputs"]) == {"ArtifactBucketName", "ArtifactBucketArn"}
