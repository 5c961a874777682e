"""The AWS emulator against tap's real templates, over HTTP with boto3 clients,
driven the way the deploy tool drives CloudFormation: bootstrap, upload by hash,
a root change set with nested change sets, execute, follow, update, roll back, delete.

Each deployment lives in an account of its own (moto keys its state by account),
so tests neither share nor collide on fixed names such as the bootstrap bucket.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tap.build import Target, build_target
from tap.deploy.emulator import Emulator
from tap.paths import CONFIG_DIR
from tap.systems import Tools

REGION = "us-east-1"
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
NO_CHANGES = ("The submitted information didn't contain changes. "
              "Submit different information to create a change set.")
KNOWN_AFTER_APPLY = "{{changeSet:KNOWN_AFTER_APPLY}}"
NESTED_NAME = re.compile(r"^(?P<parent>.+)-(?P<logical>[A-Za-z0-9]+)-[A-Z0-9]{12}$")
ChangeSetTree = list[tuple[tuple[str, ...], dict]]


@pytest.fixture(scope="module")
def aws():
    with Emulator() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def signing_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


class Account:
    """A fresh account in the emulator, its clients, and the deploy tool's steps."""

    def __init__(self, url: str):
        self.id = str(random.SystemRandom().randrange(10**11, 10**12))
        self.url = url
        self.session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                     region_name=REGION)
        self._clients: dict = {}

    def client(self, service: str):
        if service not in self._clients:
            client = self.session.client(service, endpoint_url=self.url)
            client.meta.events.register("before-sign.*.*", self._name_account)
            self._clients[service] = client
        return self._clients[service]

    def _name_account(self, request, **_) -> None:
        request.headers["x-moto-account-id"] = self.id  # moto picks the account from this header

    @property
    def cloudformation(self):
        return self.client("cloudformation")

    @property
    def bucket(self) -> str:
        return f"tap-assets-{self.id}-{REGION}"

    # --- the deploy tool's steps
    def bootstrap(self, built) -> dict:
        body = built.targets["bootstrap"].emission.root.body.decode()
        change_set = self.cloudformation.create_change_set(
            StackName="tap-bootstrap", ChangeSetName="bootstrap", TemplateBody=body,
            Capabilities=CAPABILITIES, ChangeSetType="CREATE")["Id"]
        self.wait_for_change_set(change_set)
        return self.execute(change_set)

    def upload(self, target: Target, *, functions: bool = True) -> None:
        s3 = self.client("s3")
        for info in target.emission.templates:
            objects = [(info.stack.s3_key, info.stack.body)]
            if functions:
                objects += [(asset.s3_key, asset.data) for asset in info.stack.assets]
            for key, data in objects:
                s3.put_object(Bucket=self.bucket, Key=key, Body=data, ChecksumSHA256=sha256(data))

    def create_change_set(self, stack: str, target: Target, parameters: dict, kind: str) -> str:
        root = target.emission.root
        return self.cloudformation.create_change_set(
            StackName=stack, ChangeSetName=f"{kind.lower()}-{time.monotonic_ns()}",
            TemplateURL=f"https://{self.bucket}.s3.{REGION}.amazonaws.com/{root.s3_key}",
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=CAPABILITIES, ChangeSetType=kind, IncludeNestedStacks=True,
            Tags=[{"Key": "deployed-by", "Value": "test"}],
            RollbackConfiguration={"MonitoringTimeInMinutes": 0}, Description="emulator test")["Id"]

    def wait_for_change_set(self, change_set: str) -> dict:
        """The change set with every page of its changes."""
        for _ in polls():
            description = self.cloudformation.describe_change_set(ChangeSetName=change_set)
            if description["Status"] in ("CREATE_COMPLETE", "FAILED"):
                break
        changes, token = list(description["Changes"]), description.get("NextToken")
        while token:
            page = self.cloudformation.describe_change_set(ChangeSetName=change_set, NextToken=token)
            changes += page["Changes"]
            token = page.get("NextToken")
        return {**description, "Changes": changes}

    def execute(self, change_set: str) -> dict:
        self.cloudformation.execute_change_set(ChangeSetName=change_set)
        stack_id = self.cloudformation.describe_change_set(ChangeSetName=change_set)["StackId"]
        return self.wait_for_stack(stack_id)

    def wait_for_stack(self, stack: str) -> dict:
        for _ in polls():
            (description,) = self.cloudformation.describe_stacks(StackName=stack)["Stacks"]
            status = description["StackStatus"]
            if status == "REVIEW_IN_PROGRESS" or not status.endswith("_IN_PROGRESS"):
                return description

    def deploy(self, stack: str, target: Target, parameters: dict, kind: str = "CREATE") -> dict:
        change_set = self.create_change_set(stack, target, parameters, kind)
        assert self.wait_for_change_set(change_set)["Status"] == "CREATE_COMPLETE"
        return self.execute(change_set)

    # --- reading what a deploy made
    def stacks_of(self, root_id: str) -> list[dict]:
        """The root and all its nested stacks."""
        paginator = self.cloudformation.get_paginator("describe_stacks")
        stacks = paginator.paginate().build_full_result()["Stacks"]
        return [stack for stack in stacks if root_id in (stack["StackId"], stack.get("RootId"))]

    def nested(self, root_id: str, logical_id: str) -> dict:
        (stack,) = [s for s in self.stacks_of(root_id) if logical_id_of(s) == logical_id]
        return stack

    def resources(self, stack: str) -> list[dict]:
        paginator = self.cloudformation.get_paginator("list_stack_resources")
        return paginator.paginate(StackName=stack).build_full_result()["StackResourceSummaries"]

    def events(self, stack: str) -> list[dict]:
        paginator = self.cloudformation.get_paginator("describe_stack_events")
        return paginator.paginate(StackName=stack).build_full_result()["StackEvents"]

    def physical_ids(self, root_id: str) -> dict[tuple[str, str], str]:
        """Every resource of a stack tree by (stack name without random suffix, logical id)."""
        return {
            (re.sub(r"-[A-Z0-9]{12}", "", stack["StackName"]), resource["LogicalResourceId"]):
                resource["PhysicalResourceId"]
            for stack in self.stacks_of(root_id) for resource in self.resources(stack["StackId"])
        }

    def statuses(self, root_id: str) -> set[str]:
        return {resource["ResourceStatus"] for stack in self.stacks_of(root_id)
                for resource in self.resources(stack["StackId"])}

    def change_set_tree(self, change_set: str, path: tuple[str, ...] = ()) -> ChangeSetTree:
        """(path of nested logical ids, description) of a change set and its nested ones."""
        description = self.wait_for_change_set(change_set)
        found = [(path, description)]
        for change in description["Changes"]:
            resource = change["ResourceChange"]
            if "ChangeSetId" in resource:
                found += self.change_set_tree(resource["ChangeSetId"], (*path, resource["LogicalResourceId"]))
        return found

    def output(self, stack: str, key: str) -> str:
        (description,) = self.cloudformation.describe_stacks(StackName=stack)["Stacks"]
        return {o["OutputKey"]: o["OutputValue"] for o in description["Outputs"]}[key]


def polls(seconds: float = 60.0) -> Iterator[None]:
    """Yield until the deadline, pausing between polls; a stuck operation fails the test."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        yield
        time.sleep(0.02)
    raise AssertionError(f"still in progress after {seconds:.0f}s")


def sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def logical_id_of(stack: dict) -> str | None:
    match = NESTED_NAME.match(stack["StackName"])
    return match["logical"] if match and "ParentId" in stack else None


def static_changes(tree: ChangeSetTree) -> set[tuple]:
    """(path, logical id, property, Replacement) of every change known before execution."""
    return {
        (path, change["ResourceChange"]["LogicalResourceId"], detail["Target"].get("Name"),
         change["ResourceChange"].get("Replacement"))
        for path, description in tree for change in description["Changes"]
        for detail in change["ResourceChange"]["Details"] if detail["Evaluation"] == "Static"
    }


def change_of(tree: ChangeSetTree, path: tuple[str, ...], logical_id: str) -> dict:
    (description,) = [d for p, d in tree if p == path]
    (change,) = [c["ResourceChange"] for c in description["Changes"]
                 if c["ResourceChange"]["LogicalResourceId"] == logical_id]
    return change


def modified_target(tmp_path: Path, system: str, env: str, edit: Callable[[str], str]) -> Target:
    """The system built from its config after `edit` (text -> text)."""
    folder = tmp_path / "config" / system
    folder.mkdir(parents=True)
    (folder / f"{env}.toml").write_text(edit((CONFIG_DIR / system / f"{env}.toml").read_text()))
    target = Target(system, env)
    build_target(target, Tools(), tmp_path / "config")
    return target


def templates_of(target: Target) -> dict[str, dict]:
    return {info.stack.name: json.loads(info.stack.body) for info in target.emission.templates}


# --- bootstrap and upload ------------------------------------------------------------


def test_bootstrap_is_created_through_a_change_set_in_the_background(aws, built):
    account = Account(aws.url)
    body = built.targets["bootstrap"].emission.root.body.decode()
    change_set = account.cloudformation.create_change_set(
        StackName="tap-bootstrap", ChangeSetName="bootstrap", TemplateBody=body,
        Capabilities=CAPABILITIES, ChangeSetType="CREATE")["Id"]
    description = account.wait_for_change_set(change_set)
    assert account.wait_for_stack("tap-bootstrap")["StackStatus"] == "REVIEW_IN_PROGRESS"
    assert {c["ResourceChange"]["Action"] for c in description["Changes"]} == {"Add"}

    account.cloudformation.execute_change_set(ChangeSetName=change_set)
    (running,) = account.cloudformation.describe_stacks(StackName="tap-bootstrap")["Stacks"]
    stack = account.wait_for_stack("tap-bootstrap")

    assert running["StackStatus"] == "CREATE_IN_PROGRESS"  # the work goes on after the call
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    executed = account.cloudformation.describe_change_set(ChangeSetName=change_set)
    assert executed["ExecutionStatus"] == "EXECUTE_COMPLETE"
    assert account.output("tap-bootstrap", "ArtifactBucketName") == account.bucket
    assert account.client("s3").get_bucket_policy(Bucket=account.bucket)["Policy"]


def test_uploads_keep_their_sha256_and_a_wrong_one_is_refused(aws, built):
    account = Account(aws.url)
    account.bootstrap(built)
    s3 = account.client("s3")
    s3.put_object(Bucket=account.bucket, Key="functions/a.zip", Body=b"zip", ChecksumSHA256=sha256(b"zip"))

    head = s3.head_object(Bucket=account.bucket, Key="functions/a.zip", ChecksumMode="ENABLED")

    assert head["ChecksumSHA256"] == sha256(b"zip")
    with pytest.raises(ClientError, match="BadDigest"):
        s3.put_object(Bucket=account.bucket, Key="functions/b.zip", Body=b"zip",
                      ChecksumSHA256=sha256(b"other"))


# --- the distribution platform ------------------------------------------------------


def distribution_change_set(aws, built, signing_key) -> tuple[Account, str]:
    """A fresh account, bootstrapped and uploaded, with distribution/dev's CREATE change set."""
    account = Account(aws.url)
    account.bootstrap(built)
    target = built.targets["distribution/dev"]
    account.upload(target)
    return account, account.create_change_set("tap-distribution-dev", target,
                                              {"SigningPublicKey": signing_key}, "CREATE")


@pytest.fixture(scope="module")
def distribution(aws, built, signing_key):
    """distribution/dev created once: its account, create change set tree and stack."""
    account, change_set = distribution_change_set(aws, built, signing_key)
    tree = account.change_set_tree(change_set)
    stack = account.execute(change_set)
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack
    return account, tree, stack


def deployed_distribution(aws, built, signing_key) -> tuple[Account, dict]:
    """distribution/dev created in an account of its own, for a test that changes it."""
    account = Account(aws.url)
    account.bootstrap(built)
    target = built.targets["distribution/dev"]
    account.upload(target)
    return account, account.deploy("tap-distribution-dev", target, {"SigningPublicKey": signing_key})


def update_change_set(aws, built, signing_key, tmp_path, edit: Callable[[str], str]):
    """distribution/dev deployed, then an UPDATE change set of its config after `edit`:
    the account, the stack, its physical ids before, the change set and its tree."""
    account, stack = deployed_distribution(aws, built, signing_key)
    before = account.physical_ids(stack["StackId"])
    target = modified_target(tmp_path, "distribution", "dev", edit)
    account.upload(target)
    change_set = account.create_change_set(stack["StackName"], target, {"SigningPublicKey": signing_key},
                                           "UPDATE")
    return account, stack, before, change_set, account.change_set_tree(change_set)


def protect_tables(text: str) -> str:
    return text.replace("deletion_protection = false", "deletion_protection = true")


def rename_licenses_table(text: str) -> str:
    return text.replace('"tap-distribution-dev-licenses"', '"tap-distribution-dev-licences"')


def test_create_change_set_nests_a_change_set_per_nested_stack(distribution, built):
    account, tree, _ = distribution
    root_id = tree[0][1]["ChangeSetId"]

    nested = [description for path, description in tree if path]

    assert len(nested) == len(templates_of(built.targets["distribution/dev"])) - 1
    for description in nested:
        assert description["ParentChangeSetId"] == root_id == description["RootChangeSetId"]
        assert description["IncludeNestedStacks"] is True
        assert description["StackId"].startswith("arn:aws:cloudformation:")
        assert {c["ResourceChange"]["Action"] for c in description["Changes"]} == {"Add"}
    assert change_of(tree, (), "DatabaseStack")["ChangeSetId"]
    (functions,) = [d for path, d in tree if path == ("FunctionsStack",)]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in functions["Parameters"]}
    assert parameters["ArtifactBucket"] == account.bucket
    assert parameters["LicensesTableName"] == KNOWN_AFTER_APPLY  # a sibling's output, not made yet


def test_nested_change_sets_list_every_resource_of_their_template(distribution, built):
    _, tree, _ = distribution
    monitoring = templates_of(built.targets["distribution/dev"])["monitoring"]

    (description,) = [d for path, d in tree if path == ("MonitoringStack",)]

    assert {c["ResourceChange"]["LogicalResourceId"] for c in description["Changes"]} == set(
        monitoring["Resources"])


def test_root_and_nested_stacks_get_their_outputs(distribution, built):
    account, _, stack = distribution
    root_template = json.loads(built.targets["distribution/dev"].emission.root.body)

    database = account.nested(stack["StackId"], "DatabaseStack")

    assert {o["OutputKey"] for o in stack["Outputs"]} == set(root_template["Outputs"])
    assert account.output(database["StackId"], "LicensesTableName") == "tap-distribution-dev-licenses"
    assert account.output(stack["StackId"], "DistributionDomainName").endswith(".cloudfront.net")


def test_nested_stacks_are_named_and_linked_like_aws(distribution):
    account, _, stack = distribution

    nested = [s for s in account.stacks_of(stack["StackId"]) if s["StackId"] != stack["StackId"]]

    assert len(nested) == 7
    for child in nested:
        assert NESTED_NAME.match(child["StackName"])["parent"] == "tap-distribution-dev"
        assert child["ParentId"] == child["RootId"] == stack["StackId"]
        assert child["StackStatus"] == "CREATE_COMPLETE"
        assert {"Key": "deployed-by", "Value": "test"} in child["Tags"]
    assert "ParentId" not in stack


def test_every_resource_reports_its_own_status_and_physical_id(distribution, built):
    account, _, stack = distribution

    resources = [r for s in account.stacks_of(stack["StackId"]) for r in account.resources(s["StackId"])]

    templates = templates_of(built.targets["distribution/dev"])
    # Signing slot B is empty at a first deploy, so its public key is not made.
    made = [resource for template in templates.values() for resource in template["Resources"].values()
            if resource.get("Condition") != "SigningSlotBFilled"]
    assert len(resources) == len(made)
    assert {r["ResourceStatus"] for r in resources} == {"CREATE_COMPLETE"}
    assert all(r["PhysicalResourceId"] for r in resources)
    nested = [r for r in resources if r["ResourceType"] == "AWS::CloudFormation::Stack"]
    assert all(r["PhysicalResourceId"].startswith("arn:aws:cloudformation:") for r in nested)


def test_each_resource_has_its_creation_events_newest_first(distribution):
    account, _, stack = distribution
    database = account.nested(stack["StackId"], "DatabaseStack")

    events = account.events(database["StackId"])

    table = [e for e in events if e["LogicalResourceId"] == "LicensesTable"]
    assert [(e["ResourceStatus"], e.get("ResourceStatusReason")) for e in reversed(table)] == [
        ("CREATE_IN_PROGRESS", None),
        ("CREATE_IN_PROGRESS", "Resource creation Initiated"),
        ("CREATE_COMPLETE", None),
    ]
    assert table[0]["PhysicalResourceId"] == "tap-distribution-dev-licenses"
    assert all(e["StackId"] == database["StackId"] and e["StackName"] == database["StackName"]
               for e in events)
    timestamps = [e["Timestamp"] for e in events]
    assert timestamps == sorted(timestamps, reverse=True)
    assert (events[0]["LogicalResourceId"], events[0]["ResourceStatus"]) == (
        database["StackName"], "CREATE_COMPLETE")


def test_get_template_returns_each_stack_as_uploaded(distribution, built):
    account, _, stack = distribution
    nested = account.nested(stack["StackId"], "EdgeStack")

    template = account.cloudformation.get_template(StackName=nested["StackId"], TemplateStage="Original")

    # boto3 parses a JSON body
    assert template["TemplateBody"] == templates_of(built.targets["distribution/dev"])["edge"]


def test_stand_ins_are_visible_in_their_services(distribution):
    account, _, stack = distribution
    functions = account.nested(stack["StackId"], "FunctionsStack")
    secret = account.output(functions["StackId"], "SigningKeySecretArn")
    secrets = account.client("secretsmanager")

    secrets.put_secret_value(SecretId=secret, SecretString="-----BEGIN PRIVATE KEY-----")

    assert secrets.describe_secret(SecretId=secret)["ARN"] == secret
    assert "OnlyTheLicenseApiReads" in secrets.get_resource_policy(SecretId=secret)["ResourcePolicy"]
    monitoring = account.nested(stack["StackId"], "MonitoringStack")
    alarms = {r["PhysicalResourceId"] for r in account.resources(monitoring["StackId"])
              if r["ResourceType"] == "AWS::CloudWatch::Alarm"}
    described = account.client("cloudwatch").describe_alarms()["MetricAlarms"]
    assert {a["AlarmName"] for a in described} == alarms


def test_the_same_template_and_parameters_make_a_failed_change_set(distribution, built, signing_key):
    account, _, stack = distribution

    change_set = account.create_change_set(stack["StackName"], built.targets["distribution/dev"],
                                           {"SigningPublicKey": signing_key}, "UPDATE")

    description = account.wait_for_change_set(change_set)
    assert (description["Status"], description["ExecutionStatus"]) == ("FAILED", "UNAVAILABLE")
    assert description["StatusReason"] == NO_CHANGES
    with pytest.raises(ClientError, match="InvalidChangeSetStatus"):
        account.cloudformation.execute_change_set(ChangeSetName=change_set)


def test_stack_policy_round_trips(distribution):
    account, _, stack = distribution
    policy = json.dumps({"Statement": [{"Effect": "Allow", "Action": "Update:*", "Principal": "*",
                                        "Resource": "*"}]})

    account.cloudformation.set_stack_policy(StackName=stack["StackName"], StackPolicyBody=policy)

    assert account.cloudformation.get_stack_policy(StackName=stack["StackName"])["StackPolicyBody"] == policy


def test_deleting_a_change_set_deletes_its_nested_change_sets(aws, built, signing_key):
    account, change_set = distribution_change_set(aws, built, signing_key)
    tree = account.change_set_tree(change_set)

    account.cloudformation.delete_change_set(ChangeSetName=change_set)

    for _, description in tree:
        with pytest.raises(ClientError, match="ChangeSetNotFound"):
            account.cloudformation.describe_change_set(ChangeSetName=description["ChangeSetId"])


def test_an_in_place_update_shows_exactly_that_change_and_keeps_every_resource(
        aws, built, signing_key, tmp_path):
    account, stack, before, change_set, tree = update_change_set(
        aws, built, signing_key, tmp_path, protect_tables)

    assert static_changes(tree) == {
        ((), "DatabaseStack", "TemplateURL", "False"),
        (("DatabaseStack",), "LicensesTable", "DeletionProtectionEnabled", "False"),
        (("DatabaseStack",), "AnalyticsTable", "DeletionProtectionEnabled", "False"),
    }
    table = change_of(tree, ("DatabaseStack",), "LicensesTable")
    assert (table["PhysicalResourceId"], table["Scope"]) == ("tap-distribution-dev-licenses", ["Properties"])
    assert table["Details"] == [{"Target": {"Attribute": "Properties", "Name": "DeletionProtectionEnabled",
                                            "RequiresRecreation": "Never"},
                                 "Evaluation": "Static", "ChangeSource": "DirectModification"}]

    assert account.execute(change_set)["StackStatus"] == "UPDATE_COMPLETE"

    assert account.physical_ids(stack["StackId"]) == before
    database = account.nested(stack["StackId"], "DatabaseStack")
    assert database["StackStatus"] == "UPDATE_COMPLETE"
    table_events = [e["ResourceStatus"] for e in account.events(database["StackId"])
                    if e["LogicalResourceId"] == "LicensesTable"]
    assert table_events[:2] == ["UPDATE_COMPLETE", "UPDATE_IN_PROGRESS"]
    executed = account.cloudformation.describe_change_set(ChangeSetName=change_set)
    assert executed["ExecutionStatus"] == "EXECUTE_COMPLETE"


def test_changing_a_create_only_property_replaces_and_retains_the_old_table(
        aws, built, signing_key, tmp_path):
    account, stack, before, change_set, tree = update_change_set(
        aws, built, signing_key, tmp_path, rename_licenses_table)

    table = change_of(tree, ("DatabaseStack",), "LicensesTable")
    assert (table["Action"], table["Replacement"], table["PolicyAction"]) == (
        "Modify", "True", "ReplaceAndRetain")
    assert table["Details"] == [{"Target": {"Attribute": "Properties", "Name": "TableName",
                                            "RequiresRecreation": "Always"},
                                 "Evaluation": "Static", "ChangeSource": "DirectModification"}]
    # The new name reaches the functions through a sibling's output: unknown until
    # applied, so the change is dynamic and names the parameter that carries it.
    api = change_of(tree, ("FunctionsStack",), "LicenseApi")
    assert {"Target": {"Attribute": "Properties", "Name": "Environment", "RequiresRecreation": "Never"},
            "Evaluation": "Dynamic", "ChangeSource": "ParameterReference",
            "CausingEntity": "LicensesTableName"} in api["Details"]
    assert any(c["ResourceChange"]["Replacement"] == "Conditional"
               for path, description in tree if path for c in description["Changes"])

    assert account.execute(change_set)["StackStatus"] == "UPDATE_COMPLETE"

    after = account.physical_ids(stack["StackId"])
    database = "tap-distribution-dev-DatabaseStack"
    assert after[(database, "LicensesTable")] == "tap-distribution-dev-licences"
    assert after[(database, "AnalyticsTable")] == before[(database, "AnalyticsTable")]
    tables = account.client("dynamodb").list_tables()["TableNames"]
    assert {"tap-distribution-dev-licenses", "tap-distribution-dev-licences"} <= set(tables)


def test_a_resource_that_fails_to_create_rolls_the_stack_back(aws, built, signing_key):
    account = Account(aws.url)
    account.bootstrap(built)
    target = built.targets["distribution/dev"]
    account.upload(target, functions=False)  # the function code never reached the bucket

    stack = account.deploy("tap-distribution-dev", target, {"SigningPublicKey": signing_key})

    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    root_events = account.events(stack["StackId"])
    (failed,) = [e for e in root_events if e["ResourceStatus"] == "CREATE_FAILED"]
    assert re.fullmatch(r"Embedded stack arn:aws:cloudformation:\S+ was not successfully created: "
                        r"The following resource\(s\) failed to create: \[\w+\]\. ",
                        failed["ResourceStatusReason"])
    nested_events = account.events(failed["PhysicalResourceId"])
    (function,) = [e for e in nested_events if e["ResourceStatus"] == "CREATE_FAILED"]
    assert function["ResourceType"] == "AWS::Lambda::Function"
    assert "NoSuchKey" in function["ResourceStatusReason"]
    nested = account.resources(failed["PhysicalResourceId"])
    (rolled_back,) = [r for r in nested if r["LogicalResourceId"] == function["LogicalResourceId"]]
    assert rolled_back["ResourceStatus"] == "DELETE_COMPLETE"
    assert root_events[0]["ResourceStatus"] == "ROLLBACK_COMPLETE"
    assert any(e["ResourceStatus"] == "ROLLBACK_IN_PROGRESS"
               and "failed to create" in e["ResourceStatusReason"] for e in root_events)

    account.cloudformation.delete_stack(StackName=stack["StackName"])

    assert account.wait_for_stack(stack["StackId"])["StackStatus"] == "DELETE_COMPLETE"


def test_a_resource_that_fails_to_update_rolls_the_update_back(aws, built, signing_key, tmp_path):
    account, stack = deployed_distribution(aws, built, signing_key)
    before = account.physical_ids(stack["StackId"])
    target = modified_target(tmp_path, "distribution", "dev", rename_licenses_table)
    account.upload(target, functions=False)  # the edge function's new code is missing

    updated = account.deploy(stack["StackName"], target, {"SigningPublicKey": signing_key}, "UPDATE")

    assert updated["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    (failed,) = [e for e in account.events(stack["StackId"]) if e["ResourceStatus"] == "UPDATE_FAILED"]
    assert failed["ResourceStatusReason"].startswith(
        f"Embedded stack {failed['PhysicalResourceId']} was not successfully updated")
    assert account.physical_ids(stack["StackId"]) == before
    assert account.statuses(stack["StackId"]) <= {"CREATE_COMPLETE", "UPDATE_COMPLETE"}
    assert "tap-distribution-dev-licences" not in account.client("dynamodb").list_tables()["TableNames"]
    database = account.nested(stack["StackId"], "DatabaseStack")
    assert database["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert account.output(database["StackId"], "LicensesTableName") == "tap-distribution-dev-licenses"


def test_a_stack_policy_stops_a_replacement_it_denies(aws, built, signing_key, tmp_path):
    account, stack = deployed_distribution(aws, built, signing_key)
    database = account.nested(stack["StackId"], "DatabaseStack")
    policy = {"Statement": [
        {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": ["Update:Replace", "Update:Delete"], "Principal": "*",
         "Resource": ["LogicalResourceId/LicensesTable"]},
    ]}
    account.cloudformation.set_stack_policy(StackName=database["StackId"],
                                            StackPolicyBody=json.dumps(policy))
    target = modified_target(tmp_path, "distribution", "dev", rename_licenses_table)
    account.upload(target)

    updated = account.deploy(stack["StackName"], target, {"SigningPublicKey": signing_key}, "UPDATE")

    assert updated["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    (denied,) = [e for e in account.events(database["StackId"]) if e["ResourceStatus"] == "UPDATE_FAILED"]
    assert denied["LogicalResourceId"] == "LicensesTable"
    assert denied["ResourceStatusReason"] == (
        "Action denied by stack policy: Statement [#2] does not allow [Update:Replace] for resource "
        "[LogicalResourceId/LicensesTable]")
    assert account.output(database["StackId"], "LicensesTableName") == "tap-distribution-dev-licenses"


def test_deleting_the_root_deletes_nested_stacks_and_keeps_retained_resources(aws, built, signing_key):
    account, stack = deployed_distribution(aws, built, signing_key)
    nested = [s["StackId"] for s in account.stacks_of(stack["StackId"]) if s["StackId"] != stack["StackId"]]
    cloudformation, name = account.cloudformation, stack["StackName"]
    cloudformation.update_termination_protection(StackName=name, EnableTerminationProtection=True)
    with pytest.raises(ClientError, match="cannot be deleted while TerminationProtection is enabled"):
        cloudformation.delete_stack(StackName=name)
    cloudformation.update_termination_protection(StackName=name, EnableTerminationProtection=False)

    cloudformation.delete_stack(StackName=stack["StackName"])

    assert account.wait_for_stack(stack["StackId"])["StackStatus"] == "DELETE_COMPLETE"
    assert {account.wait_for_stack(s)["StackStatus"] for s in nested} == {"DELETE_COMPLETE"}
    assert "tap-distribution-dev-licenses" in account.client("dynamodb").list_tables()["TableNames"]
    (database,) = [s for s in nested if "-DatabaseStack-" in s]
    statuses = {r["LogicalResourceId"]: r["ResourceStatus"] for r in account.resources(database)}
    assert statuses["LicensesTable"] == "DELETE_SKIPPED"
    with pytest.raises(ClientError, match="does not exist"):
        cloudformation.describe_stacks(StackName=stack["StackName"])


# --- retained resources: rollback, delete, and adopting them again -------------------


def table_resource(name: str, policy: str) -> dict:
    return {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": policy, "UpdateReplacePolicy": policy,
            "Properties": {"TableName": name, "BillingMode": "PAY_PER_REQUEST",
                           "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                           "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}}


def tables_template(*, broken: bool) -> str:
    """A retained table, one retained except on create, and (when `broken`) a function
    created after them whose code is not in S3, so the create fails and rolls back."""
    resources = {"Kept": table_resource("kept", "Retain"),
                 "Scratch": table_resource("scratch", "RetainExceptOnCreate")}
    if broken:
        resources["Broken"] = {
            "Type": "AWS::Lambda::Function", "DependsOn": ["Kept", "Scratch"],
            "Properties": {"Runtime": "python3.12", "Handler": "index.handler",
                           "Role": "arn:aws:iam::123456789012:role/none",
                           "Code": {"S3Bucket": "no-such-bucket", "S3Key": "missing.zip"}}}
    return json.dumps({"Resources": resources})


def create_tables(account: Account, *, broken: bool, import_existing: bool = False) -> tuple[dict, dict]:
    """The change set (described) and the stack after executing it."""
    change_set = account.cloudformation.create_change_set(
        StackName="tables", ChangeSetName=f"c{time.monotonic_ns()}", ChangeSetType="CREATE",
        TemplateBody=tables_template(broken=broken), ImportExistingResources=import_existing)["Id"]
    description = account.wait_for_change_set(change_set)
    assert description["Status"] == "CREATE_COMPLETE", description
    return description, account.execute(change_set)


def delete_stack(account: Account, stack: dict) -> None:
    account.cloudformation.delete_stack(StackName=stack["StackId"])
    assert account.wait_for_stack(stack["StackId"])["StackStatus"] == "DELETE_COMPLETE"


def test_a_create_that_rolls_back_keeps_what_deletion_policy_retain_keeps(aws):
    account = Account(aws.url)

    _, stack = create_tables(account, broken=True)

    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    statuses = {r["LogicalResourceId"]: r["ResourceStatus"] for r in account.resources(stack["StackId"])}
    assert statuses == {"Kept": "DELETE_SKIPPED", "Scratch": "DELETE_COMPLETE", "Broken": "DELETE_COMPLETE"}
    assert account.client("dynamodb").list_tables()["TableNames"] == ["kept"]


def test_a_retained_table_is_added_again_only_when_the_change_set_imports_it(aws):
    account = Account(aws.url)
    _, failed = create_tables(account, broken=True)
    delete_stack(account, failed)
    dynamodb = account.client("dynamodb")
    dynamodb.put_item(TableName="kept", Item={"pk": {"S": "licence-1"}})

    plain, refused = create_tables(account, broken=False)

    assert {c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"]["Action"]
            for c in plain["Changes"]} == {"Kept": "Add", "Scratch": "Add"}
    assert refused["StackStatus"] == "ROLLBACK_COMPLETE"
    (failed,) = [e for e in account.events(refused["StackId"]) if e["ResourceStatus"] == "CREATE_FAILED"]
    assert failed["LogicalResourceId"] == "Kept"
    delete_stack(account, refused)

    adopting, created = create_tables(account, broken=False, import_existing=True)

    assert adopting["ImportExistingResources"] is True
    changes = {c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"] for c in adopting["Changes"]}
    assert changes["Kept"]["Action"] == "Import" and changes["Kept"]["PhysicalResourceId"] == "kept"
    assert changes["Scratch"]["Action"] == "Add"  # the rollback deleted it, so it is made anew
    assert created["StackStatus"] == "CREATE_COMPLETE"
    kept = [e["ResourceStatus"] for e in account.events(created["StackId"]) if e["LogicalResourceId"] == "Kept"]
    assert kept == ["IMPORT_COMPLETE", "IMPORT_IN_PROGRESS"]
    assert dynamodb.get_item(TableName="kept", Key={"pk": {"S": "licence-1"}})["Item"] == {"pk": {"S": "licence-1"}}

    # a table another stack holds is never taken from it
    second = account.cloudformation.create_change_set(
        StackName="other", ChangeSetName="c", ChangeSetType="CREATE", ImportExistingResources=True,
        TemplateBody=tables_template(broken=False))["Id"]
    actions = {c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"]["Action"]
               for c in account.wait_for_change_set(second)["Changes"]}
    assert actions == {"Kept": "Add", "Scratch": "Add"}


# --- the microservices platform -------------------------------------------------------


@pytest.fixture(scope="module")
def microservices(aws, built):
    account = Account(aws.url)
    account.bootstrap(built)
    target = built.targets["microservices/dev"]
    account.upload(target)
    parameters: dict[str, str] = {}
    stack = account.deploy("tap-microservices-dev", target, parameters)
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack
    return account, stack, parameters


def add_billing_service(text: str) -> str:
    return text + """
[[services]]
name = "billing"
repository = "example-org/billing"
branch = "main"
port = 8080
cpu = 256
memory = 512
desired_count = 1
min_capacity = 1
max_capacity = 2
health_check_path = "/health"
path_pattern = "/billing/*"
environment = { LOG_LEVEL = "debug" }
secrets = { DATABASE_CREDENTIALS = "database" }
capacity = "FARGATE_SPOT"
"""


def remove_catalog_service(text: str) -> str:
    services = text.split("[[services]]")
    return "[[services]]".join(s for s in services if 'name = "catalog"' not in s)


def test_microservices_outputs_point_at_real_resources(microservices):
    account, stack, _ = microservices
    database = account.nested(stack["StackId"], "DatabaseStack")
    cluster = account.nested(stack["StackId"], "ClusterStack")

    secret = account.output(database["StackId"], "DatabaseSecretArn")

    assert account.client("secretsmanager").describe_secret(SecretId=secret)["ARN"] == secret
    assert re.fullmatch(r"app/[\w-]{1,32}/[0-9a-f]{16}",
                        account.output(cluster["StackId"], "LoadBalancerFullNames"))
    instance = account.output(database["StackId"], "DatabaseInstanceId")
    assert len(instance) <= 63 and instance == instance.lower()
    providers = account.client("iam").list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert [p["Arn"] for p in providers] == [
        f"arn:aws:iam::{account.id}:oidc-provider/token.actions.githubusercontent.com"]
    repositories = account.client("ecr").describe_repositories()["repositories"]
    assert all(r["repositoryName"] == r["repositoryName"].lower() for r in repositories)


def test_a_new_service_only_adds_its_stack(microservices, tmp_path):
    account, stack, parameters = microservices
    before = account.physical_ids(stack["StackId"])
    target = modified_target(tmp_path, "microservices", "dev", add_billing_service)
    account.upload(target)

    change_set = account.create_change_set(stack["StackName"], target, parameters, "UPDATE")
    tree = account.change_set_tree(change_set)

    (root_change,) = [c["ResourceChange"] for c in tree[0][1]["Changes"]]
    assert (root_change["Action"], root_change["ResourceType"]) == ("Add", "AWS::CloudFormation::Stack")
    assert {c["ResourceChange"]["Action"] for _, d in tree[1:] for c in d["Changes"]} == {"Add"}
    assert account.execute(change_set)["StackStatus"] == "UPDATE_COMPLETE"
    after = account.physical_ids(stack["StackId"])
    assert {key: after[key] for key in before} == before
    assert any(logical_id == "BillingService" for _, logical_id in after)


def test_removing_a_service_deletes_its_stack_and_frees_its_listener_rule(aws, built, tmp_path):
    account = Account(aws.url)
    account.bootstrap(built)
    target = built.targets["microservices/dev"]
    account.upload(target)
    parameters: dict[str, str] = {}
    stack = account.deploy("tap-microservices-dev", target, parameters)
    without = modified_target(tmp_path, "microservices", "dev", remove_catalog_service)
    account.upload(without)

    removed = account.deploy(stack["StackName"], without, parameters, "UPDATE")
    # Putting it back reuses the rule's priority: the old rule must be gone.
    restored = account.deploy(stack["StackName"], target, parameters, "UPDATE")

    assert (removed["StackStatus"], restored["StackStatus"]) == ("UPDATE_COMPLETE", "UPDATE_COMPLETE")
    elbv2 = account.client("elbv2")
    (balancer,) = elbv2.describe_load_balancers()["LoadBalancers"]
    (listener,) = elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    rules = elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
    assert len(rules) == 3  # orders, catalog and the default


def test_microservices_prod_deploys_all_its_stacks(aws, built):
    account = Account(aws.url)
    account.bootstrap(built)
    target = built.targets["microservices/prod"]
    account.upload(target)

    # prod's load balancers listen on HTTPS with a certificate of the account, a root parameter
    certificate = account.client("acm").request_certificate(
        DomainName="origin.services.example.com", ValidationMethod="DNS")["CertificateArn"]
    stack = account.deploy("tap-microservices-prod", target, {"LoadBalancerCertificateArn": certificate})

    failed = [(e["LogicalResourceId"], e.get("ResourceStatusReason")) for s in account.stacks_of(stack["StackId"])
              for e in account.events(s["StackId"]) if e["ResourceStatus"].endswith("FAILED")]
    assert stack["StackStatus"] == "CREATE_COMPLETE", failed
    stacks = account.stacks_of(stack["StackId"])
    assert len(stacks) == len(target.emission.templates) == 22
    assert {s["StackStatus"] for s in stacks} == {"CREATE_COMPLETE"}
