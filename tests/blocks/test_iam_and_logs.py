"""Roles, intent-level grants, and log groups."""

from __future__ import annotations

import pytest
from awacs.helpers.trust import get_lambda_assumerole_policy
from troposphere import Ref

from tap.blocks.iam import (
    BucketRef,
    LogGroupRef,
    Role,
    SecretRef,
    TableRef,
    grant_read,
    grant_read_write,
    grant_tracing,
    grant_write,
)
from tap.blocks.logs import log_group
from tap.stacktree import Stack
from tests.helpers import as_dict, inline_policy, only_resource, statement_by_sid

TABLE = TableRef("Licenses", name=Ref("LicensesTable"), arn="table-arn")
BUCKET = BucketRef("Binaries", name=Ref("BinariesBucket"), arn="bucket-arn")
SECRET = SecretRef("SigningKey", arn="secret-arn")


@pytest.fixture
def stack() -> Stack:
    return Stack.root("root", "iam")


@pytest.fixture
def role(stack) -> Role:
    return Role(stack, "WorkerRole", get_lambda_assumerole_policy(), "worker")


def policy_of(stack: Stack) -> dict:
    return inline_policy(only_resource(as_dict(stack), "AWS::IAM::Role"))


def test_table_read_covers_the_table_and_its_indexes_only(stack, role):
    grant_read(role, TABLE)
    statement = statement_by_sid(policy_of(stack), "ReadLicenses")
    assert statement["Action"] == [
        "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query",
        "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable",
    ]
    assert statement["Resource"] == ["table-arn", {"Fn::Join": ["", ["table-arn", "/index/*"]]}]


def test_table_write_allows_item_writes_on_the_table_only(stack, role):
    grant_write(role, TABLE)
    statement = statement_by_sid(policy_of(stack), "WriteLicenses")
    assert statement["Action"] == [
        "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"
    ]
    assert statement["Resource"] == ["table-arn"]


def test_read_write_is_both_statements(stack, role):
    grant_read_write(role, TABLE)
    assert [s["Sid"] for s in policy_of(stack)["Statement"]] == ["ReadLicenses", "WriteLicenses"]


def test_bucket_grants_cover_objects_not_the_bucket(stack, role):
    grant_read_write(role, BUCKET)
    policy = policy_of(stack)
    objects = [{"Fn::Join": ["", ["bucket-arn", "/*"]]}]
    assert statement_by_sid(policy, "ReadBinaries")["Resource"] == objects
    assert statement_by_sid(policy, "ReadBinaries")["Action"] == ["s3:GetObject", "s3:GetObjectVersion"]
    assert statement_by_sid(policy, "WriteBinaries")["Action"] == ["s3:PutObject", "s3:AbortMultipartUpload"]


def test_secret_read_is_get_and_describe_of_that_secret(stack, role):
    grant_read(role, SECRET)
    statement = statement_by_sid(policy_of(stack), "ReadSigningKey")
    assert statement["Action"] == ["secretsmanager:GetSecretValue"]
    assert statement["Resource"] == ["secret-arn"]


def test_secrets_cannot_be_written_through_a_grant(role):
    with pytest.raises(TypeError, match="no write grant for SecretRef"):
        grant_write(role, SECRET)


def test_log_write_is_streams_and_events_of_one_group(stack, role):
    grant_write(role, LogGroupRef("AppLogs", name="n", arn="group-arn"))
    statement = statement_by_sid(policy_of(stack), "WriteAppLogs")
    assert statement["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert statement["Resource"] == ["group-arn"]


def test_tracing_is_the_only_star_resource(stack, role):
    grant_tracing(role)
    grant_read(role, TABLE)
    stars = [s["Sid"] for s in policy_of(stack)["Statement"] if "*" in s["Resource"]]
    assert stars == ["WriteTraces"]


def test_a_statement_id_cannot_be_granted_twice(role):
    grant_read(role, TABLE)
    with pytest.raises(ValueError, match="already has a statement 'ReadLicenses'"):
        grant_read(role, TABLE)


def test_a_role_without_grants_has_no_inline_policy(stack, role):
    assert "Policies" not in only_resource(as_dict(stack), "AWS::IAM::Role")["Properties"]


def test_log_group_has_retention_and_is_retained(stack):
    log_group(stack, "AppLogs", 14)
    group = only_resource(as_dict(stack), "AWS::Logs::LogGroup")
    assert group["Properties"]["RetentionInDays"] == 14
    assert (group["DeletionPolicy"], group["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert "LogGroupName" not in group["Properties"]
