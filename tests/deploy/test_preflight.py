"""Pre-flight checks against an emulated account (moto): each refusal names what is
wrong and what to do, and what the stack itself owns is never a problem."""

from __future__ import annotations

import copy
import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tap.deploy import preflight
from tap.deploy.stacks import DeployedStack
from tap.errors import UserError
from tests.deploy.conftest import templates_by_path

BUCKET = "tap-assets-123456789012-us-east-1"
GITHUB = "https://token.actions.githubusercontent.com"


def target(aws, templates, deployed=None, bucket=BUCKET, parameters=None, stack_name="tap-test"):
    return preflight.Target(aws=aws, stack_name=stack_name, templates=templates,
                            root_parameters=parameters or {}, deployed=deployed or {}, bucket=bucket)


def problems(check, *args, **kwargs) -> list[str]:
    return list(check(target(*args, **kwargs)))


def owned(path, **resources) -> dict:
    """A deployed stack at `path` whose resources have these physical ids."""
    return {path: DeployedStack(path, f"arn:aws:cloudformation:us-east-1:123456789012:stack/s/{len(path)}", {
        logical_id: {"LogicalResourceId": logical_id, "PhysicalResourceId": physical, "ResourceType": "x"}
        for logical_id, physical in resources.items()
    })}


def test_a_missing_bootstrap_bucket_says_to_bootstrap(aws, built):
    templates = templates_by_path(built, "distribution/dev")
    with pytest.raises(UserError) as refused:
        preflight.check(target(aws, templates))
    assert (f"no artefact bucket {BUCKET} in account 123456789012, region us-east-1: run "
            "`./deploy.sh bootstrap --region us-east-1` first") in str(refused.value)
    aws.client("s3").create_bucket(Bucket=BUCKET)
    preflight.check(target(aws, templates))


# --- images ------------------------------------------------------------------------------------


@pytest.fixture
def services(built):
    """microservices dev: one service pinned to an image tag in the config (it runs tasks
    when the deploy passes that tag), one with no image yet (no tasks); returns the
    templates and where the pinned one lives."""
    templates = templates_by_path(built, "microservices/dev")
    (path,) = [p for p, t in templates.items() if "OrdersService" in t.get("Resources", {})]
    return templates, path


def pinned(templates, path):
    resources = templates[path]["Resources"]
    (service,) = [lid for lid, r in resources.items() if r["Type"] == "AWS::ECS::Service"]
    return service, service.removesuffix("Service") + "Repository"


def test_a_pinned_image_in_a_repository_this_deploy_creates_is_refused(aws, services):
    templates, path = services
    service, repository = pinned(templates, path)
    (problem,) = problems(preflight.image_problems, aws, templates)
    assert problem.startswith(f"{'/'.join(path)}/{service} runs image tag ")
    assert "a repository this deploy creates, so it cannot hold the image yet" in problem


def test_a_pinned_image_missing_from_its_repository_is_refused_until_pushed(aws, services):
    templates, path = services
    service, repository = pinned(templates, path)
    ecr = aws.client("ecr")
    ecr.create_repository(repositoryName="tap-dev-orders")
    deployed = owned(path, **{repository: "tap-dev-orders"})
    (problem,) = problems(preflight.image_problems, aws, templates, deployed)
    tag = problem.split("runs image tag ")[1].split(",")[0]
    assert "which repository tap-dev-orders does not hold: push it first" in problem
    ecr.put_image(repositoryName="tap-dev-orders", imageTag=tag,
                  imageManifest='{"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json", "config": {}, "layers": []}')
    assert problems(preflight.image_problems, aws, templates, deployed) == []


def test_a_service_with_no_tasks_needs_no_image(aws, services):
    templates, path = services
    templates = copy.deepcopy(templates)
    for resource in templates[path]["Resources"].values():
        if resource["Type"] == "AWS::ECS::Service":
            resource["Properties"]["DesiredCount"] = 0
    assert any(r["Type"] == "AWS::ECS::TaskDefinition" for r in templates[path]["Resources"].values())
    assert problems(preflight.image_problems, aws, templates) == []


# --- certificates --------------------------------------------------------------------------------


def imported_certificate(aws, name: str) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return aws.client("acm").import_certificate(
        Certificate=certificate.public_bytes(serialization.Encoding.PEM),
        PrivateKey=key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                     serialization.NoEncryption()),
    )["CertificateArn"]


def configured(built, folder: str) -> dict:
    """The root parameter values a deploy takes from the folder's config (its manifest)."""
    return dict(built.targets[folder].emission.root.configured)


def aliases_of(templates) -> list[str]:
    return templates[("CdnStack",)]["Resources"]["Distribution"]["Properties"]["DistributionConfig"]["Aliases"]


def test_a_certificate_of_another_account_is_refused(aws, built):
    # The template takes the certificate as a root parameter; prod's config names account 111122223333.
    templates = templates_by_path(built, "distribution/prod")
    (problem,) = problems(preflight.certificate_problems, aws, templates,
                          parameters=configured(built, "distribution/prod"))
    assert problem.startswith("CdnStack/Distribution uses certificate arn:aws:acm:us-east-1:111122223333:")
    assert problem.endswith("a certificate must be in this account (123456789012)")


def test_a_certificate_written_in_a_template_is_checked_too(aws, built):
    templates = copy.deepcopy(templates_by_path(built, "distribution/prod"))
    config = templates[("CdnStack",)]["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    config["ViewerCertificate"]["AcmCertificateArn"] = configured(built, "distribution/prod")["CdnCertificateArn"]
    (problem,) = problems(preflight.certificate_problems, aws, templates)
    assert problem.endswith("a certificate must be in this account (123456789012)")


def test_a_certificate_must_cover_every_alias(aws, built):
    arn = imported_certificate(aws, "*.example.org")
    templates = templates_by_path(built, "distribution/prod")
    (alias,) = aliases_of(templates)
    (problem,) = problems(preflight.certificate_problems, aws, templates, parameters={"CdnCertificateArn": arn})
    assert f"serves {alias}, which certificate {arn} does not cover (it covers: *.example.org)" in problem
    covering = imported_certificate(aws, alias)
    assert problems(preflight.certificate_problems, aws, templates, parameters={"CdnCertificateArn": covering}) == []


def test_a_certificate_that_does_not_exist_is_refused(aws, built):
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-4000-8000-000000000000"
    templates = templates_by_path(built, "distribution/prod")
    (problem,) = problems(preflight.certificate_problems, aws, templates, parameters={"CdnCertificateArn": arn})
    assert problem.endswith("which does not exist in us-east-1")


def test_a_certificate_kept_from_the_deployed_stack_is_not_known_so_not_checked(aws, built):
    templates = templates_by_path(built, "distribution/prod")
    assert problems(preflight.certificate_problems, aws, templates) == []


# --- fixed names and the OIDC provider --------------------------------------------------------------


def create_licenses_table(aws) -> None:
    aws.client("dynamodb").create_table(
        TableName="tap-distribution-dev-licenses", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "keyHash", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "keyHash", "KeyType": "HASH"}],
    )


def test_a_retained_licenses_table_is_adopted_not_refused(aws, built):
    templates = templates_by_path(built, "distribution/dev")
    assert preflight.adoptions(target(aws, templates)) == []
    create_licenses_table(aws)

    assert problems(preflight.fixed_name_problems, aws, templates) == []
    assert preflight.adoptions(target(aws, templates)) == [preflight.Adoption(
        "DatabaseStack/LicensesTable", "AWS::DynamoDB::Table", "tap-distribution-dev-licenses")]
    deployed = owned(("DatabaseStack",), LicensesTable="tap-distribution-dev-licenses")
    assert preflight.adoptions(target(aws, templates, deployed)) == []


def test_a_named_table_cloudformation_cannot_import_is_refused(aws, built):
    """AWS imports only a resource whose name is written as text and whose DeletionPolicy
    keeps it."""
    templates = copy.deepcopy(templates_by_path(built, "distribution/dev"))
    create_licenses_table(aws)
    table = templates[("DatabaseStack",)]["Resources"]["LicensesTable"]
    table["DeletionPolicy"] = "Delete"

    (problem,) = problems(preflight.fixed_name_problems, aws, templates)
    assert problem.startswith("DatabaseStack/LicensesTable: a AWS::DynamoDB::Table named "
                              "tap-distribution-dev-licenses already exists outside this stack")
    assert "nor import it" in problem
    assert preflight.adoptions(target(aws, templates)) == []

    table["DeletionPolicy"] = "Retain"
    table["Properties"]["TableName"] = {"Fn::Sub": "tap-distribution-dev-licenses"}
    assert len(problems(preflight.fixed_name_problems, aws, templates)) == 1


def test_the_bootstrap_bucket_left_by_an_earlier_bootstrap_is_refused(aws, built):
    templates = templates_by_path(built, "bootstrap")
    assert problems(preflight.fixed_name_problems, aws, templates, bucket=None) == []
    aws.client("s3").create_bucket(Bucket=BUCKET)
    (problem,) = problems(preflight.fixed_name_problems, aws, templates, bucket=None)
    assert problem.startswith(f"ArtifactBucket: a AWS::S3::Bucket named {BUCKET} already exists")


def test_stackset_roles_are_checked_only_when_their_condition_holds(aws, built):
    templates = templates_by_path(built, "bootstrap")
    aws.client("iam").create_role(RoleName="AWSCloudFormationStackSetAdministrationRole",
                                  AssumeRolePolicyDocument="{}")
    assert problems(preflight.fixed_name_problems, aws, templates) == []
    (problem,) = problems(preflight.fixed_name_problems, aws, templates,
                          parameters={"CreateAdministrationRole": "true"})
    assert problem.startswith("StackSetAdministrationRole: a AWS::IAM::Role named "
                              "AWSCloudFormationStackSetAdministrationRole already exists")


def test_a_second_github_oidc_provider_is_refused(aws, built):
    templates = templates_by_path(built, "microservices/dev")
    assert problems(preflight.oidc_provider_problems, aws, templates) == []
    arn = aws.client("iam").create_open_id_connect_provider(
        Url=GITHUB, ClientIDList=["sts.amazonaws.com"], ThumbprintList=["a" * 40])["OpenIDConnectProviderArn"]
    (problem,) = problems(preflight.oidc_provider_problems, aws, templates)
    assert problem == (f"PipelineStack/GitHubOidcProvider: the account already has an OIDC provider for "
                       f"{GITHUB} ({arn}), and it can hold only one: use it instead of creating one "
                       "(microservices: set pipeline.create_oidc_provider = false)")
    deployed = owned(("PipelineStack",), GitHubOidcProvider=arn)
    assert problems(preflight.oidc_provider_problems, aws, templates, deployed) == []


def test_the_bootstrap_creates_a_github_provider_only_for_a_repository_and_without_an_existing_one(aws, built):
    templates = templates_by_path(built, "bootstrap")
    arn = aws.client("iam").create_open_id_connect_provider(
        Url=GITHUB, ClientIDList=["sts.amazonaws.com"], ThumbprintList=["a" * 40])["OpenIDConnectProviderArn"]
    assert problems(preflight.oidc_provider_problems, aws, templates) == []  # no GitHubRepository
    (problem,) = problems(preflight.oidc_provider_problems, aws, templates,
                          parameters={"GitHubRepository": "example-org/tap"})
    assert problem.startswith("GitHubOidcProvider: the account already has an OIDC provider")
    assert problem.endswith(f"use it instead of creating one (--parameter GitHubOidcProviderArn={arn})")
    assert problems(preflight.oidc_provider_problems, aws, templates,
                    parameters={"GitHubRepository": "example-org/tap", "GitHubOidcProviderArn": arn}) == []


def test_every_problem_is_reported_at_once(aws, built):
    templates = templates_by_path(built, "distribution/prod")
    with pytest.raises(UserError) as refused:
        preflight.check(target(aws, templates, parameters=configured(built, "distribution/prod")))
    message = str(refused.value)
    assert message.startswith("pre-flight refused the deploy:\n  - no artefact bucket")
    assert "\n  - CdnStack/Distribution uses certificate" in message
