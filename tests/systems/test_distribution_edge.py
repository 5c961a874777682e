"""Distribution platform, edge stack: the Lambda@Edge licence check."""

from __future__ import annotations

import io
import json
import re
import shutil
import zipfile

import pytest

from tap import config
from tap.blocks.edge import check_limits
from tap.package import FunctionPackager, package_function
from tap.paths import FUNCTIONS_DIR
from tap.systems import Tools, builder
from tap.systems.distribution.edge import edge_config
from tests.helpers import inline_policy, resources_of_type

ENVS = ["dev", "staging", "prod"]


@pytest.fixture(scope="module", params=ENVS)
def edge(request, built) -> dict:
    return built.template(f"distribution/{request.param}", "edge")


def the_function(edge: dict) -> dict:
    return edge["Resources"]["LicenseCheck"]


def the_version(edge: dict) -> tuple[str, dict]:
    (item,) = resources_of_type(edge, "AWS::Lambda::Version").items()
    return item


def test_no_environment_variables_and_no_tracing(edge):
    props = the_function(edge)["Properties"]
    assert "Environment" not in props
    assert "TracingConfig" not in props
    assert "LoggingConfig" not in props


def test_within_viewer_request_limits(edge):
    props = the_function(edge)["Properties"]
    assert props["MemorySize"] <= 128
    assert props["Timeout"] <= 5
    assert props["Architectures"] == ["x86_64"]
    assert props["Runtime"] == "python3.13"


def test_role_is_trusted_by_lambda_and_edgelambda(edge):
    trust = edge["Resources"]["LicenseCheckRole"]["Properties"]["AssumeRolePolicyDocument"]
    (statement,) = trust["Statement"]
    assert sorted(statement["Principal"]["Service"]) == ["edgelambda.amazonaws.com", "lambda.amazonaws.com"]


def test_role_may_only_get_licenses_by_key_hash(edge):
    policy = inline_policy(edge["Resources"]["LicenseCheckRole"])
    (statement,) = policy["Statement"]
    assert statement["Action"] == ["dynamodb:GetItem"]
    assert statement["Resource"] == [{"Ref": "LicensesTableArn"}]


def test_replicas_may_log_to_their_log_group_in_every_region_only(edge):
    policy = edge["Resources"]["LicenseCheckLogPolicy"]["Properties"]
    assert policy["Roles"] == [{"Ref": "LicenseCheckRole"}]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
    assert statement["Resource"] == [{"Fn::Sub": [
        "arn:${AWS::Partition}:logs:*:${AWS::AccountId}:log-group:/aws/lambda/us-east-1.${Function}:*",
        {"Function": {"Ref": "LicenseCheck"}},
    ]}]


def test_us_east_1_log_group_is_named_for_replicas_with_retention(edge):
    group = edge["Resources"]["LicenseCheckLogGroup"]
    assert group["Properties"]["LogGroupName"] == {
        "Fn::Sub": ["/aws/lambda/us-east-1.${Function}", {"Function": {"Ref": "LicenseCheck"}}]
    }
    assert group["Properties"]["RetentionInDays"] == 30


def test_version_logical_id_carries_a_hash_and_versions_are_retained(edge):
    logical_id, version = the_version(edge)
    assert re.fullmatch(r"LicenseCheckVersion[0-9a-f]{16}", logical_id)
    assert version["Properties"]["FunctionName"] == {"Ref": "LicenseCheck"}
    assert (version["DeletionPolicy"], version["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert the_function(edge)["DeletionPolicy"] == "Retain"
    assert edge["Outputs"]["LicenseCheckVersionArn"]["Value"] == {"Ref": logical_id}


def test_cloudfront_runs_the_numbered_version_on_viewer_request(built):
    for env in ENVS:
        cdn = built.template(f"distribution/{env}", "cdn")
        behaviour = cdn["Resources"]["Distribution"]["Properties"]["DistributionConfig"][
            "DefaultCacheBehavior"]
        assert behaviour["LambdaFunctionAssociations"] == [{
            "EventType": "viewer-request", "IncludeBody": False,
            "LambdaFunctionARN": {"Ref": "LicenseCheckVersionArn"},
        }]
        stack, value = built.resolve(f"distribution/{env}", "cdn", {"Ref": "LicenseCheckVersionArn"})
        assert stack == "edge" and value["Ref"].startswith("LicenseCheckVersion")


@pytest.mark.parametrize("env", ENVS)
def test_configuration_is_rendered_into_the_package(env):
    settings = config.load("distribution", env)
    package = FunctionPackager()("license_verify", edge_config(settings))
    with zipfile.ZipFile(io.BytesIO(package.data)) as archive:
        assert "edge_config.py" in archive.namelist()
        assert "edge_config.py.j2" not in archive.namelist()
        rendered = archive.read("edge_config.py").decode()
    assert json.dumps(settings.database.licenses_table_name) in rendered
    assert '"us-east-1"' in rendered
    assert len(package.data) <= 1_048_576


def test_edge_limits_are_enforced_at_build_time():
    package = package_function("license_verify", edge_config(config.load("distribution", "dev")))
    with pytest.raises(ValueError, match="memory 256 MB > 128 MB; timeout 10 s > 5 s"):
        check_limits(package, "viewer-request", 256, 10)


def build_bodies(functions_dir) -> dict[str, bytes]:
    settings = config.load("distribution", "dev")
    root = builder("distribution")(settings, Tools(FunctionPackager(functions_dir))).root
    return {stack.name: stack.body for stack in root.walk()}


def test_changing_only_edge_code_changes_only_hash_bearing_ids_and_keys(tmp_path):
    before_dir, after_dir = tmp_path / "before", tmp_path / "after"
    shutil.copytree(FUNCTIONS_DIR, before_dir, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(FUNCTIONS_DIR, after_dir, ignore=shutil.ignore_patterns("__pycache__"))
    with (after_dir / "license_verify" / "handler.py").open("a") as handler:
        handler.write("\n# a code change\n")
    before, after = build_bodies(before_dir), build_bodies(after_dir)

    changed = sorted(name for name in before if before[name] != after[name])
    assert changed == ["edge", "root"]

    def without_hashes(body: bytes) -> str:
        text = re.sub(r"[0-9a-f]{64}", "<sha256>", body.decode())
        return re.sub(r"LicenseCheckVersion[0-9a-f]{16}", "LicenseCheckVersion<hash>", text)

    for name in changed:
        assert without_hashes(before[name]) == without_hashes(after[name])
    old_edge, new_edge = json.loads(before["edge"]), json.loads(after["edge"])
    assert the_version(old_edge)[0] != the_version(new_edge)[0]
    old_key = the_function(old_edge)["Properties"]["Code"]["S3Key"]
    assert old_key != the_function(new_edge)["Properties"]["Code"]["S3Key"]
