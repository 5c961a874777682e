"""The bootstrap's GitHub roles allow exactly the AWS calls `./deploy.sh` makes from CI.

A botocore hook on the deploy tool's session records every call it makes against the
emulator, in-process, while it does each role's job on both systems:
- the plan role's (a pull request): `deploy --no-execute` before and after a first
  deploy, with changes and with none;
- the deploy role's (a deploy branch): `deploy --yes --role-arn` that creates, updates,
  finds nothing to do, and `deploy --no-execute` then `execute`;
- the pre-flight questions these runs never reach (a pinned image of a deployed
  repository, a certificate of this account), asked by driving those checks directly.
Each call becomes the IAM requests that authorise it (`IAM_ACTIONS`: HeadObject is
s3:GetObject, a change set created with a role also passes the role). Each role's
policy, as the emitted bootstrap template resolves in that account, must allow every
request of its job (else CI fails with AccessDenied) and every grant must be needed by
one (else it is more than least privilege); `Resource: "*"` only for an action IAM knows
no resource for. A call the tool starts making, or a grant it stops needing, fails here.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cfnlint.data import AdditionalSpecs
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tap import build
from tap.deploy import aws as aws_module
from tap.deploy import cli, emulator, preflight
from tap.deploy.commands import Console, Workspace
from tap.deploy.stacks import DeployedStack
from tap.paths import CONFIG_DIR, TEMPLATES_DIR
from tests.deploy.conftest import templates_by_path
from tests.deploy.iam_policies import Request, allows, grants, statement_matches

ACCOUNT, REGION = emulator.ACCOUNT_ID, "us-east-1"
REPOSITORY = "example-org/tap"
CLOUDFORMATION = "cloudformation.amazonaws.com"

# Every AWS operation the deploy tool may call, and the IAM action that authorises it
# (None: no permission needed). The tool calling anything else fails the test until it
# is added here and granted in src/tap/systems/bootstrap.py.
IAM_ACTIONS: dict[tuple[str, str], str | None] = {
    **{("cloudformation", operation): f"cloudformation:{operation}" for operation in (
        "CreateChangeSet", "DeleteChangeSet", "DescribeChangeSet", "DescribeStackEvents",
        "DescribeStacks", "ExecuteChangeSet", "GetTemplate", "ListStackResources", "SetStackPolicy",
        "UpdateTerminationProtection",
    )},
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "PutObject"): "s3:PutObject",
    ("ecr", "DescribeImages"): "ecr:DescribeImages",
    ("ecs", "DescribeServices"): "ecs:DescribeServices",
    ("ecs", "DescribeTaskDefinition"): "ecs:DescribeTaskDefinition",
    ("acm", "DescribeCertificate"): "acm:DescribeCertificate",
    ("dynamodb", "DescribeTable"): "dynamodb:DescribeTable",
    ("iam", "ListOpenIDConnectProviders"): "iam:ListOpenIDConnectProviders",
    ("sts", "GetCallerIdentity"): None,  # answers anyone: it needs no permission
}


@dataclass(frozen=True)
class Call:
    service: str
    operation: str
    params: dict[str, Any]
    response: dict[str, Any]


class Recorder:
    """Records every call of the sessions `connect` opens while it is installed."""

    def __init__(self):
        self.calls: list[Call] = []
        self._connect = aws_module.connect

    def connect(self, *args: Any, **kwargs: Any) -> aws_module.Aws:
        aws = self._connect(*args, **kwargs)
        events = aws.session.events
        events.register("before-parameter-build", self._before)
        events.register("after-call", self._after)
        return aws

    @staticmethod
    def _before(params: dict, context: dict, **_: Any) -> None:
        context["tap-params"] = dict(params)

    def _after(self, model: Any, parsed: dict, context: dict, **_: Any) -> None:
        self.calls.append(Call(model.service_model.service_name, model.name,
                               context.get("tap-params", {}), parsed))


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> Iterator[Path]:
    """Fresh public keys: a changed SigningPublicKey is an update without a rebuild."""
    folder = tmp_path_factory.mktemp("keys")

    def key(name: str) -> Path:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        path = folder / f"{name}.pem"
        path.write_bytes(private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        return path

    return key


@dataclass
class Jobs:
    plan: list[Call]
    deploy: list[Call]
    outputs: dict[str, str]
    physical_ids: dict[str, str]


def edit_and_build(workspace: Workspace, system: str, old: str, new: str) -> None:
    settings = workspace.config_dir / system / "dev.toml"
    text = settings.read_text()
    assert old in text
    settings.write_text(text.replace(old, new))
    assert build.main(["--system", system, "--env", "dev", "--no-lint"],
                      config_dir=workspace.config_dir, templates_dir=workspace.templates_dir) == 0


def microservices_checkout(folder: Path) -> Workspace:
    """config/ and templates/ as a team deploying microservices beside a bootstrap with
    GitHub roles has them: the account's OIDC provider is the bootstrap's, and the first
    deploy pins no image (its repository does not exist yet)."""
    shutil.copytree(CONFIG_DIR, folder / "config")
    shutil.copytree(TEMPLATES_DIR, folder / "templates")
    workspace = Workspace(config_dir=folder / "config", templates_dir=folder / "templates",
                          cache_dir=folder / "cache")
    edit_and_build(workspace, "microservices", "create_oidc_provider = true", "create_oidc_provider = false")
    edit_and_build(workspace, "microservices", 'image_tag = "3f9c2a1e8b7d6c5f4a3b2c1d0e9f8a7b6c5d4e3f"\n', "")
    return workspace


@pytest.fixture(scope="module")
def jobs(keys, built, tmp_path_factory) -> Jobs:
    workspace = Workspace(cache_dir=tmp_path_factory.mktemp("cache"))
    services = microservices_checkout(tmp_path_factory.mktemp("microservices"))
    with emulator.Emulator() as running, pytest.MonkeyPatch.context() as patch:
        def run(*argv: str, where: Workspace = workspace) -> str:
            """Exit code, then what the command printed (stderr too)."""
            out = io.StringIO()
            with contextlib.redirect_stderr(out):
                code = cli.main(["--endpoint-url", running.url, *argv], Console(out=out), where)
            return f"{code}\n{out.getvalue()}"

        setup = run("bootstrap", "--yes", "--parameter", f"GitHubRepository={REPOSITORY}")
        assert setup.startswith("0\n"), setup
        bootstrap = aws_module.connect(REGION, endpoint_url=running.url).client("cloudformation")
        outputs = {o["OutputKey"]: o["OutputValue"]
                   for o in bootstrap.describe_stacks(StackName="tap-bootstrap")["Stacks"][0]["Outputs"]}
        physical_ids = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in
                        bootstrap.list_stack_resources(StackName="tap-bootstrap")["StackResourceSummaries"]}
        role = outputs["CloudFormationExecutionRoleArn"]
        dev = ("distribution", "dev")

        def recorded(steps: Callable[[], None]) -> list[Call]:
            recorder = Recorder()
            patch.setattr(aws_module, "connect", recorder.connect)
            try:
                steps()
            finally:
                patch.setattr(aws_module, "connect", recorder._connect)
            return recorder.calls

        def plans() -> None:
            planned = run("deploy", *dev, "--no-execute", "--parameter", f"SigningPublicKey=file://{keys('a')}")
            assert "not executed" in planned, planned
            # A config that creates the account's GitHub provider makes pre-flight look for one.
            assert "pre-flight refused" in run("deploy", "microservices", "dev", "--no-execute")

        def deploys() -> None:
            first = run("deploy", *dev, "--yes", "--role-arn", role,
                        "--parameter", f"SigningPublicKey=file://{keys('a')}")
            assert "CREATE_COMPLETE in " in first, first
            update = run("deploy", *dev, "--yes", "--role-arn", role,
                         "--parameter", f"SigningPublicKey=file://{keys('b')}")
            assert "UPDATE_COMPLETE in " in update, update
            assert "no changes" in run("deploy", *dev, "--yes", "--role-arn", role)
            reviewed = run("deploy", *dev, "--no-execute", "--role-arn", role,
                           "--parameter", f"SigningPublicKey=file://{keys('c')}")
            arn = re.search(r"\./deploy\.sh execute (\S+)", reviewed).group(1)
            assert "UPDATE_COMPLETE in " in run("execute", arn)
            services_first = run("deploy", "microservices", "dev", "--yes", "--role-arn", role, where=services)
            assert "CREATE_COMPLETE in " in services_first, services_first
            assert "no changes" in run("deploy", "microservices", "dev", "--yes", "--role-arn", role, where=services)
            assert "pre-flight refused" in run("deploy", "microservices", "dev", "--yes", "--role-arn", role)

        def plans_of_a_deployed_stack() -> None:
            assert "not executed" in run("deploy", *dev, "--no-execute",
                                         "--parameter", f"SigningPublicKey=file://{keys('d')}")
            assert "no changes" in run("deploy", *dev, "--no-execute")
            assert "no changes" in run("deploy", "microservices", "dev", "--no-execute", where=services)
            edit_and_build(services, "microservices", "flow_log_retention_days = 90", "flow_log_retention_days = 30")
            assert "not executed" in run("deploy", "microservices", "dev", "--no-execute", where=services)

        def unreached_preflight_questions() -> None:
            ask_unreached_preflight_questions(aws_module.connect(REGION, endpoint_url=running.url), built)

        plan = recorded(plans)
        deploy = recorded(deploys)
        plan += recorded(plans_of_a_deployed_stack)
        unreached = recorded(unreached_preflight_questions)
    return Jobs(plan + unreached, deploy + unreached, outputs, physical_ids)


def ask_unreached_preflight_questions(aws: aws_module.Aws, built) -> None:
    """Pre-flight asks ECR about a pinned image only once its repository is deployed, and
    ACM about a certificate of this account only: neither happens in the runs above."""
    services = templates_by_path(built, "microservices/dev")
    deployed = {
        path: DeployedStack(path, f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/tap-microservices-dev/{i}", {
            logical_id: {"LogicalResourceId": logical_id, "PhysicalResourceId": f"tap-{logical_id.lower()}",
                         "ResourceType": resource["Type"]}
            for logical_id, resource in template.get("Resources", {}).items()
        })
        for i, (path, template) in enumerate(services.items())
    }
    target = preflight.Target(aws=aws, stack_name="tap-microservices-dev", templates=services,
                              root_parameters={}, deployed=deployed)
    assert list(preflight.image_problems(target))
    certificate = f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/0a1b2c3d-4e5f-4789-8bcd-ef0123456789"
    cdn = {(): {"Resources": {"Distribution": {"Type": "AWS::CloudFront::Distribution", "Properties": {
        "DistributionConfig": {"ViewerCertificate": {"AcmCertificateArn": certificate}}}}}}}
    assert list(preflight.certificate_problems(preflight.Target(
        aws=aws, stack_name="tap-distribution-dev", templates=cdn, root_parameters={})))


# --- from calls to IAM requests ------------------------------------------------------------


def stack_ids(calls: list[Call]) -> tuple[dict[str, str], dict[str, str]]:
    """Stack ids by stack name and by change set ARN, as the responses named them."""
    by_name, by_change_set = {}, {}
    for call in calls:
        for stack in call.response.get("Stacks", []):
            by_name[stack["StackName"]] = stack["StackId"]
        if call.operation == "CreateChangeSet" and "Id" in call.response:
            by_change_set[call.response["Id"]] = call.response["StackId"]
        if call.operation == "DescribeChangeSet" and "ChangeSetId" in call.response:
            by_change_set[call.response["ChangeSetId"]] = call.response["StackId"]
    return by_name, by_change_set


def requests_of(calls: list[Call]) -> list[Request]:
    """The IAM requests that authorise the calls, in order."""
    by_name, by_change_set = stack_ids(calls)

    def stack(call: Call) -> str:
        """The stack a CloudFormation call is authorised on (a change set's, for one)."""
        if "StackId" in call.response:
            return call.response["StackId"]
        if call.params.get("ChangeSetName", "").startswith("arn:"):
            return by_change_set[call.params["ChangeSetName"]]
        name = call.params["StackName"]
        if name.startswith("arn:"):
            return name
        return by_name.get(name, f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{name}/not-yet-created")

    found = []
    for call in calls:
        key = (call.service, call.operation)
        assert key in IAM_ACTIONS, (f"the deploy tool now calls {call.service} {call.operation}: add the IAM "
                                    "action that authorises it to IAM_ACTIONS and grant it to the roles")
        action, params = IAM_ACTIONS[key], call.params
        if action is None:
            continue
        if call.service == "cloudformation":
            found.append(Request(action, stack(call)))
            if call.operation == "CreateChangeSet" and params.get("RoleARN"):
                found.append(Request("iam:PassRole", params["RoleARN"],
                                     (("iam:PassedToService", CLOUDFORMATION),)))
        elif call.service == "s3":
            resource = f"arn:aws:s3:::{params['Bucket']}" + (f"/{params['Key']}" if "Key" in params else "")
            context = (("s3:if-none-match", params["IfNoneMatch"]),) if "IfNoneMatch" in params else ()
            found.append(Request(action, resource, context))
        elif call.service == "ecr":
            found.append(Request(action, f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{params['repositoryName']}"))
        elif call.service == "acm":
            found.append(Request(action, params["CertificateArn"]))
        elif call.operation == "DescribeServices":
            found.extend(Request(action, arn) for arn in params["services"])
        elif call.service == "dynamodb":
            found.append(Request(action, f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{params['TableName']}"))
        else:
            found.append(Request(action, "*"))  # list and describe calls without a resource
    return found


# --- the roles as the emitted template resolves in the emulated account ----------------------


def policy_of(built, jobs: Jobs, role: str) -> list[dict]:
    """The statements of a role of the emitted bootstrap template, resolved with the
    parameters and physical ids of the bootstrap deployed above."""
    template = built.template("bootstrap", "bootstrap")
    attributes = {
        ("ArtifactBucket", "Arn"): jobs.outputs["ArtifactBucketArn"],
        ("CloudFormationExecutionRole", "Arn"): jobs.outputs["CloudFormationExecutionRoleArn"],
    }
    scope = emulator.Scope(
        template,
        parameters={name: spec.get("Default", "") for name, spec in template["Parameters"].items()}
        | {"GitHubRepository": REPOSITORY},
        pseudo={"AWS::AccountId": ACCOUNT, "AWS::Region": REGION, "AWS::Partition": "aws",
                "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "tap-bootstrap",
                "AWS::NoValue": emulator.NO_VALUE},
        ref=lambda name: jobs.physical_ids[name],
        getatt=lambda name, attribute: attributes[(name, attribute)],
        zones=[],
    )
    properties = emulator.resolve(template["Resources"][role]["Properties"], scope)
    return [statement for policy in properties["Policies"] for statement in policy["PolicyDocument"]["Statement"]]


@pytest.fixture(scope="module")
def plan_role(built, jobs) -> list[dict]:
    return policy_of(built, jobs, "GitHubPlanRole")


@pytest.fixture(scope="module")
def deploy_role(built, jobs) -> list[dict]:
    return policy_of(built, jobs, "GitHubDeployRole")


def denied(statements: list[dict], requests: list[Request]) -> list[Request]:
    return sorted({request for request in requests if not allows(statements, request)},
                  key=lambda request: (request.action, request.resource))


def unneeded(statements: list[dict], requests: list[Request]) -> list[tuple[str, str, str]]:
    """Grants (statement id, action, resource) that no request needs."""
    by_sid = {statement.get("Sid"): statement for statement in statements}
    return [
        (sid, action, resource) for sid, action, resource in grants(statements)
        if not any(statement_matches({**by_sid[sid], "Action": action, "Resource": resource}, request)
                   for request in requests)
    ]


def test_the_plan_role_allows_every_call_of_a_pull_requests_plan(jobs, plan_role):
    assert denied(plan_role, requests_of(jobs.plan)) == []


def test_the_plan_role_grants_nothing_a_plan_does_not_use(jobs, plan_role):
    assert unneeded(plan_role, requests_of(jobs.plan)) == []


def test_the_deploy_role_allows_every_call_of_a_deploy(jobs, deploy_role):
    assert denied(deploy_role, requests_of(jobs.deploy)) == []


def test_the_deploy_role_grants_nothing_a_deploy_does_not_use(jobs, deploy_role):
    assert unneeded(deploy_role, requests_of(jobs.deploy)) == []


def test_the_recorded_jobs_cover_every_step_of_a_deploy(jobs):
    """So that the two tests above prove something: each job made the calls of its steps."""
    operations = {call.operation for call in jobs.deploy}
    assert {"CreateChangeSet", "ExecuteChangeSet", "SetStackPolicy", "UpdateTerminationProtection",
            "DeleteChangeSet", "PutObject", "DescribeImages", "DescribeCertificate"} <= operations
    planned = {call.operation for call in jobs.plan}
    assert {"CreateChangeSet", "DeleteChangeSet", "GetTemplate", "PutObject"} <= planned
    assert not {"ExecuteChangeSet", "SetStackPolicy", "UpdateTerminationProtection"} & planned
    assert any(call.params.get("RoleARN") for call in jobs.deploy if call.operation == "CreateChangeSet")


def test_a_pull_request_can_neither_execute_nor_overwrite_an_artefact_nor_pass_a_role(jobs, plan_role):
    stack = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/tap-distribution-dev/1"
    artefact = f"{jobs.outputs['ArtifactBucketArn']}/templates/root-0.json"
    for request in (
        Request("cloudformation:ExecuteChangeSet", stack),
        Request("cloudformation:SetStackPolicy", stack),
        Request("cloudformation:UpdateTerminationProtection", stack),
        Request("s3:PutObject", artefact),  # without If-None-Match: an overwrite
        Request("iam:PassRole", jobs.outputs["CloudFormationExecutionRoleArn"],
                (("iam:PassedToService", CLOUDFORMATION),)),
    ):
        assert not allows(plan_role, request), request
    assert allows(plan_role, Request("s3:PutObject", artefact, (("s3:if-none-match", "*"),)))


def test_neither_role_touches_the_bootstrap_stack_or_another_bucket(jobs, plan_role, deploy_role):
    bootstrap = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/tap-bootstrap/1"
    for statements in (plan_role, deploy_role):
        assert not allows(statements, Request("cloudformation:CreateChangeSet", bootstrap))
        assert not allows(statements, Request("s3:PutObject", "arn:aws:s3:::another-bucket/key"))


def test_the_execution_role_can_be_passed_only_to_cloudformation(jobs, deploy_role):
    role = jobs.outputs["CloudFormationExecutionRoleArn"]
    assert allows(deploy_role, Request("iam:PassRole", role, (("iam:PassedToService", CLOUDFORMATION),)))
    assert not allows(deploy_role, Request("iam:PassRole", role, (("iam:PassedToService", "lambda.amazonaws.com"),)))
    other = f"arn:aws:iam::{ACCOUNT}:role/{jobs.physical_ids['GitHubDeployRole']}"
    assert not allows(deploy_role, Request("iam:PassRole", other, (("iam:PassedToService", CLOUDFORMATION),)))


def resource_types(action: str) -> list[str]:
    """The resource types IAM authorises `action` on (cfn-lint's copy of the IAM reference)."""
    service, name = action.split(":")
    policies = json.loads((Path(AdditionalSpecs.__file__).parent / "Policies.json").read_text())
    return policies[service]["Actions"][name.lower()].get("Resources", [])


@pytest.mark.parametrize("role", ["GitHubPlanRole", "GitHubDeployRole"])
def test_resource_star_only_for_actions_without_resource_level_permissions(built, jobs, role):
    statements = policy_of(built, jobs, role)
    starred = {action for _, action, resource in grants(statements) if resource == "*"}
    assert starred == {"iam:ListOpenIDConnectProviders", "ecs:DescribeTaskDefinition"}
    assert all(resource_types(action) == [] for action in starred)
    assert all("*" not in action for _, action, _ in grants(statements))
