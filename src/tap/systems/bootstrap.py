"""Bootstrap stack: one per account and region, like `cdk bootstrap`.

It holds the artefact bucket that nested templates and function zips are
uploaded to, named `tap-assets-<account>-<region>` so every root stack can
find it from its own pseudo parameters, and the two roles that self-managed
StackSets use: the administration role (in the account that runs the
StackSet) and the execution role (in each target account). Both roles keep
the names StackSets looks for by default.

Given a GitHub repository (`GitHubRepository=owner/name`), it also holds what
the rendered CI workflows (templates/ci/) need to deploy without AWS keys, in
CDK's shape:
- a CloudFormation execution role, which CloudFormation assumes to create the
  resources (the deploy tool passes it with --role-arn);
- a plan role for pull requests: it may read the stacks, add artefacts and
  create change sets, never execute one, overwrite an artefact or pass a role,
  so code under review (a fork's included) cannot deploy;
- a deploy role for pushes to the deploy branches: what `./deploy.sh deploy`
  calls and no more, plus passing the execution role to CloudFormation.
Both trust GitHub's OIDC provider (created here unless its ARN is given; an
account holds one) for that repository only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from awacs import s3 as s3_actions
from awacs import sts
from awacs.aws import (
    Action,
    Allow,
    Condition,
    Null,
    Policy,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
)
from troposphere import (
    And,
    Equals,
    GetAtt,
    If,
    Join,
    Not,
    Ref,
    Select,
    Split,
    Sub,
    apigateway,
    iam,
    s3,
)
from troposphere import Condition as UseCondition

from tap import config, names
from tap.blocks import actions
from tap.blocks.arns import arn, aws_managed_policy
from tap.blocks.buckets import (
    Lifecycle,
    SecureBucket,
    secure_bucket,
    tls_only_statements,
)
from tap.blocks.iam import BucketRef, Role, grant_pass_role, service_trust
from tap.blocks.lifecycle import suppress
from tap.blocks.pipelines import github_oidc_provider, github_trust
from tap.cfnvalue import CfnValue
from tap.stacktree import Stack
from tap.wiring import declare, publish, wire

ADMINISTRATION_ROLE_NAME = "AWSCloudFormationStackSetAdministrationRole"
EXECUTION_ROLE_NAME = "AWSCloudFormationStackSetExecutionRole"

# The services whose resources the tap systems declare. The StackSet
# execution role is CloudFormation's identity in a target account: it must
# be able to create, update and delete every resource type the templates
# hold, so it gets these services and nothing else.
DEPLOYED_SERVICES = (
    "apigateway", "application-autoscaling", "cloudformation", "cloudfront", "cloudwatch",
    "codebuild", "codeconnections", "codepipeline", "codestar-connections", "dynamodb", "ec2",
    "ecr", "ecs", "elasticache", "elasticloadbalancing", "events", "iam", "kms", "lambda",
    "logs", "rds", "s3", "secretsmanager", "sns", "ssm", "wafv2", "xray",
)

# GitHub's OIDC token names its repository, and for a push the branch, in `sub`.
GITHUB_REPOSITORY_PATTERN = r"^([A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100})?$"
MAX_DEPLOY_BRANCHES = 5
BRANCH_PATTERN = r"[A-Za-z0-9._/-]+"
GITHUB_PROVIDER_ARN_PATTERN = (
    r"^(arn:aws[a-z-]*:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com)?$"
)
CLOUDFORMATION = "cloudformation.amazonaws.com"


def build() -> Stack:
    stack = Stack.root("bootstrap", "tap bootstrap: artefact bucket, StackSet roles, GitHub deploy roles")
    inputs = declare(stack, BootstrapInputs)
    add_conditions(stack, inputs)
    bucket = add_artifact_bucket(stack, inputs)
    add_administration_role(stack)
    add_execution_role(stack)
    add_api_gateway_logging(stack)
    publish(stack, BootstrapOutputs(artifact_bucket_name=bucket.ref.name, artifact_bucket_arn=bucket.ref.arn))
    add_github_deployment(stack, inputs, bucket.ref)
    return stack


@dataclass(frozen=True)
class BootstrapInputs:
    reader_organization_id: CfnValue = wire(
        "AWS Organization whose accounts may read artefacts (StackSet targets). Empty: only this account.",
        Default="", AllowedPattern=r"^(o-[a-z0-9]{10,32})?$")
    administrator_account_id: CfnValue = wire(
        "Account that runs StackSets into this one. Empty: no execution role.",
        Default="", AllowedPattern=r"^(\d{12})?$")
    create_administration_role: CfnValue = wire(
        "true in the account that administers StackSets.", Default="false", AllowedValues=["true", "false"])
    configure_api_gateway_logging: CfnValue = wire(
        "Set API Gateway's account-wide CloudWatch role in this region (needed for "
        "API access logs). false if something else already manages it.",
        Default="true", AllowedValues=["true", "false"])
    github_repository: CfnValue = wire(
        "GitHub repository (owner/name) whose Actions plan pull requests and deploy "
        "the deploy branches with the roles below. Empty: no GitHub roles.",
        Default="", AllowedPattern=GITHUB_REPOSITORY_PATTERN,
        ConstraintDescription="owner/name of a GitHub repository, as GitHub spells it, or empty")
    github_deploy_branches: CfnValue = wire(
        "Branches (comma-separated, at most five) whose pushes may deploy.",
        Default="main",
        AllowedPattern=rf"^{BRANCH_PATTERN}(,{BRANCH_PATTERN}){{0,{MAX_DEPLOY_BRANCHES - 1}}}$",
        ConstraintDescription=f"1 to {MAX_DEPLOY_BRANCHES} branch names separated by commas, "
        "without wildcards")
    github_oidc_provider_arn: CfnValue = wire(
        "The account's GitHub OIDC provider, if it has one (an account holds one per "
        "URL; the microservices pipeline may have made it). Empty: this stack creates it.",
        Default="", AllowedPattern=GITHUB_PROVIDER_ARN_PATTERN,
        ConstraintDescription="the ARN of the account's token.actions.githubusercontent.com "
        "provider, or empty")


@dataclass(frozen=True)
class BootstrapOutputs:
    artifact_bucket_name: CfnValue = wire("Bucket that deploys upload artefacts to.")
    artifact_bucket_arn: CfnValue = wire("ARN of the artefact bucket.")


@dataclass(frozen=True)
class GitHubRoleOutputs:
    """The roles of CI without keys, made only when a repository is given."""

    cloud_formation_execution_role_arn: CfnValue = wire(
        "Role CloudFormation acts as when CI deploys (./deploy.sh deploy --role-arn).")
    github_plan_role_arn: CfnValue = wire("Role a pull request's workflow assumes to plan a deploy.")
    github_deploy_role_arn: CfnValue = wire("Role a deploy branch's workflow assumes to deploy.")


def add_conditions(stack: Stack, inputs: BootstrapInputs) -> None:
    template = stack.template
    template.add_condition("ConfigureApiGatewayLogging", Equals(inputs.configure_api_gateway_logging, "true"))
    template.add_condition("OrganizationGiven", Not(Equals(inputs.reader_organization_id, "")))
    template.add_condition("AdministratorGiven", Not(Equals(inputs.administrator_account_id, "")))
    template.add_condition("IsAdministrator", Equals(inputs.create_administration_role, "true"))
    template.add_condition("GitHubGiven", Not(Equals(inputs.github_repository, "")))
    template.add_condition("CreateGitHubOidcProvider", And(
        UseCondition("GitHubGiven"), Equals(inputs.github_oidc_provider_arn, "")))


def add_artifact_bucket(stack: Stack, inputs: BootstrapInputs) -> SecureBucket:
    bucket = secure_bucket(
        stack,
        "ArtifactBucket",
        # Current objects are what live stacks point at; only replaced
        # versions and abandoned uploads are cleaned up.
        lifecycle=Lifecycle(noncurrent_expire_after_days=30, abort_multipart_after_days=1),
        bucket_name=Sub(names.BOOTSTRAP_BUCKET_SUB, Account=Ref("AWS::AccountId")),
        own_policy=False,
    )
    suppress(
        bucket.resource,
        CKV_AWS_18="No server access log: the bucket holds only content-addressed build "
        "artefacts the deploy tool writes, and its policy lets no one outside the account or "
        "organization read them. Object-level requests are recorded only where the account's "
        "CloudTrail logs S3 data events.",
    )
    organization_read = Statement(
        Sid="AllowOrganizationRead",
        Effect=Allow,
        Principal=Principal("*"),
        Action=[s3_actions.GetObject, s3_actions.GetObjectVersion],
        Resource=[bucket.ref.objects_arn],
        Condition=Condition(StringEquals("aws:PrincipalOrgID", inputs.reader_organization_id)),
    )
    denies = tls_only_statements(bucket.ref)
    stack.add(
        s3.BucketPolicy(
            "ArtifactBucketPolicy",
            Bucket=bucket.ref.name,
            PolicyDocument=If(
                "OrganizationGiven",
                PolicyDocument(Version="2012-10-17", Statement=denies + [organization_read]),
                PolicyDocument(Version="2012-10-17", Statement=denies),
            ),
        )
    )
    return bucket


def add_administration_role(stack: Stack) -> None:
    execution_roles = arn("iam", f"role/{EXECUTION_ROLE_NAME}", region="", account="*")
    stack.add(
        iam.Role(
            "StackSetAdministrationRole",
            Condition="IsAdministrator",
            RoleName=ADMINISTRATION_ROLE_NAME,  # the name StackSets assumes by default
            Description="Lets CloudFormation StackSets assume the execution role in targets",
            AssumeRolePolicyDocument=service_trust("cloudformation.amazonaws.com"),
            Policies=[
                iam.Policy(
                    PolicyName="assume-stackset-execution",
                    PolicyDocument=PolicyDocument(
                        Version="2012-10-17",
                        Statement=[
                            Statement(
                                Sid="AssumeExecutionRoles",
                                Effect=Allow,
                                Action=[sts.AssumeRole],
                                Resource=[execution_roles],
                            )
                        ],
                    ),
                )
            ],
        )
    )


def add_execution_role(stack: Stack) -> None:
    administrator = arn(
        "iam", f"role/{ADMINISTRATION_ROLE_NAME}", region="", account="${AdministratorAccountId}"
    )
    role = iam.Role(
        "StackSetExecutionRole",
        Condition="AdministratorGiven",
        RoleName=EXECUTION_ROLE_NAME,  # the name StackSets looks for in each target
        Description="CloudFormation's identity when a StackSet deploys tap into this account",
        AssumeRolePolicyDocument=Policy(
            Version="2012-10-17",
            Statement=[
                Statement(
                    Effect=Allow,
                    Principal=Principal("AWS", [administrator]),
                    Action=[sts.AssumeRole],
                )
            ],
        ),
        Policies=[deploy_tap_resources()],
    )
    allow_managing_tap_resources(
        role, "StackSet execution role",
        "only the StackSet administration role of the administrator account may assume it "
        "(AWS's own AWSCloudFormationStackSetExecutionRole sample grants AdministratorAccess)",
    )
    stack.add(role)


def deploy_tap_resources() -> iam.Policy:
    """What CloudFormation needs to create, update and delete every resource type the tap
    templates hold: every action of the services of DEPLOYED_SERVICES on "*" (CloudFormation
    names most resources, so their ARNs are not known in advance).

    This is an administrator in effect, not a scoped role: iam:* lets whoever acts as it
    create a role with any policy and use it. The roles holding it are guarded by who may
    use them (their trust, and who may pass them), not by what they may do."""
    return iam.Policy(
        PolicyName="deploy-tap-resources",
        PolicyDocument=PolicyDocument(
            Version="2012-10-17",
            Statement=[
                Statement(
                    Sid="ManageTapResourceTypes",
                    Effect=Allow,
                    Action=[Action(service, "*") for service in DEPLOYED_SERVICES],
                    Resource=["*"],
                )
            ],
        ),
    )


def allow_managing_tap_resources(role: iam.Role, what: str, guard: str) -> None:
    suppress(
        role,
        CKV_AWS_107=f"The {what} is an administrator in effect: CloudFormation acts as it to "
        "create, change and delete every resource of the tap templates, IAM roles and their "
        f"policies included (iam:* on *), so it could grant itself anything. It is guarded by "
        f"who may use it: {guard}.",
        CKV_AWS_108="As CKV_AWS_107 (an administrator in effect): reads on * included.",
        CKV_AWS_109="As CKV_AWS_107 (an administrator in effect): it writes the resource "
        "policies and roles the templates declare.",
        CKV_AWS_110="As CKV_AWS_107 (an administrator in effect): iam:* allows privilege "
        "escalation; the templates create roles, so IAM writes are needed.",
        CKV_AWS_111="As CKV_AWS_107 (an administrator in effect): writes on *, because "
        "CloudFormation names the resources and their ARNs are not known in advance.",
    )


def add_api_gateway_logging(stack: Stack) -> None:
    """API Gateway writes access and execution logs only once the account (per region)
    names a role it may use; this setting is account-wide, so it lives here."""
    role = stack.add(
        iam.Role(
            "ApiGatewayCloudWatchRole",
            Condition="ConfigureApiGatewayLogging",
            Description="Lets API Gateway write API logs to CloudWatch Logs in this region",
            AssumeRolePolicyDocument=service_trust("apigateway.amazonaws.com"),
            ManagedPolicyArns=[
                aws_managed_policy("service-role/AmazonAPIGatewayPushToCloudWatchLogs")
            ],
        )
    )
    stack.add(
        apigateway.Account(
            "ApiGatewayAccount",
            Condition="ConfigureApiGatewayLogging",
            CloudWatchRoleArn=GetAtt(role, "Arn"),
        )
    )


# --- deploying from GitHub Actions without AWS keys ----------------------------------


def add_github_deployment(stack: Stack, inputs: BootstrapInputs, bucket: BucketRef) -> None:
    """The OIDC provider, CloudFormation's execution role, and the plan and deploy roles
    of the CI workflows, all only when a repository is given."""
    provider = add_github_oidc_provider(stack, inputs)
    execution = add_cloudformation_execution_role(stack)
    plan = add_github_plan_role(stack, provider, bucket)
    deploy = add_github_deploy_role(stack, provider, bucket, execution, inputs)
    publish(stack, GitHubRoleOutputs(
        cloud_formation_execution_role_arn=GetAtt(execution, "Arn"),
        github_plan_role_arn=plan.arn,
        github_deploy_role_arn=deploy.arn,
    ), condition="GitHubGiven")


def add_github_oidc_provider(stack: Stack, inputs: BootstrapInputs) -> Any:
    """The provider's ARN: the one this stack creates, or the account's existing one."""
    provider = github_oidc_provider(stack, "GitHubOidcProvider")
    provider.Condition = "CreateGitHubOidcProvider"
    return If("CreateGitHubOidcProvider", Ref(provider), inputs.github_oidc_provider_arn)


def add_cloudformation_execution_role(stack: Stack) -> iam.Role:
    """CloudFormation's identity when CI deploys: it holds the resource permissions, so
    the deploy role itself needs none (CDK's cfn-exec-role)."""
    role = iam.Role(
        "CloudFormationExecutionRole",
        Condition="GitHubGiven",
        Description="CloudFormation's identity when the GitHub deploy role deploys tap stacks",
        AssumeRolePolicyDocument=service_trust(CLOUDFORMATION),
        Policies=[deploy_tap_resources()],
    )
    allow_managing_tap_resources(
        role, "CloudFormation execution role",
        "only CloudFormation may assume it, for this account, and only the GitHub deploy role "
        "may pass it (as CDK's cfn-exec-role, which holds AdministratorAccess)",
    )
    return stack.add(role)


def tap_stacks() -> list[Sub]:
    """Every stack a deploy of a tap system touches: `./deploy.sh` names a root
    `tap-<system>-<env>`, and CloudFormation names a nested stack after its parent."""
    return [
        arn("cloudformation", f"stack/tap-{system}-*/*")
        for system in config.SYSTEMS
    ]


def deploy_branch_subjects(inputs: BootstrapInputs) -> list[Sub]:
    """`repo:<owner>/<name>:ref:refs/heads/<branch>` for each deploy branch. CloudFormation
    cannot map over a list, so the list is padded to its maximum length: a padding slot
    gives `...:ref:refs/heads/`, which no token carries (a branch has a name)."""
    padded = Split(",", Join("", [inputs.github_deploy_branches, "," * (MAX_DEPLOY_BRANCHES - 1)]))
    return [
        Sub("repo:${GitHubRepository}:ref:refs/heads/${Branch}", Branch=Select(index, padded))
        for index in range(MAX_DEPLOY_BRANCHES)
    ]


def grant_planning(role: Role, bucket: BucketRef) -> None:
    """What `./deploy.sh deploy --no-execute` calls, uploads aside: read the stacks,
    create and read change sets, and ask the pre-flight questions."""
    role.allow("ReadTapStacks", actions.DEPLOY_READ_STACKS, tap_stacks())
    role.allow("PlanTapChangeSets", actions.DEPLOY_PLAN, tap_stacks())
    role.allow("FindArtifactBucket", actions.DEPLOY_FIND_BUCKET, [bucket.arn])
    role.allow("ReadArtifacts", actions.DEPLOY_READ_ARTIFACTS, [bucket.objects_arn])
    # iam:ListOpenIDConnectProviders lists the account's providers: Resource must be "*".
    role.allow("ListOidcProviders", actions.DEPLOY_LIST_OIDC_PROVIDERS, ["*"])
    role.allow("CheckImages", actions.DEPLOY_CHECK_IMAGES, [
        arn("ecr", "repository/*")])
    role.allow("ReadServices", actions.DEPLOY_READ_SERVICES, [
        arn("ecs", "service/*")])
    # ecs:DescribeTaskDefinition has no resource-level permissions: Resource must be "*".
    role.allow("ReadTaskDefinitions", actions.DEPLOY_READ_TASK_DEFINITIONS, ["*"])
    # A CloudFront certificate lives in us-east-1 whatever the stack's region.
    role.allow("CheckCertificates", actions.DEPLOY_CHECK_CERTIFICATES, [
        arn("acm", "certificate/*", region="*")])
    # A table a template names (the config chooses the name) must not exist outside the stack.
    role.allow("CheckTables", actions.DEPLOY_CHECK_TABLES, [
        arn("dynamodb", "table/*")])


def add_github_plan_role(stack: Stack, provider_arn: Any, bucket: BucketRef) -> Role:
    """Assumed by a pull request's workflow, which runs the code under review: it plans,
    it never deploys. It creates artefact keys only where none exists (If-None-Match),
    so it cannot swap the bytes of an artefact a deploy is about to use."""
    role = Role(
        stack, "GitHubPlanRole",
        github_trust(provider_arn, Sub("repo:${GitHubRepository}:pull_request")),
        "GitHub Actions on a pull request: create and review tap change sets, never execute them",
    )
    role.resource.Condition = "GitHubGiven"
    role.resource.MaxSessionDuration = 3600
    grant_planning(role, bucket)
    role.allow("AddArtifacts", actions.DEPLOY_UPLOAD_ARTIFACTS, [bucket.objects_arn],
               Condition(Null("s3:if-none-match", "false")))
    return role


def add_github_deploy_role(stack: Stack, provider_arn: Any, bucket: BucketRef,
                           execution: iam.Role, inputs: BootstrapInputs) -> Role:
    """Assumed by a push to a deploy branch: plan, upload and execute, with CloudFormation
    acting as the execution role; no resource permission of its own."""
    role = Role(
        stack, "GitHubDeployRole", github_trust(provider_arn, deploy_branch_subjects(inputs)),
        "GitHub Actions on a deploy branch: deploy tap stacks through change sets",
    )
    role.resource.Condition = "GitHubGiven"
    role.resource.MaxSessionDuration = 3600
    grant_planning(role, bucket)
    role.allow("UploadArtifacts", actions.DEPLOY_UPLOAD_ARTIFACTS, [bucket.objects_arn])
    role.allow("ExecuteTapChangeSets", actions.DEPLOY_EXECUTE, tap_stacks())
    grant_pass_role(role, [GetAtt(execution, "Arn")], CLOUDFORMATION)
    return role
