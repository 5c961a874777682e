"""Microservices platform, CI/CD: the shared pipeline stack, the per-service pipelines in
each pipelines-NNN shard, and the GitHub workflows emitted beside the templates."""

from __future__ import annotations

import re

import pytest
import yaml

from tap.config import load
from tap.paths import REPO
from tests.helpers import inline_policy, only_resource, statement_by_sid
from tests.systems.microservices import Built, config, service


@pytest.fixture(scope="module")
def platform() -> Built:
    return Built(config([service("orders", branch="release/v2", test_command="pytest -q")]))


@pytest.fixture(scope="module")
def pipelines(platform) -> dict:
    return platform[platform.pipelines_of("orders")]


def test_shared_stack_creates_the_github_connection_and_oidc_provider(platform):
    template = platform["pipeline"]
    connection = only_resource(template, "AWS::CodeConnections::Connection")["Properties"]
    assert connection == {"ConnectionName": "tap-test-github", "ProviderType": "GitHub"}
    provider = only_resource(template, "AWS::IAM::OIDCProvider")["Properties"]
    assert provider == {"Url": "https://token.actions.githubusercontent.com", "ClientIdList": ["sts.amazonaws.com"]}


def test_an_existing_oidc_provider_and_connection_are_used_instead():
    arn = "arn:aws:codeconnections:eu-west-1:123456789012:connection/12345678-1234-1234-1234-123456789012"
    built = Built(config(pipeline={"create_oidc_provider": False, "connection_arn": arn}))
    assert "pipeline" not in built.templates
    shard = built[built.stack_of("orders")]
    nested = next(r for r in shard["Resources"].values() if r["Type"] == "AWS::CloudFormation::Stack")
    root = built["root"]["Resources"][built.stack_of("orders").replace("services-", "Services") + "Stack"]
    assert root["Properties"]["Parameters"]["ConnectionArn"] == {"Ref": "PipelineConnectionArn"}
    assert built.configured == {"PipelineConnectionArn": arn}
    assert root["Properties"]["Parameters"]["OidcProviderArn"] == {"Fn::Sub": (
        "arn:${AWS::Partition}:iam::${AWS::AccountId}:oidc-provider/token.actions.githubusercontent.com")}
    assert nested["Properties"]["Parameters"]["ConnectionArn"] == {"Ref": "ConnectionArn"}


def test_pipeline_is_v2_source_build_deploy_with_artifacts_in_the_artifacts_bucket(pipelines):
    pipeline = pipelines["Resources"]["OrdersPipeline"]["Properties"]
    assert pipeline["PipelineType"] == "V2"
    assert pipeline["ArtifactStore"] == {"Location": {"Ref": "ArtifactsBucketName"}, "Type": "S3"}
    stages = {stage["Name"]: stage["Actions"][0] for stage in pipeline["Stages"]}
    assert list(stages) == ["Source", "Build", "Deploy"]
    source = stages["Source"]
    assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    assert source["Configuration"]["FullRepositoryId"] == "example-org/orders"
    assert source["Configuration"]["BranchName"] == "release/v2"
    assert source["Configuration"]["ConnectionArn"] == {"Ref": "ConnectionArn"}
    assert stages["Build"]["Configuration"] == {"ProjectName": {"Ref": "OrdersBuild"}}
    deploy = stages["Deploy"]
    assert deploy["ActionTypeId"]["Provider"] == "ECS"
    assert deploy["Configuration"]["ServiceName"] == {"Ref": "OrdersServiceName"}
    assert deploy["Configuration"]["FileName"] == "imagedefinitions.json"


def test_pipeline_runs_only_when_the_workflow_starts_it(pipelines):
    source = pipelines["Resources"]["OrdersPipeline"]["Properties"]["Stages"][0]["Actions"][0]
    assert source["Configuration"]["DetectChanges"] == "false"


def test_buildspec_tests_then_builds_pushes_the_commit_sha_and_writes_imagedefinitions(pipelines):
    project = pipelines["Resources"]["OrdersBuild"]["Properties"]
    spec = yaml.safe_load(project["Source"]["BuildSpec"])
    commands = spec["phases"]["pre_build"]["commands"] + spec["phases"]["build"]["commands"]
    assert commands[0].startswith('IMAGE_TAG="${CODEBUILD_RESOLVED_SOURCE_VERSION')
    position = {what: next(i for i, c in enumerate(commands) if c.startswith(what))
                for what in ("pytest -q", "docker build", "docker push", "printf")}
    assert position["pytest -q"] < position["docker build"] < position["docker push"] < position["printf"]
    assert 'docker push "$REPOSITORY_URI:$IMAGE_TAG"' in commands
    assert "imagedefinitions.json" in commands[position["printf"]]
    assert spec["artifacts"]["files"] == ["imagedefinitions.json"]
    assert ":latest" not in project["Source"]["BuildSpec"]
    assert spec["phases"]["build"]["on-failure"] == "ABORT"


def test_build_runs_privileged_docker_and_logs_to_its_own_group(pipelines):
    project = pipelines["Resources"]["OrdersBuild"]["Properties"]
    assert project["Environment"]["PrivilegedMode"] is True
    assert project["LogsConfig"]["CloudWatchLogs"]["GroupName"] == {"Ref": "OrdersBuildLogGroup"}
    variables = {item["Name"]: item["Value"] for item in project["Environment"]["EnvironmentVariables"]}
    assert variables["CONTAINER_NAME"] == "app"
    assert variables["REPOSITORY_URI"] == {"Fn::Sub": [
        "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/${Name}",
        {"Name": {"Ref": "OrdersRepositoryName"}}]}


def test_build_role_pushes_only_to_its_own_repository(pipelines):
    policy = inline_policy(pipelines["Resources"]["OrdersBuildRole"])
    push = statement_by_sid(policy, "PushOrdersRepository")
    assert "ecr:PutImage" in push["Action"]
    assert push["Resource"] == [{"Fn::Sub": [
        "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/${Name}",
        {"Name": {"Ref": "OrdersRepositoryName"}}]}]
    assert statement_by_sid(policy, "WriteOrdersBuildLogGroup")["Resource"] == [
        {"Fn::GetAtt": ["OrdersBuildLogGroup", "Arn"]}]
    assert {s["Sid"] for s in policy["Statement"]} == {
        "WriteOrdersBuildLogGroup", "AuthorizeEcr", "PushOrdersRepository",
        "ReadArtifactsBucket", "WriteArtifactsBucket", "LocateArtifactsBucket"}


def test_pipeline_role_starts_only_its_build_and_updates_only_its_service(pipelines):
    policy = inline_policy(pipelines["Resources"]["OrdersPipelineRole"])
    assert statement_by_sid(policy, "RunBuild")["Resource"] == [{"Fn::GetAtt": ["OrdersBuild", "Arn"]}]
    assert statement_by_sid(policy, "UpdateService")["Resource"] == [{"Ref": "OrdersServiceArn"}]
    assert statement_by_sid(policy, "UseConnection")["Resource"] == [{"Ref": "ConnectionArn"}]


def test_pipeline_may_pass_only_the_service_task_roles_and_only_to_ecs_tasks(pipelines):
    passing = statement_by_sid(inline_policy(pipelines["Resources"]["OrdersPipelineRole"]), "PassRoles")
    assert passing["Action"] == ["iam:PassRole"]
    assert passing["Resource"] == [{"Ref": "OrdersTaskRoleArn"}, {"Ref": "OrdersExecutionRoleArn"}]
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}


def test_deploy_role_trusts_github_only_for_the_repository_and_branch(pipelines):
    role = pipelines["Resources"]["OrdersDeployRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == ["sts:AssumeRoleWithWebIdentity"]
    assert trust["Principal"] == {"Federated": {"Ref": "OidcProviderArn"}}
    assert trust["Condition"] == {"StringEquals": {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": "repo:example-org/orders:ref:refs/heads/release/v2",
    }}


def test_deploy_role_may_only_start_and_watch_its_pipeline(pipelines):
    (statement,) = inline_policy(pipelines["Resources"]["OrdersDeployRole"])["Statement"]
    assert statement["Action"] == [
        "codepipeline:StartPipelineExecution", "codepipeline:GetPipelineExecution",
        "codepipeline:GetPipelineState"]
    assert statement["Resource"] == [{"Fn::Sub": [
        "arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:${Pipeline}",
        {"Pipeline": {"Ref": "OrdersPipeline"}}]}]


def test_deploy_role_and_pipeline_name_are_outputs_for_the_workflow(pipelines):
    assert pipelines["Outputs"]["OrdersDeployRoleArn"]["Value"] == {"Fn::GetAtt": ["OrdersDeployRole", "Arn"]}
    assert pipelines["Outputs"]["OrdersPipelineName"]["Value"] == {"Ref": "OrdersPipeline"}


@pytest.fixture(scope="module")
def workflow(platform) -> dict:
    return yaml.safe_load(platform.files["workflows/orders.yml"])


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_a_workflow_per_service_is_emitted_beside_the_templates(built, env):
    files = built.targets[f"microservices/{env}"].emission.files
    expected = {f"workflows/{folder}{s.name}.yml" for s in load("microservices", env).services
                for folder in ("", "pull-requests/")}
    assert {name for name in files if name.startswith("workflows/")} == expected


def test_workflow_uses_oidc_and_the_deploy_role_no_keys(platform, workflow):
    assert workflow["permissions"] == {"id-token": "write", "contents": "read"}
    steps = workflow["jobs"]["deploy"]["steps"]
    assume = steps[0]
    assert assume["uses"].startswith("aws-actions/configure-aws-credentials@")
    assert assume["with"]["role-to-assume"] == "${{ vars.ORDERS_TEST_DEPLOY_ROLE_ARN }}"
    text = platform.files["workflows/orders.yml"].decode()
    assert "aws-access-key-id" not in text and "AWS_SECRET_ACCESS_KEY" not in text
    # A job environment would change the token's subject, which the role would not trust.
    assert "environment" not in workflow["jobs"]["deploy"]


def test_workflow_runs_on_the_configured_branch_and_starts_the_pipeline_at_that_commit(workflow):
    assert workflow[True]["push"]["branches"] == ["release/v2"]  # YAML 1.1 reads `on` as true
    start = workflow["jobs"]["deploy"]["steps"][1]
    assert "start-pipeline-execution" in start["run"]
    assert "revisionValue=$GITHUB_SHA" in start["run"]
    assert start["env"]["PIPELINE"] == "${{ vars.ORDERS_TEST_PIPELINE }}"


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_every_emitted_workflow_pins_its_actions_by_commit_sha(built, env):
    files = {**built.targets[f"microservices/{env}"].emission.files,
             **{path.name: path.read_bytes() for path in (REPO / "templates" / "ci").glob("*.yml")}}
    used = [line.split("uses:", 1)[1].strip()
            for name, data in files.items() if name.endswith(".yml")
            for line in data.decode().splitlines() if line.strip().startswith(("uses:", "- uses:"))]
    assert used
    assert all(re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}  # v\d+(\.\d+)*", action) for action in used), used


@pytest.fixture(scope="module")
def pull_request(platform) -> dict:
    return yaml.safe_load(platform.files["workflows/pull-requests/orders.yml"])


def test_the_pull_request_workflow_tests_and_builds_on_the_branch_without_aws(platform, pull_request):
    assert pull_request[True] == {"pull_request": {"branches": ["release/v2"]}}
    assert pull_request["permissions"] == {"contents": "read"}
    steps = pull_request["jobs"]["test"]["steps"]
    assert steps[0]["uses"].startswith("actions/checkout@")
    assert steps[0]["with"] == {"persist-credentials": False}
    assert steps[1]["run"] == "pytest -q"
    assert "docker build" in steps[2]["run"] and "docker push" not in steps[2]["run"]
    text = platform.files["workflows/pull-requests/orders.yml"].decode()
    assert "id-token" not in text and "aws" not in text.split("name:", 1)[1].lower()
