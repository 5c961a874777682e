"""Bootstrap stack: one per account and region, like `cdk bootstrap`.

It holds the artefact bucket that nested templates and function zips are
uploaded to, named `tap-assets-<account>-<region>` so every root stack can
find it from its own pseudo parameters, and the two roles that self-managed
StackSets use: the administration role (in the account that runs the
StackSet) and the execution role (in each target account). Both roles keep
the names StackSets looks for by default.
"""

from __future__ import annotations

from awacs import s3 as s3_actions
from awacs import sts
from awacs.aws import (
    Action,
    Allow,
    Condition,
    Policy,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
)
from troposphere import Equals, GetAtt, If, Not, Ref, Sub, apigateway, iam, s3

from tap import names
from tap.blocks.buckets import Lifecycle, secure_bucket, tls_only_statements
from tap.blocks.iam import service_trust
from tap.blocks.lifecycle import suppress
from tap.stacktree import Stack

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


def build() -> Stack:
    stack = Stack.root("bootstrap", "tap bootstrap: artefact bucket and StackSet roles")
    add_parameters(stack)
    bucket = add_artifact_bucket(stack)
    add_administration_role(stack)
    add_execution_role(stack)
    add_api_gateway_logging(stack)
    stack.output("ArtifactBucketName", Ref(bucket), "Bucket that deploys upload artefacts to.")
    stack.output("ArtifactBucketArn", bucket.get_att("Arn"), "ARN of the artefact bucket.")
    return stack


def add_parameters(stack: Stack) -> None:
    stack.parameter(
        "ReaderOrganizationId",
        Default="",
        AllowedPattern=r"^(o-[a-z0-9]{10,32})?$",
        Description="AWS Organization whose accounts may read artefacts (StackSet targets). "
        "Empty: only this account.",
    )
    stack.parameter(
        "AdministratorAccountId",
        Default="",
        AllowedPattern=r"^(\d{12})?$",
        Description="Account that runs StackSets into this one. Empty: no execution role.",
    )
    stack.parameter(
        "CreateAdministrationRole",
        Default="false",
        AllowedValues=["true", "false"],
        Description="true in the account that administers StackSets.",
    )
    stack.parameter(
        "ConfigureApiGatewayLogging",
        Default="true",
        AllowedValues=["true", "false"],
        Description="Set API Gateway's account-wide CloudWatch role in this region (needed for "
        "API access logs). false if something else already manages it.",
    )
    template = stack.template
    template.add_condition("ConfigureApiGatewayLogging", Equals(Ref("ConfigureApiGatewayLogging"), "true"))
    template.add_condition("OrganizationGiven", Not(Equals(Ref("ReaderOrganizationId"), "")))
    template.add_condition("AdministratorGiven", Not(Equals(Ref("AdministratorAccountId"), "")))
    template.add_condition("IsAdministrator", Equals(Ref("CreateAdministrationRole"), "true"))


def add_artifact_bucket(stack: Stack) -> s3.Bucket:
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
        CKV_AWS_18="Holds only content-addressed build artefacts written by the deploy tool; "
        "API activity is in CloudTrail.",
    )
    organization_read = Statement(
        Sid="AllowOrganizationRead",
        Effect=Allow,
        Principal=Principal("*"),
        Action=[s3_actions.GetObject, s3_actions.GetObjectVersion],
        Resource=[bucket.ref.objects_arn],
        Condition=Condition(StringEquals("aws:PrincipalOrgID", Ref("ReaderOrganizationId"))),
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
    return bucket.resource


def add_administration_role(stack: Stack) -> None:
    execution_roles = Sub(f"arn:${{AWS::Partition}}:iam::*:role/{EXECUTION_ROLE_NAME}")
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
    administrator = Sub(
        f"arn:${{AWS::Partition}}:iam::${{AdministratorAccountId}}:role/{ADMINISTRATION_ROLE_NAME}"
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
        Policies=[
            iam.Policy(
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
        ],
    )
    suppress(
        role,
        CKV_AWS_107="StackSet execution role: CloudFormation acts as it to create every "
        "resource type of the tap templates; scoped to those services.",
        CKV_AWS_108="As CKV_AWS_107: CloudFormation reads the resources it manages.",
        CKV_AWS_109="As CKV_AWS_107: CloudFormation manages resource policies it declares.",
        CKV_AWS_110="As CKV_AWS_107: the templates create roles, so IAM writes are required.",
        CKV_AWS_111="As CKV_AWS_107: resources are created by the role, so their ARNs are "
        "not known in advance.",
    )
    stack.add(role)


def add_api_gateway_logging(stack: Stack) -> None:
    """API Gateway writes access and execution logs only once the account (per region)
    names a role it may use; this setting is account-wide, so it lives here."""
    role = stack.add(
        iam.Role(
            "ApiGatewayCloudWatchRole",
            Condition="ConfigureApiGatewayLogging",
            Description="Lets API Gateway write API logs to CloudWatch Logs in this region",
            AssumeRolePolicyDocument=service_trust("apigateway.amazonaws.com"),
            ManagedPolicyArns=[Sub(
                "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
            )],
        )
    )
    stack.add(
        apigateway.Account(
            "ApiGatewayAccount",
            Condition="ConfigureApiGatewayLogging",
            CloudWatchRoleArn=GetAtt(role, "Arn"),
        )
    )
