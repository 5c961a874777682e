"""The bootstrap stack: artefact bucket by convention, StackSet roles, and the roles CI deploys
with (what they may call is proven in tests/deploy/test_ci_role_grants.py)."""

from __future__ import annotations

import re

import pytest

from tap import config, names
from tap.deploy import commands, emulator
from tests.helpers import statement_by_sid

GITHUB = "token.actions.githubusercontent.com"
GITHUB_ROLES = ("CloudFormationExecutionRole", "GitHubPlanRole", "GitHubDeployRole")


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


def test_outputs_name_the_bucket_and_the_roles_ci_needs(template):
    outputs = template["Outputs"]
    assert set(outputs) == {"ArtifactBucketName", "ArtifactBucketArn", "CloudFormationExecutionRoleArn",
                            "GitHubPlanRoleArn", "GitHubDeployRoleArn"}
    assert {name for name, output in outputs.items() if output.get("Condition") == "GitHubGiven"} == {
        "CloudFormationExecutionRoleArn", "GitHubPlanRoleArn", "GitHubDeployRoleArn"}


# --- deploying from GitHub Actions ---------------------------------------------------------


def resolved(template: dict, value, **parameters):
    """`value` with the template's intrinsic functions evaluated for these parameters."""
    defaults = {name: spec.get("Default", "") for name, spec in template["Parameters"].items()}
    scope = emulator.Scope(
        template, parameters=defaults | parameters,
        pseudo={"AWS::AccountId": "123456789012", "AWS::Region": "us-east-1", "AWS::Partition": "aws"},
        ref=lambda name: f"<{name}>", getatt=lambda name, attribute: f"<{name}.{attribute}>", zones=[],
    )
    return emulator.resolve(value, scope)


def trust_of(template: dict, role: str) -> dict:
    (statement,) = template["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    return statement


def test_github_roles_and_provider_exist_only_for_a_repository(template):
    for role in GITHUB_ROLES:
        assert template["Resources"][role]["Condition"] == "GitHubGiven"
    assert template["Resources"]["GitHubOidcProvider"]["Condition"] == "CreateGitHubOidcProvider"
    conditions = template["Conditions"]
    assert resolved(template, conditions["GitHubGiven"]) is False
    assert resolved(template, conditions["GitHubGiven"], GitHubRepository="example-org/tap") is True


def test_an_existing_github_provider_is_used_instead_of_a_second_one(template):
    """An account holds one provider per URL: given one's ARN, the stack creates none."""
    create = template["Conditions"]["CreateGitHubOidcProvider"]
    assert resolved(template, create, GitHubRepository="example-org/tap") is True
    existing = f"arn:aws:iam::123456789012:oidc-provider/{GITHUB}"
    assert resolved(template, create, GitHubRepository="example-org/tap", GitHubOidcProviderArn=existing) is False
    provider = template["Resources"]["GitHubOidcProvider"]["Properties"]
    assert provider == {"Url": f"https://{GITHUB}", "ClientIdList": ["sts.amazonaws.com"]}
    for role in ("GitHubPlanRole", "GitHubDeployRole"):
        federated = trust_of(template, role)["Principal"]["Federated"]
        assert resolved(template, federated, GitHubRepository="o/r", GitHubOidcProviderArn=existing) == existing
        assert resolved(template, federated, GitHubRepository="o/r") == "<GitHubOidcProvider>"
    pattern = template["Parameters"]["GitHubOidcProviderArn"]["AllowedPattern"]
    assert re.fullmatch(pattern, existing) and re.fullmatch(pattern, "")
    assert not re.fullmatch(pattern, "arn:aws:iam::123456789012:oidc-provider/accounts.google.com")


def test_pull_requests_may_assume_only_the_plan_role(template):
    plan = trust_of(template, "GitHubPlanRole")
    assert plan["Action"] == ["sts:AssumeRoleWithWebIdentity"]
    assert resolved(template, plan["Condition"], GitHubRepository="example-org/tap") == {"StringEquals": {
        f"{GITHUB}:aud": "sts.amazonaws.com", f"{GITHUB}:sub": "repo:example-org/tap:pull_request"}}
    deploy = trust_of(template, "GitHubDeployRole")
    subjects = resolved(template, deploy["Condition"], GitHubRepository="example-org/tap")["StringEquals"]
    assert not any("pull_request" in subject for subject in subjects[f"{GITHUB}:sub"])


def test_the_deploy_role_trusts_only_pushes_to_the_deploy_branches_of_the_repository(template):
    condition = trust_of(template, "GitHubDeployRole")["Condition"]
    assert set(condition) == {"StringEquals"}  # exact matches: no wildcard lets another ref in
    main = resolved(template, condition, GitHubRepository="example-org/tap")["StringEquals"]
    assert main[f"{GITHUB}:aud"] == "sts.amazonaws.com"
    assert set(main[f"{GITHUB}:sub"]) == {"repo:example-org/tap:ref:refs/heads/main",
                                          "repo:example-org/tap:ref:refs/heads/"}  # padding: no branch is ""
    two = resolved(template, condition, GitHubRepository="example-org/tap",
                   GitHubDeployBranches="main,release/2.x")["StringEquals"][f"{GITHUB}:sub"]
    assert set(two) == {"repo:example-org/tap:ref:refs/heads/main", "repo:example-org/tap:ref:refs/heads/release/2.x",
                        "repo:example-org/tap:ref:refs/heads/"}


@pytest.mark.parametrize("branches, allowed", [
    ("main", True), ("main,release/2.x", True), ("a,b,c,d,e", True),
    ("a,b,c,d,e,f", False), ("", False), ("feature/*", False), ("main, dev", False),
])
def test_deploy_branches_are_at_most_five_names_without_wildcards(template, branches, allowed):
    pattern = template["Parameters"]["GitHubDeployBranches"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, branches)) is allowed


@pytest.mark.parametrize("repository, allowed", [
    ("example-org/tap", True), ("", True), ("Example-Org/tap.web_2", True),
    ("example-org", False), ("example-org/*", False), ("a/b/c", False), ("example org/tap", False),
])
def test_the_repository_is_one_owner_and_name(template, repository, allowed):
    pattern = template["Parameters"]["GitHubRepository"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, repository)) is allowed


def test_cloudformation_alone_may_assume_the_execution_role_for_this_account(template):
    trust = trust_of(template, "CloudFormationExecutionRole")
    assert trust["Principal"] == {"Service": ["cloudformation.amazonaws.com"]}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    (policy,) = template["Resources"]["CloudFormationExecutionRole"]["Properties"]["Policies"]
    (execution,) = template["Resources"]["StackSetExecutionRole"]["Properties"]["Policies"]
    assert policy == execution  # the services tap deploys, as for a StackSet


def test_the_roles_act_only_on_the_stacks_deploy_sh_names(template):
    (policy,) = template["Resources"]["GitHubDeployRole"]["Properties"]["Policies"]
    stacks = statement_by_sid(policy["PolicyDocument"], "ExecuteTapChangeSets")["Resource"]
    patterns = [resolved(template, each).split(":stack/")[1] for each in stacks]
    assert patterns == [f"tap-{system}-*/*" for system in config.SYSTEMS]

    def covered(name: str) -> bool:
        return any(re.fullmatch(pattern.replace("*", ".*"), f"{name}/id") for pattern in patterns)

    for system in config.SYSTEMS:
        for env in config.environments(system):
            root = commands.default_stack_name(system, env)
            assert covered(root) and covered(f"{root}-DatabaseStack-1A2B3C4D5E6F")  # nested stacks
    assert not covered(commands.BOOTSTRAP_STACK)  # the deploy role cannot change its own roles
