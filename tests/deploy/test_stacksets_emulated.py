"""StackSets end to end against the emulator: an organisation of an administrator and
two target accounts, each bootstrapped as the docs say; `./deploy.sh stackset` from a
copy of the checkout creates the instances, updates them when a function changes, and
`stackset-remove` removes them, keeping a stack or deleting it."""

from __future__ import annotations

import io
import json
import urllib.request

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tap.deploy import cli, emulated_stacksets, emulator
from tap.deploy.commands import Console, Workspace
from tests.deploy.test_end_to_end import Checkout, copy_checkout, public_key  # noqa: F401

ADMIN = emulator.ACCOUNT_ID
TARGETS = ("111111111111", "222222222222")


@pytest.fixture
def organisation(tmp_path):
    """A running emulator whose accounts are bootstrapped for self-managed StackSets."""
    with emulator.Emulator() as running:
        # moto's state lives in this process: start each test from empty accounts.
        urllib.request.urlopen(urllib.request.Request(f"{running.url}/moto-api/reset", method="POST"))
        organization, units = emulated_stacksets.add_organization(ADMIN, {"workloads": [*TARGETS, "333333333333"]})
        checkout = Checkout(copy_checkout(tmp_path / "checkout"), running.url)
        checkout.organization, checkout.unit = organization, units["workloads"]
        yield checkout


def bootstrap(url: str, account: str, region: str, *parameters: str) -> None:
    console = Console(out=io.StringIO())
    cli.bootstrap_quietly(emulator.connect_as(url, region, account), console, Workspace(poll_seconds=0.05),
                          *parameters)


def bootstrap_accounts(checkout: Checkout, regions: tuple[str, ...], targets=TARGETS) -> None:
    for index, region in enumerate(regions):
        bootstrap(checkout.url, ADMIN, region, f"ReaderOrganizationId={checkout.organization}",
                  f"CreateAdministrationRole={'true' if index == 0 else 'false'}")
    for account in targets:
        bootstrap(checkout.url, account, regions[0], f"AdministratorAccountId={ADMIN}")


def client(checkout: Checkout, service: str, account: str, region: str = "us-east-1"):
    return emulator.connect_as(checkout.url, region, account).client(service)


def instance_stacks(checkout: Checkout, account: str, region: str = "us-east-1") -> list[dict]:
    stacks = client(checkout, "cloudformation", account, region).describe_stacks()["Stacks"]
    return [s for s in stacks if s["StackName"].startswith("StackSet-tap-") and "ParentId" not in s]


def parameter_value(stack: dict, key: str) -> str:
    return next(p["ParameterValue"] for p in stack["Parameters"] if p["ParameterKey"] == key)


def function_hashes(checkout: Checkout, account: str) -> dict[str, str]:
    functions = client(checkout, "lambda", account).list_functions()["Functions"]
    return {f["FunctionName"]: f["CodeSha256"] for f in functions}


def test_distribution_stackset_create_update_and_remove(organisation, public_key):  # noqa: F811
    checkout = organisation
    bootstrap_accounts(checkout, ("us-east-1",))
    deploy = ("stackset", "distribution", "dev", "--accounts", ",".join(TARGETS), "--regions", "us-east-1",
              "--parameter", f"SigningPublicKey=file://{public_key}", "--max-concurrent", "2",
              "--failure-tolerance", "1")

    created = checkout.deploy_sh(*deploy, "--yes")
    assert created.returncode == 0
    assert "creating instances: 2 account(s) x 1 region(s)" in created.stdout
    for account in TARGETS:
        (stack,) = instance_stacks(checkout, account)
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        assert {"ParameterKey": "ArtifactAccount", "ParameterValue": ADMIN} in stack["Parameters"]
    before = {account: function_hashes(checkout, account) for account in TARGETS}
    assert all(before.values())

    handler = checkout.root / "functions" / "usage_tracking" / "handler.py"
    handler.write_text(handler.read_text() + "\n# a changed function\n")
    checkout.build("distribution", "dev")
    updated = checkout.deploy_sh(*deploy, "--yes")
    assert updated.returncode == 0
    assert "updating 2 instance(s)" in updated.stdout
    for account in TARGETS:
        after = function_hashes(checkout, account)
        changed = {name for name, sha in after.items() if before[account][name] != sha}
        assert len(changed) == 1 and "UsageTracking" in changed.pop()
        assert instance_stacks(checkout, account)[0]["StackStatus"] == "UPDATE_COMPLETE"

    again = checkout.deploy_sh(*deploy, "--yes")
    assert again.returncode == 0 and "no changes" in again.stdout

    other_key = checkout.root / "other-public.pem"
    other_key.write_bytes(rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    overrides = checkout.root / "overrides.json"
    overrides.write_text(json.dumps({TARGETS[1]: [{"ParameterKey": "SigningPublicKey",
                                                   "ParameterValue": other_key.read_text()}]}))
    overridden = checkout.deploy_sh(*deploy, "--overrides", str(overrides), "--yes")
    assert overridden.returncode == 0
    assert "overriding SigningPublicKey: 1 account(s) x 1 region(s)" in overridden.stdout
    keys = {account: parameter_value(instance_stacks(checkout, account)[0], "SigningPublicKey")
            for account in TARGETS}
    assert keys == {TARGETS[0]: public_key.read_text(), TARGETS[1]: other_key.read_text()}
    same = checkout.deploy_sh(*deploy, "--overrides", str(overrides), "--yes")
    assert same.returncode == 0 and "no changes" in same.stdout

    status = checkout.deploy_sh("stackset-status", "distribution", "dev")
    assert status.returncode == 0
    assert [line.split()[:3] for line in status.stdout.splitlines() if line.startswith(TARGETS)] == [
        [account, "us-east-1", "SUCCEEDED"] for account in TARGETS]

    kept_stack = instance_stacks(checkout, TARGETS[0])[0]["StackId"]
    kept = checkout.deploy_sh("stackset-remove", "distribution", "dev", "--accounts", TARGETS[0],
                              "--regions", "us-east-1", "--retain-stacks", "--yes")
    assert kept.returncode == 0
    assert client(checkout, "cloudformation", TARGETS[0]).describe_stacks(
        StackName=kept_stack)["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"

    tables = client(checkout, "dynamodb", TARGETS[1]).list_tables()["TableNames"]
    removed = checkout.deploy_sh("stackset-remove", "distribution", "dev", "--accounts", TARGETS[1],
                                 "--regions", "us-east-1", answer="tap-distribution-dev\n")
    assert removed.returncode == 0
    assert instance_stacks(checkout, TARGETS[1]) == []
    assert client(checkout, "dynamodb", TARGETS[1]).list_tables()["TableNames"] == tables  # Retain kept them
    assert "had no instance left and was deleted" in removed.stdout


def test_microservices_stackset_two_accounts_two_regions_with_one_account_not_bootstrapped(organisation):
    checkout = organisation
    regions = ("us-east-1", "eu-west-1")
    bootstrap_accounts(checkout, regions)
    checkout.edit_config("microservices", "dev", "create_oidc_provider = true", "create_oidc_provider = false")
    checkout.build("microservices", "dev")
    accounts = ",".join((*TARGETS, "333333333333"))
    result = checkout.deploy_sh("stackset", "microservices", "dev", "--accounts", accounts,
                                "--regions", ",".join(regions), "--failure-tolerance", "1", "--yes")
    assert result.returncode == 1
    missing = ("Account 333333333333 should have 'AWSCloudFormationStackSetExecutionRole' role with trust "
               "relationship to Role 'AWSCloudFormationStackSetAdministrationRole'.")
    final = result.stdout.split("account       region")[-1].splitlines()[1:]
    assert sorted(line.split()[:3] for line in final if line.strip() and line[0].isdigit()) == sorted(
        [[account, region, "SUCCEEDED"] for account in TARGETS for region in regions]
        + [["333333333333", region, "FAILED"] for region in regions])
    assert missing in result.stdout and missing in result.stderr
    cfn = client(checkout, "cloudformation", ADMIN)
    for account in TARGETS:
        for region in regions:
            (stack,) = instance_stacks(checkout, account, region)
            assert stack["StackStatus"] == "CREATE_COMPLETE"
            # The config pins orders' image, which no target account's repository holds:
            # a new instance starts it with no task instead of failing to pull.
            assert parameter_value(stack, "Services100ImageTags") == "no-image-yet"
            overrides = cfn.describe_stack_instance(StackSetName="tap-microservices-dev", StackInstanceAccount=account,
                                                    StackInstanceRegion=region)["StackInstance"]["ParameterOverrides"]
            assert {"ParameterKey": "Services100ImageTags", "ParameterValue": "no-image-yet"} in overrides

    # An update keeps each instance's image list (what its services run) as it is.
    checkout.edit_config("microservices", "dev", "flow_log_retention_days = 90", "flow_log_retention_days = 30")
    checkout.build("microservices", "dev")
    updated = checkout.deploy_sh("stackset", "microservices", "dev", "--accounts", ",".join(TARGETS),
                                 "--regions", ",".join(regions), "--failure-tolerance", "1", "--yes")
    assert updated.returncode == 0
    assert "updating 4 instance(s)" in updated.stdout and "overriding" not in updated.stdout
    for account in TARGETS:
        for region in regions:
            (stack,) = instance_stacks(checkout, account, region)
            assert stack["StackStatus"] == "UPDATE_COMPLETE"
            assert parameter_value(stack, "Services100ImageTags") == "no-image-yet"


def test_a_region_whose_bucket_the_organisation_cannot_read_is_refused_before_anything_starts(organisation):
    checkout = organisation
    bootstrap(checkout.url, ADMIN, "us-east-1", "CreateAdministrationRole=true")  # no ReaderOrganizationId
    result = checkout.deploy_sh("stackset", "microservices", "dev", "--accounts", TARGETS[0],
                                "--regions", "us-east-1,eu-west-1", "--yes")
    assert result.returncode == 2
    assert (f"us-east-1: bucket tap-assets-{ADMIN}-us-east-1 does not let organisation "
            f"{checkout.organization} read it") in result.stderr
    assert f"eu-west-1: no artefact bucket tap-assets-{ADMIN}-eu-west-1" in result.stderr
    assert "GitHubOidcProvider (AWS::IAM::OIDCProvider) exists once per account" in result.stderr
    assert emulated_stacksets._stack_sets(
        emulated_stacksets.cloudformation_backends[ADMIN]["us-east-1"]) == {}


def test_the_emulator_refuses_a_nested_template_the_reader_may_not_read(organisation):
    checkout = organisation
    bootstrap(checkout.url, ADMIN, "us-east-1")
    s3 = client(checkout, "s3", ADMIN)
    s3.put_object(Bucket=f"tap-assets-{ADMIN}-us-east-1", Key="t.json", Body=b'{"Resources": {}}')
    url = f"https://tap-assets-{ADMIN}-us-east-1.s3.us-east-1.amazonaws.com/t.json"
    with pytest.raises(Exception, match="Access Denied"):
        emulator.read_template_url(url, TARGETS[0])
    assert emulator.read_template_url(url, ADMIN) == '{"Resources": {}}'


def test_the_bootstrap_as_a_service_managed_stackset_reaches_every_account_of_the_ou(organisation):
    checkout = organisation
    regions = ("us-east-1", "eu-west-1")
    result = checkout.deploy_sh("stackset", "bootstrap", "--org-units", checkout.unit, "--regions",
                                ",".join(regions), "--max-concurrent", "3", "--failure-tolerance", "2", "--yes")
    assert result.returncode == 0
    assert "(service-managed)" in result.stdout
    accounts = (*TARGETS, "333333333333")
    for account in accounts:
        for region in regions:
            client(checkout, "s3", account, region).head_bucket(
                Bucket=f"tap-assets-{account}-{region}", ExpectedBucketOwner=account)
    stack_set = client(checkout, "cloudformation", ADMIN).describe_stack_set(StackSetName="tap-bootstrap")["StackSet"]
    assert stack_set["PermissionModel"] == "SERVICE_MANAGED"
    assert stack_set["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": True}
