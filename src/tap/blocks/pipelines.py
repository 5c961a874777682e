"""CI/CD for container services: GitHub connection and OIDC trust, CodeBuild, CodePipeline.

Secure defaults:
- the GitHub connection is a CodeConnections connection (OAuth app held
  by AWS; nothing stored in the template). CloudFormation creates it in
  PENDING state: someone completes the handshake once in the console.
- the GitHub OIDC provider trusts only `token.actions.githubusercontent.com`
  for the audience `sts.amazonaws.com`; deploy roles trust it only for one
  repository *and* one branch (`repo:<owner>/<name>:ref:refs/heads/<branch>`),
  so no long-lived AWS keys ever live in GitHub.
- build projects run in CodeBuild's curated image with privileged mode
  (required to run `docker build`), a timeout, logs to their own log group
  with retention (no `logs:CreateLogGroup`), and a role that may push only
  to its own repository and read/write only the artefact bucket.
- pipelines are CodePipeline V2 (source revisions can be overridden per
  run) with their artefacts in the given bucket (encrypted with the
  account's aws/s3 key); the role may use only its connection, start only
  its own build, update only its own ECS service and pass only that
  service's task roles, and only to ECS tasks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from awacs import sts
from awacs.aws import (
    Allow,
    ArnEquals,
    Condition,
    Policy,
    Principal,
    Statement,
    StringEquals,
)
from troposphere import GetAtt, Ref, codebuild, codeconnections, codepipeline, iam

from tap.blocks import actions
from tap.blocks.arns import arn
from tap.blocks.iam import (
    BucketRef,
    RepositoryRef,
    Role,
    grant_pass_role,
    grant_read_write,
    grant_write,
    service_trust,
)
from tap.blocks.logs import log_group
from tap.cfnvalue import CfnValue
from tap.stacktree import Stack

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
STS_AUDIENCE = "sts.amazonaws.com"
IMAGE_DEFINITIONS = "imagedefinitions.json"


def github_connection(stack: Stack, logical_id: str, name: str) -> codeconnections.Connection:
    # CodeConnections requires a name (1-32 characters) and offers no generated one.
    return stack.add(codeconnections.Connection(logical_id, ConnectionName=name, ProviderType="GitHub"))


def github_oidc_provider(stack: Stack, logical_id: str) -> iam.OIDCProvider:
    """The account's identity provider for GitHub Actions (one per account).

    No thumbprint: IAM trusts GitHub's certificate authority directly.
    """
    return stack.add(
        iam.OIDCProvider(logical_id, Url=f"https://{GITHUB_OIDC_HOST}", ClientIdList=[STS_AUDIENCE])
    )


def existing_github_oidc_provider_arn() -> CfnValue:
    """The ARN of an OIDC provider for GitHub created earlier in this account."""
    return arn("iam", f"oidc-provider/{GITHUB_OIDC_HOST}", region="")


def github_trust(provider_arn: CfnValue, subjects: CfnValue) -> Policy:
    """A trust policy for GitHub Actions' OIDC tokens issued for STS whose subject is
    `subjects` (one, or a list): `repo:<owner>/<name>:ref:refs/heads/<branch>` for a
    branch, `repo:<owner>/<name>:pull_request` for pull requests. Exact matches only:
    no wildcard lets another repository, branch or event in."""
    return Policy(
        Version="2012-10-17",
        Statement=[
            Statement(
                Effect=Allow,
                Principal=Principal("Federated", provider_arn),
                Action=[sts.AssumeRoleWithWebIdentity],
                Condition=Condition(
                    StringEquals({
                        f"{GITHUB_OIDC_HOST}:aud": STS_AUDIENCE,
                        f"{GITHUB_OIDC_HOST}:sub": subjects,
                    })
                ),
            )
        ],
    )


def github_deploy_role(
    stack: Stack, logical_id: str, *, provider_arn: CfnValue, repository: str, branch: str, description: str
) -> Role:
    """A role GitHub Actions may assume only from `repository` on `branch`."""
    trust = github_trust(provider_arn, f"repo:{repository}:ref:refs/heads/{branch}")
    role = Role(stack, logical_id, trust, description)
    role.resource.MaxSessionDuration = 3600
    return role


@dataclass(frozen=True)
class BuildProject:
    project: codebuild.Project
    role: Role

    @property
    def name(self) -> Ref:
        return Ref(self.project)

    @property
    def arn(self) -> GetAtt:
        return GetAtt(self.project, "Arn")


def docker_build_project(
    stack: Stack,
    logical_id: str,
    *,
    description: str,
    buildspec: str,
    repository: RepositoryRef,
    artifacts: BucketRef,
    image: str,
    compute_type: str,
    timeout_minutes: int,
    log_retention_days: int,
    environment: Mapping[str, CfnValue],
) -> BuildProject:
    """A CodeBuild project, run by a pipeline, that may push only to `repository`."""
    logs = log_group(stack, f"{logical_id}LogGroup", log_retention_days)
    role = Role(
        stack, f"{logical_id}Role", service_trust("codebuild.amazonaws.com"),
        f"Runs the {description}",
    )
    grant_write(role, logs.ref)
    grant_write(role, repository)
    grant_read_write(role, artifacts)
    role.allow(f"Locate{artifacts.label}", actions.S3_BUILD_BUCKET, [artifacts.arn])
    project = codebuild.Project(
        logical_id,
        Description=description,
        ServiceRole=role.arn,
        Source=codebuild.Source(Type="CODEPIPELINE", BuildSpec=buildspec),
        Artifacts=codebuild.Artifacts(Type="CODEPIPELINE"),
        Environment=codebuild.Environment(
            Type="LINUX_CONTAINER",
            ComputeType=compute_type,
            Image=image,
            ImagePullCredentialsType="CODEBUILD",
            PrivilegedMode=True,  # runs the Docker daemon that `docker build` needs
            EnvironmentVariables=[
                codebuild.EnvironmentVariable(Name=name, Type="PLAINTEXT", Value=value)
                for name, value in sorted(environment.items())
            ],
        ),
        Cache=codebuild.ProjectCache(Type="LOCAL", Modes=["LOCAL_DOCKER_LAYER_CACHE"]),
        LogsConfig=codebuild.LogsConfig(
            CloudWatchLogs=codebuild.CloudWatchLogs(Status="ENABLED", GroupName=logs.ref.name)
        ),
        TimeoutInMinutes=timeout_minutes,
        QueuedTimeoutInMinutes=60,
    )
    stack.add(project)
    return BuildProject(project=project, role=role)


@dataclass(frozen=True)
class EcsTarget:
    """What the deploy stage updates: one ECS service and the roles its tasks use."""

    cluster_name: CfnValue
    service_name: CfnValue
    service_arn: CfnValue
    task_role_arns: list[CfnValue]


def ecs_deploy_pipeline(
    stack: Stack,
    logical_id: str,
    *,
    description: str,
    connection_arn: CfnValue,
    repository: str,
    branch: str,
    build: BuildProject,
    artifacts: BucketRef,
    target: EcsTarget,
    detect_changes: bool = False,
) -> codepipeline.Pipeline:
    """Source (GitHub connection) -> Build (CodeBuild) -> Deploy (ECS rolling update).

    With `detect_changes=False` the pipeline runs only when started (by the
    service's GitHub workflow, at the exact commit that triggered it).
    """
    role = Role(
        stack, f"{logical_id}Role", service_trust("codepipeline.amazonaws.com"),
        f"Runs the {description}",
    )
    grant_read_write(role, artifacts)
    role.allow(f"Inspect{artifacts.label}", actions.S3_PIPELINE_BUCKET, [artifacts.arn])
    role.allow("UseConnection", actions.CONNECTION_USE, [connection_arn])
    role.allow("RunBuild", actions.CODEBUILD_RUN, [build.arn])
    role.allow("UpdateService", actions.ECS_UPDATE_SERVICE, [target.service_arn])
    role.allow("ManageTaskDefinitions", actions.ECS_TASK_DEFINITIONS, ["*"])
    cluster_arn = arn("ecs", "cluster/${Cluster}", Cluster=target.cluster_name)
    role.allow("WatchDeployment", actions.ECS_WATCH_TASKS,
               [arn("ecs", "task/${Cluster}/*", Cluster=target.cluster_name)])
    role.allow("ListClusterTasks", actions.ECS_LIST_TASKS, ["*"],
               Condition(ArnEquals("ecs:cluster", cluster_arn)))
    role.allow("TagTaskDefinitions", actions.ECS_TAG_ON_CREATE, [arn("ecs", "task-definition/*")],
               Condition(StringEquals("ecs:CreateAction", "RegisterTaskDefinition")))
    grant_pass_role(role, target.task_role_arns, "ecs-tasks.amazonaws.com")
    pipeline = codepipeline.Pipeline(
        logical_id,
        PipelineType="V2",
        ExecutionMode="QUEUED",
        RoleArn=role.arn,
        RestartExecutionOnUpdate=False,
        ArtifactStore=codepipeline.ArtifactStore(Type="S3", Location=artifacts.name),
        Stages=[
            _stage("Source", "Source", "CodeStarSourceConnection", {
                "ConnectionArn": connection_arn,
                "FullRepositoryId": repository,
                "BranchName": branch,
                "OutputArtifactFormat": "CODE_ZIP",
                "DetectChanges": str(detect_changes).lower(),
            }, output="Source"),
            _stage("Build", "TestBuildPush", "CodeBuild", {"ProjectName": build.name},
                   input="Source", output="Image"),
            _stage("Deploy", "RollingUpdate", "ECS", {
                "ClusterName": target.cluster_name,
                "ServiceName": target.service_name,
                "FileName": IMAGE_DEFINITIONS,
                "DeploymentTimeout": "30",
            }, input="Image"),
        ],
    )
    return stack.add(pipeline)


def _stage(
    category: str, action: str, provider: str, configuration: dict[str, Any],
    *, input: str | None = None, output: str | None = None,
) -> codepipeline.Stages:
    """A stage of one AWS-owned action, named after its category."""
    declaration = codepipeline.Actions(
        Name=action,
        ActionTypeId=codepipeline.ActionTypeId(
            Category=category, Owner="AWS", Provider=provider, Version="1"
        ),
        Configuration=configuration,
    )
    if input is not None:
        declaration.InputArtifacts = [codepipeline.InputArtifacts(Name=input)]
    if output is not None:
        declaration.OutputArtifacts = [codepipeline.OutputArtifacts(Name=output)]
    return codepipeline.Stages(Name=category, Actions=[declaration])


def pipeline_arn(pipeline: codepipeline.Pipeline) -> CfnValue:
    return arn("codepipeline", "${Pipeline}", Pipeline=Ref(pipeline))
