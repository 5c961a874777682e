"""python_function: role, log group, tracing and hashed code for a function folder."""

from __future__ import annotations

import pytest

from tap.blocks.functions import PYTHON_RUNTIME, python_function
from tap.package import package_function
from tap.stacktree import Stack
from tests.helpers import as_dict, inline_policy, statement_by_sid


@pytest.fixture
def template(tmp_path) -> dict:
    (tmp_path / "worker").mkdir()
    (tmp_path / "worker" / "handler.py").write_text("def handler(event, context):\n    return 1\n")
    stack = Stack("functions", "f")
    package = package_function("worker", functions_dir=tmp_path)
    python_function(stack, "Worker", package, description="does work", log_retention_days=30,
                    environment={"TABLE": "t", "A_FIRST": "x"}, memory_mb=512, timeout_seconds=3)
    return as_dict(stack) | {"package": package}


def test_function_runs_current_python_with_given_size(template):
    props = template["Resources"]["Worker"]["Properties"]
    assert props["Runtime"] == PYTHON_RUNTIME == "python3.13"
    assert (props["MemorySize"], props["Timeout"], props["Handler"]) == (512, 3, "handler.handler")


def test_code_comes_from_the_artefact_bucket_by_hashed_key(template):
    code = template["Resources"]["Worker"]["Properties"]["Code"]
    assert code == {"S3Bucket": {"Ref": "ArtifactBucket"}, "S3Key": template["package"].s3_key}


def test_role_is_trusted_by_lambda_only(template):
    trust = template["Resources"]["WorkerRole"]["Properties"]["AssumeRolePolicyDocument"]
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": ["lambda.amazonaws.com"]}
    assert statement["Action"] == ["sts:AssumeRole"]


def test_logs_go_to_its_own_log_group_created_first(template):
    props = template["Resources"]["Worker"]["Properties"]
    assert props["LoggingConfig"] == {"LogFormat": "JSON", "LogGroup": {"Ref": "WorkerLogGroup"}}
    group = template["Resources"]["WorkerLogGroup"]
    assert group["Properties"]["RetentionInDays"] == 30
    assert group["DeletionPolicy"] == "Retain"


def test_role_may_write_only_to_its_log_group_and_cannot_create_groups(template):
    policy = inline_policy(template["Resources"]["WorkerRole"])
    logs = statement_by_sid(policy, "WriteWorkerLogGroup")
    assert logs["Resource"] == [{"Fn::GetAtt": ["WorkerLogGroup", "Arn"]}]
    every_action = [a for s in policy["Statement"] for a in s["Action"]]
    assert "logs:CreateLogGroup" not in every_action


def test_tracing_is_active(template):
    assert template["Resources"]["Worker"]["Properties"]["TracingConfig"] == {"Mode": "Active"}
    assert statement_by_sid(inline_policy(template["Resources"]["WorkerRole"]), "WriteTraces")


def test_environment_is_sorted(template):
    variables = template["Resources"]["Worker"]["Properties"]["Environment"]["Variables"]
    assert list(variables) == ["A_FIRST", "TABLE"]


def test_function_zip_is_registered_for_upload_once(tmp_path):
    (tmp_path / "worker").mkdir()
    (tmp_path / "worker" / "handler.py").write_text("def handler(event, context):\n    return 1\n")
    stack = Stack("functions", "f")
    package = package_function("worker", functions_dir=tmp_path)
    for logical_id in ("First", "Second"):
        python_function(stack, logical_id, package, description="d", log_retention_days=7)
    assert stack.assets == [package]
    assert as_dict(stack)["Parameters"]["ArtifactBucket"]["Type"] == "String"
