"""CI/CD blocks: GitHub connection and OIDC trust, the Docker build project, the ECS pipeline."""

from __future__ import annotations

import pytest
from troposphere import Ref, codepipeline

from tap.blocks.iam import BucketRef, RepositoryRef
from tap.blocks.pipelines import (
    EcsTarget,
    docker_build_project,
    ecs_deploy_pipeline,
    existing_github_oidc_provider_arn,
    github_connection,
    github_deploy_role,
    github_oidc_provider,
    pipeline_arn,
)
from tap.stacktree import Stack
from tests.helpers import as_dict, inline_policy, only_resource, statement_by_sid

ARTIFACTS = BucketRef("Artifacts", name=Ref("Artifacts"), arn="artifacts-arn")
REPOSITORY = RepositoryRef("ApiRepository", name="repo", arn="repo-arn")
OBJECTS = [{"Fn::Join": ["", ["artifacts-arn", "/*"]]}]


@pytest.fixture(scope="module")
def template() -> dict:
    stack = Stack("pipelines", "p")
    build = docker_build_project(
        stack, "ApiBuild", description="API image build", buildspec="version: 0.2",
        repository=REPOSITORY, artifacts=ARTIFACTS, image="aws/codebuild/standard:7.0",
        compute_type="BUILD_GENERAL1_SMALL", timeout_minutes=20, log_retention_days=14,
        environment={"REPOSITORY_URI": "uri", "A_FIRST": "x"},
    )
    ecs_deploy_pipeline(
        stack, "ApiPipeline", description="API pipeline", connection_arn="connection-arn",
        repository="owner/api", branch="main", build=build, artifacts=ARTIFACTS,
        target=EcsTarget(cluster_name="cluster", service_name="api", service_arn="service-arn",
                         task_role_arns=["execution-role-arn", "task-role-arn"]),
    )
    return as_dict(stack)


def policy_of(template: dict, role: str) -> dict:
    return inline_policy(template["Resources"][role])


# --- GitHub ------------------------------------------------------------------


def test_connection_is_a_github_codeconnections_connection():
    stack = Stack("pipelines", "p")
    github_connection(stack, "GitHub", "tap-github")
    props = only_resource(as_dict(stack), "AWS::CodeConnections::Connection")["Properties"]
    assert props == {"ConnectionName": "tap-github", "ProviderType": "GitHub"}


def test_oidc_provider_trusts_github_actions_for_the_sts_audience_without_a_thumbprint():
    stack = Stack("pipelines", "p")
    github_oidc_provider(stack, "GitHubOidc")
    props = only_resource(as_dict(stack), "AWS::IAM::OIDCProvider")["Properties"]
    assert props == {"Url": "https://token.actions.githubusercontent.com", "ClientIdList": ["sts.amazonaws.com"]}


def test_existing_provider_arn_is_partition_and_account_agnostic():
    assert existing_github_oidc_provider_arn().to_dict() == {"Fn::Sub": (
        "arn:${AWS::Partition}:iam::${AWS::AccountId}:oidc-provider/token.actions.githubusercontent.com"
    )}


def test_deploy_role_trusts_one_repository_on_one_branch_exactly():
    """No wildcard: StringEquals on both aud and sub, so no other repository, branch or event."""
    stack = Stack("pipelines", "p")
    github_deploy_role(stack, "DeployRole", provider_arn="provider-arn", repository="owner/api",
                       branch="main", description="deploys")
    role = only_resource(as_dict(stack), "AWS::IAM::Role")["Properties"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Federated": "provider-arn"}
    assert statement["Action"] == ["sts:AssumeRoleWithWebIdentity"]
    assert statement["Condition"] == {"StringEquals": {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": "repo:owner/api:ref:refs/heads/main",
    }}
    assert "StringLike" not in statement["Condition"]
    assert role["MaxSessionDuration"] == 3600


# --- build project ---------------------------------------------------------


def test_build_runs_privileged_docker_in_the_curated_image_with_a_timeout(template):
    props = template["Resources"]["ApiBuild"]["Properties"]
    environment = props["Environment"]
    assert environment["PrivilegedMode"] is True  # docker build needs the daemon
    assert (environment["Image"], environment["ImagePullCredentialsType"]) == (
        "aws/codebuild/standard:7.0", "CODEBUILD"
    )
    assert (props["TimeoutInMinutes"], props["QueuedTimeoutInMinutes"]) == (20, 60)
    assert props["Source"] == {"Type": "CODEPIPELINE", "BuildSpec": "version: 0.2"}
    assert [v["Name"] for v in environment["EnvironmentVariables"]] == ["A_FIRST", "REPOSITORY_URI"]


def test_build_logs_to_its_own_retained_group(template):
    logs = template["Resources"]["ApiBuild"]["Properties"]["LogsConfig"]["CloudWatchLogs"]
    assert logs == {"Status": "ENABLED", "GroupName": {"Ref": "ApiBuildLogGroup"}}
    group = template["Resources"]["ApiBuildLogGroup"]
    assert (group["Properties"]["RetentionInDays"], group["DeletionPolicy"]) == (14, "Retain")


def test_build_role_is_trusted_by_codebuild_of_this_account(template):
    trust = template["Resources"]["ApiBuildRole"]["Properties"]["AssumeRolePolicyDocument"]
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": ["codebuild.amazonaws.com"]}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_build_role_pushes_only_to_its_repository_and_uses_only_the_artefact_bucket(template):
    policy = policy_of(template, "ApiBuildRole")
    assert statement_by_sid(policy, "PushApiRepository")["Resource"] == ["repo-arn"]
    assert "ecr:PutImage" in statement_by_sid(policy, "PushApiRepository")["Action"]
    assert statement_by_sid(policy, "ReadArtifacts")["Resource"] == OBJECTS
    assert statement_by_sid(policy, "WriteArtifacts")["Resource"] == OBJECTS
    assert statement_by_sid(policy, "LocateArtifacts")["Resource"] == ["artifacts-arn"]
    assert statement_by_sid(policy, "WriteApiBuildLogGroup")["Resource"] == [
        {"Fn::GetAtt": ["ApiBuildLogGroup", "Arn"]}
    ]
    every_action = [action for s in policy["Statement"] for action in s["Action"]]
    assert "logs:CreateLogGroup" not in every_action
    assert [s["Sid"] for s in policy["Statement"] if "*" in s["Resource"]] == ["AuthorizeEcr"]


# --- pipeline ------------------------------------------------------------------


def test_pipeline_is_v2_with_artefacts_in_the_given_bucket_under_its_default_key(template):
    """No EncryptionKey: CodePipeline encrypts artefacts with the account's aws/s3 key."""
    props = template["Resources"]["ApiPipeline"]["Properties"]
    assert (props["PipelineType"], props["ExecutionMode"]) == ("V2", "QUEUED")
    assert props["ArtifactStore"] == {"Type": "S3", "Location": {"Ref": "Artifacts"}}
    assert props["RestartExecutionOnUpdate"] is False


def test_pipeline_is_source_build_deploy(template):
    stages = template["Resources"]["ApiPipeline"]["Properties"]["Stages"]
    assert [(s["Name"], s["Actions"][0]["ActionTypeId"]["Provider"]) for s in stages] == [
        ("Source", "CodeStarSourceConnection"), ("Build", "CodeBuild"), ("Deploy", "ECS"),
    ]
    source, build, deploy = (stage["Actions"][0] for stage in stages)
    assert source["Configuration"] == {
        "ConnectionArn": "connection-arn", "FullRepositoryId": "owner/api", "BranchName": "main",
        "OutputArtifactFormat": "CODE_ZIP", "DetectChanges": "false",
    }
    assert build["Configuration"] == {"ProjectName": {"Ref": "ApiBuild"}}
    assert (build["InputArtifacts"], build["OutputArtifacts"]) == ([{"Name": "Source"}], [{"Name": "Image"}])
    assert deploy["Configuration"]["FileName"] == "imagedefinitions.json"
    assert (deploy["Configuration"]["ClusterName"], deploy["Configuration"]["ServiceName"]) == ("cluster", "api")


def test_pipeline_role_uses_only_its_connection_build_and_service(template):
    policy = policy_of(template, "ApiPipelineRole")
    assert statement_by_sid(policy, "UseConnection")["Resource"] == ["connection-arn"]
    assert statement_by_sid(policy, "RunBuild")["Resource"] == [{"Fn::GetAtt": ["ApiBuild", "Arn"]}]
    assert statement_by_sid(policy, "UpdateService")["Resource"] == ["service-arn"]
    assert statement_by_sid(policy, "ReadArtifacts")["Resource"] == OBJECTS


def test_pipeline_role_passes_only_the_task_roles_and_only_to_ecs_tasks(template):
    passing = statement_by_sid(policy_of(template, "ApiPipelineRole"), "PassRoles")
    assert passing["Action"] == ["iam:PassRole"]
    assert passing["Resource"] == ["execution-role-arn", "task-role-arn"]
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}


def test_pipeline_role_uses_star_only_where_ecs_allows_nothing_else(template):
    """RegisterTaskDefinition/DescribeTaskDefinition have no resource-level permissions;
    ListTasks is scoped to the cluster by the ecs:cluster condition instead."""
    policy = policy_of(template, "ApiPipelineRole")
    stars = sorted(s["Sid"] for s in policy["Statement"] if "*" in s["Resource"])
    assert stars == ["ListClusterTasks", "ManageTaskDefinitions"]
    list_tasks = statement_by_sid(policy, "ListClusterTasks")
    assert list_tasks["Condition"] == {"ArnEquals": {"ecs:cluster": {"Fn::Sub": [
        "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:cluster/${Cluster}",
        {"Cluster": "cluster"},
    ]}}}


def test_pipeline_tags_only_task_definitions_it_registers(template):
    tag = statement_by_sid(policy_of(template, "ApiPipelineRole"), "TagTaskDefinitions")
    assert tag["Condition"] == {"StringEquals": {"ecs:CreateAction": "RegisterTaskDefinition"}}


def test_detect_changes_can_be_turned_on():
    stack = Stack("pipelines", "p")
    build = docker_build_project(
        stack, "ApiBuild", description="d", buildspec="b", repository=REPOSITORY, artifacts=ARTIFACTS,
        image="i", compute_type="c", timeout_minutes=5, log_retention_days=1, environment={},
    )
    ecs_deploy_pipeline(stack, "ApiPipeline", description="d", connection_arn="c", repository="o/r",
                        branch="main", build=build, artifacts=ARTIFACTS,
                        target=EcsTarget("c", "s", "arn", ["r"]), detect_changes=True)
    stages = as_dict(stack)["Resources"]["ApiPipeline"]["Properties"]["Stages"]
    assert stages[0]["Actions"][0]["Configuration"]["DetectChanges"] == "true"


def test_pipeline_arn_is_partition_agnostic():
    pipeline = codepipeline.Pipeline("ApiPipeline")
    assert pipeline_arn(pipeline).to_dict() == {"Fn::Sub": [
        "arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:${Pipeline}",
        {"Pipeline": {"Ref": "ApiPipeline"}},
    ]}
