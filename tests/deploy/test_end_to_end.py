"""The whole deploy flow through ./deploy.sh against the local emulator, for both
systems: bootstrap, a first deploy, an update that modifies, a run with nothing to do;
and the refusals a person meets on the way (a pinned image on a first deploy, a
replaced table, a typed name for destroy).

Each flow works in its own copy of the checkout (edited and rebuilt as a person
would) against its own `./deploy.sh local-server`; `--local` is tested on the real
checkout, whose templates it only reads.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tap.paths import REPO

COPIED = ("src", "functions", "config", "templates", "docs", "build.py", "deploy.sh", "requirements.txt")
ENV = {**os.environ, "VIRTUAL_ENV": sys.prefix}


def copy_checkout(target: Path) -> Path:
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / name)
    return target


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Checkout:
    """A copy of the repository with its own emulator, driven like a person would."""

    def __init__(self, root: Path, url: str):
        self.root = root
        self.url = url

    def deploy_sh(self, *args: str, answer: str | None = None) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [str(self.root / "deploy.sh"), "--endpoint-url", self.url, *args], input=answer,
            capture_output=True, text=True, env=ENV, timeout=600,
        )
        print(result.stdout, result.stderr, sep="\n")  # shown when a test fails
        return result

    def build(self, system: str, env: str) -> None:
        subprocess.run([sys.executable, str(self.root / "build.py"), "--system", system, "--env", env,
                        "--no-lint"], check=True, capture_output=True, env=ENV, timeout=300)

    def edit_config(self, system: str, env: str, old: str, new: str) -> None:
        path = self.root / "config" / system / f"{env}.toml"
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new))

    def client(self, service: str):
        return boto3.client(service, endpoint_url=self.url, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture
def checkout(tmp_path):
    root = copy_checkout(tmp_path / "checkout")
    port = free_port()
    server = subprocess.Popen([str(root / "deploy.sh"), "local-server", "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert server.poll() is None and time.monotonic() < deadline, server.stdout.read()
            time.sleep(0.2)
    yield Checkout(root, f"http://127.0.0.1:{port}")
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture(scope="module")
def public_key(tmp_path_factory) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path_factory.mktemp("keys") / "public.pem"
    path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo))
    return path


def review_rows(stdout: str) -> list[list[str]]:
    """The rows of the review table: action, address, type, replace, ..."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:2] == ["action", "resource"])
    rows = []
    for line in lines[start + 1:]:
        if not line.strip():
            break
        rows.append(line.split())
    return rows


def test_distribution_bootstrap_deploy_update_and_no_change(checkout, public_key):
    bootstrap = checkout.deploy_sh("bootstrap", "--yes")
    assert bootstrap.returncode == 0
    assert "CREATE_COMPLETE" in bootstrap.stdout and "ArtifactBucketName" in bootstrap.stdout

    first = checkout.deploy_sh("deploy", "distribution", "dev", "--yes",
                               "--parameter", f"SigningPublicKey=file://{public_key}")
    assert first.returncode == 0
    rows = review_rows(first.stdout)
    assert {row[0] for row in rows} == {"Add"} and ["Add", "DatabaseStack/LicensesTable",
                                                    "AWS::DynamoDB::Table", "-"] in rows
    assert re.search(r"\d\d:\d\d +\d+/\d+  CREATE_COMPLETE +DatabaseStack/LicensesTable", first.stdout)
    assert "CREATE_COMPLETE in " in first.stdout and "termination protection on" in first.stdout
    assert re.search(r"\n  ApiUrl +https://", first.stdout)

    cloudformation = checkout.client("cloudformation")
    root = cloudformation.describe_stacks(StackName="tap-distribution-dev")["Stacks"][0]
    assert root["EnableTerminationProtection"] is True
    database = cloudformation.describe_stack_resource(
        StackName="tap-distribution-dev", LogicalResourceId="DatabaseStack")["StackResourceDetail"]
    policy = json.loads(cloudformation.get_stack_policy(
        StackName=database["PhysicalResourceId"])["StackPolicyBody"])
    assert policy["Statement"][1]["Resource"] == ["LogicalResourceId/AnalyticsTable",
                                                  "LogicalResourceId/LicensesTable"]
    manifest = json.loads((checkout.root / "templates/distribution/dev/manifest.json").read_text())
    keys = {obj["Key"] for obj in checkout.client("s3").list_objects_v2(
        Bucket="tap-assets-123456789012-us-east-1")["Contents"]}
    assert {artifact["s3_key"] for artifact in manifest["artifacts"]} <= keys

    # An update that modifies: more memory for the regional functions. The signing key is
    # not given again: the deployed value is kept.
    checkout.edit_config("distribution", "dev", "memory_mb = 256", "memory_mb = 512")
    checkout.build("distribution", "dev")
    update = checkout.deploy_sh("deploy", "distribution", "dev", "--yes")
    assert update.returncode == 0
    assert "parameter   SigningPublicKey (kept from the deployed stack)" in update.stdout
    assert "2 sent" in update.stdout  # the root and the functions template; zips are unchanged
    changed = [row[:5] for row in review_rows(update.stdout)]
    assert changed == [["Modify", "FunctionsStack/LicenseApi", "AWS::Lambda::Function", "False", "MemorySize"],
                       ["Modify", "FunctionsStack/UsageTracking", "AWS::Lambda::Function", "False", "MemorySize"]]
    # The api and monitoring stacks read the functions' ARNs and names, which stay.
    assert re.search(r"and \d+ more that CloudFormation lists because their values come from other "
                     r"stacks' outputs, which this update leaves as they are \(ApiStack \d+, MonitoringStack \d+;",
                     update.stdout)
    assert "UPDATE_COMPLETE in " in update.stdout

    nothing = checkout.deploy_sh("deploy", "distribution", "dev", "--yes")
    assert nothing.returncode == 0
    assert "no changes: stack tap-distribution-dev already matches templates/" in nothing.stdout
    assert "0 sent" in nothing.stdout

    status = checkout.deploy_sh("status", "distribution", "dev")
    assert status.returncode == 0
    assert "tap-distribution-dev in account 123456789012, us-east-1: UPDATE_COMPLETE, termination " \
        "protection on" in status.stdout
    assert re.search(r"\n  FunctionsStack +UPDATE_COMPLETE ", status.stdout)
    assert len(re.findall(r"\n  \w+Stack +\w+_COMPLETE ", status.stdout)) == 7
    events = checkout.deploy_sh("events", "distribution", "dev", "--limit", "3")
    assert events.stdout.splitlines()[-1].split()[2:4] == ["UPDATE_COMPLETE", "tap-distribution-dev"]
    assert len(events.stdout.splitlines()) == 3
    outputs = checkout.deploy_sh("outputs", "distribution", "dev")
    assert re.search(r"\n  LicensesTableName +tap-distribution-dev-licenses\n", outputs.stdout)


def test_distribution_replacing_the_licenses_table_is_gated(checkout, public_key):
    assert checkout.deploy_sh("bootstrap", "--yes").returncode == 0
    assert checkout.deploy_sh("deploy", "distribution", "dev", "--yes",
                              "--parameter", f"SigningPublicKey=file://{public_key}").returncode == 0
    checkout.edit_config("distribution", "dev", 'licenses_table_name = "tap-distribution-dev-licenses"',
                         'licenses_table_name = "tap-distribution-dev-licences"')
    checkout.build("distribution", "dev")

    refused = checkout.deploy_sh("deploy", "distribution", "dev", "--yes")
    assert refused.returncode == 3
    assert ("DatabaseStack/LicensesTable (AWS::DynamoDB::Table): would be replaced: the stack moves to a "
            "new, empty resource; the old one stays in the account, outside the stack") in refused.stderr
    assert "--allow-replace DatabaseStack/LicensesTable" in refused.stderr

    reviewed = checkout.deploy_sh("deploy", "distribution", "dev", "--no-execute",
                                  "--allow-replace", "DatabaseStack/LicensesTable")
    assert reviewed.returncode == 0
    arn = re.search(r"\./deploy\.sh execute (\S+)", reviewed.stdout).group(1)
    saved = checkout.root / ".cache/reviews/tap-distribution-dev" / f"{arn.split('/')[1]}.md"
    assert "| Modify | DatabaseStack/LicensesTable | AWS::DynamoDB::Table | True | TableName | template |" in \
        saved.read_text()
    executed = checkout.deploy_sh("execute", arn)
    assert executed.returncode == 0
    assert "UPDATE_COMPLETE" in executed.stdout
    again = checkout.deploy_sh("execute", arn)
    assert again.returncode == 2 and "not AVAILABLE" in again.stderr

    mistyped = checkout.deploy_sh("destroy", "distribution", "dev", answer="tap-distribution\n")
    assert mistyped.returncode == 2
    assert "typed 'tap-distribution', not 'tap-distribution-dev': nothing was deleted" in mistyped.stderr
    destroy = checkout.deploy_sh("destroy", "distribution", "dev", answer="tap-distribution-dev\n")
    assert destroy.returncode == 0
    assert "tap-distribution-dev deleted." in destroy.stdout
    assert re.search(r"DatabaseStack/LicensesTable \(AWS::DynamoDB::Table, Retain\): tap-distribution-dev-licences",
                     destroy.stdout)
    tables = checkout.client("dynamodb").list_tables()["TableNames"]
    assert {"tap-distribution-dev-licenses", "tap-distribution-dev-licences"} <= set(tables)


def test_distribution_first_deploy_can_be_retried_and_keeps_the_licenses(checkout, public_key):
    """The licences table has a fixed name (the edge function is packaged with it) and
    DeletionPolicy Retain: it outlives a first create that rolls back and a deleted
    stack. The next deploy imports it, data and all, instead of failing on its name."""
    assert checkout.deploy_sh("bootstrap", "--yes").returncode == 0
    signing = ("--parameter", f"SigningPublicKey=file://{public_key}")
    reviewed = checkout.deploy_sh("deploy", "distribution", "dev", "--no-execute", *signing)
    assert reviewed.returncode == 0
    arn = re.search(r"\./deploy\.sh execute (\S+)", reviewed.stdout).group(1)
    # The licence API's code goes missing before the change set runs: the create fails
    # in the functions stack, after the database stack made the table.
    manifest = json.loads((checkout.root / "templates/distribution/dev/manifest.json").read_text())
    (code,) = [a["s3_key"] for a in manifest["artifacts"] if a.get("source") == "functions/license_api"]
    checkout.client("s3").delete_object(Bucket="tap-assets-123456789012-us-east-1", Key=code)

    failed = checkout.deploy_sh("execute", arn)

    assert failed.returncode != 0 and "ROLLBACK_COMPLETE" in failed.stdout + failed.stderr
    table, license = "tap-distribution-dev-licenses", {"keyHash": {"S": "sha256-of-a-key-sold-before"}}
    dynamodb = checkout.client("dynamodb")
    dynamodb.put_item(TableName=table, Item=license)

    retried = checkout.deploy_sh("deploy", "distribution", "dev", "--yes", "--recreate", *signing)

    assert retried.returncode == 0
    assert (f"adopt       DatabaseStack/LicensesTable: AWS::DynamoDB::Table {table} exists outside any "
            "stack") in retried.stdout
    rows = review_rows(retried.stdout)
    assert ["Import", "DatabaseStack/LicensesTable", "AWS::DynamoDB::Table", "-"] in rows
    assert {row[0] for row in rows} == {"Add", "Import"}
    assert f"  DatabaseStack/LicensesTable (AWS::DynamoDB::Table): {table}" in retried.stdout
    assert re.search(r"IMPORT_COMPLETE +DatabaseStack/LicensesTable", retried.stdout)
    assert "CREATE_COMPLETE in " in retried.stdout
    assert dynamodb.get_item(TableName=table, Key=license)["Item"] == license

    destroyed = checkout.deploy_sh("destroy", "distribution", "dev", answer="tap-distribution-dev\n")
    assert destroyed.returncode == 0
    assert table in dynamodb.list_tables()["TableNames"]

    again = checkout.deploy_sh("deploy", "distribution", "dev", "--yes", *signing)

    assert again.returncode == 0
    assert ["Import", "DatabaseStack/LicensesTable", "AWS::DynamoDB::Table", "-"] in review_rows(again.stdout)
    assert dynamodb.get_item(TableName=table, Key=license)["Item"] == license
    database = checkout.client("cloudformation").describe_stack_resource(
        StackName="tap-distribution-dev", LogicalResourceId="DatabaseStack")["StackResourceDetail"]
    imported = checkout.client("cloudformation").describe_stack_resource(
        StackName=database["PhysicalResourceId"], LogicalResourceId="LicensesTable")["StackResourceDetail"]
    assert (imported["PhysicalResourceId"], imported["ResourceStatus"]) == (table, "IMPORT_COMPLETE")


def deployed_resource(checkout: Checkout, logical_id: str) -> str:
    """The physical id of a resource of one of the root's nested stacks."""
    cloudformation = checkout.client("cloudformation")
    for shard in cloudformation.describe_stack_resources(StackName="tap-microservices-dev")["StackResources"]:
        if shard["ResourceType"] != "AWS::CloudFormation::Stack":
            continue
        resources = cloudformation.describe_stack_resources(StackName=shard["PhysicalResourceId"])["StackResources"]
        for resource in resources:
            if resource["LogicalResourceId"] == logical_id:
                return resource["PhysicalResourceId"]
    raise AssertionError(f"no {logical_id} deployed")


def deployed_container(checkout: Checkout, prefix: str) -> dict:
    """The container of the service's task definition as the emulated ECS holds it."""
    definition = checkout.client("ecs").describe_task_definition(
        taskDefinition=deployed_resource(checkout, f"{prefix}TaskDefinition"))["taskDefinition"]
    (container,) = definition["containerDefinitions"]
    return container


def deployed_service(checkout: Checkout, prefix: str) -> dict:
    arn = deployed_resource(checkout, f"{prefix}Service")
    (service,) = checkout.client("ecs").describe_services(
        cluster=arn.split(":service/")[1].split("/")[0], services=[arn])["services"]
    return service


def pipeline_deploys(checkout: Checkout, prefix: str, tag: str) -> None:
    """What a service's pipeline does, outside CloudFormation: push `:tag`, register a task
    definition revision running it, and point the service at that revision."""
    repository = deployed_resource(checkout, f"{prefix}Repository")
    checkout.client("ecr").put_image(
        repositoryName=repository, imageTag=tag,
        imageManifest='{"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json", '
                      f'"config": {{"digest": "{tag}"}}, "layers": []}}')
    ecs = checkout.client("ecs")
    service = deployed_service(checkout, prefix)
    current = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    container = dict(current["containerDefinitions"][0], image=current["containerDefinitions"][0]["image"]
                     .rsplit(":", 1)[0] + f":{tag}")
    revision = ecs.register_task_definition(
        family=current["family"], containerDefinitions=[container],
        **{key: current[key] for key in ("cpu", "memory", "networkMode", "requiresCompatibilities",
                                         "executionRoleArn", "taskRoleArn") if key in current},
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster=service["clusterArn"], service=service["serviceArn"], taskDefinition=revision)


def test_microservices_first_deploy_then_a_new_service_then_no_change(checkout):
    assert checkout.deploy_sh("bootstrap", "--yes").returncode == 0
    # The committed config pins orders to an image that its repository, created by this
    # deploy, cannot hold yet: the deploy passes no image, and orders runs no task.
    first = checkout.deploy_sh("deploy", "microservices", "dev", "--yes")
    assert first.returncode == 0, first.stderr
    assert "CREATE_COMPLETE in " in first.stdout
    assert re.search(r"\n  ClusterName +\S+", first.stdout)
    passed = re.findall(r"parameter   (Services\d+ImageTags) \((images: .*)\)", first.stdout)
    assert [source for _, source in passed] == ["images: 1 not pushed yet, no task"] * 2  # orders, catalog
    assert deployed_service(checkout, "Orders")["desiredCount"] == 0
    assert deployed_container(checkout, "Orders")["image"].endswith(":no-image-yet")

    # Its pipeline pushes an image and deploys it outside CloudFormation; the next
    # deploy runs that image (not the config's, which the repository does not hold).
    newer = "aaaabbbbccccddddeeeeffff0000111122223333"
    pipeline_deploys(checkout, "Orders", newer)
    started = checkout.deploy_sh("deploy", "microservices", "dev", "--yes")
    assert started.returncode == 0, started.stderr
    assert re.search(r"parameter   Services\d+ImageTags \(images: 1 running now\)", started.stdout)
    assert deployed_container(checkout, "Orders")["image"].endswith(f":{newer}")
    assert deployed_service(checkout, "Orders")["desiredCount"] == 1

    # The new service reads a secret given by ARN: the template takes it as a root
    # parameter, and the deploy passes the config's value.
    secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:search/api-key-AbCdEf"
    with (checkout.root / "config/microservices/dev.toml").open("a") as config:
        config.write('\n[[services]]\nname = "search"\nrepository = "example-org/search"\nbranch = "main"\n'
                     'port = 8080\ncpu = 256\nmemory = 512\nhealth_check_path = "/health"\n'
                     f'path_pattern = "/search/*"\nsecrets = {{ API_KEY = "{secret}" }}\n')
    checkout.build("microservices", "dev")
    assert secret not in "".join(path.read_text() for path in (checkout.root / "templates/microservices/dev")
                                 .glob("*.template.json"))
    added = checkout.deploy_sh("deploy", "microservices", "dev", "--yes")
    assert added.returncode == 0
    assert "parameter   SearchApiKeySecretArn (config/microservices/dev.toml)" in added.stdout
    rows = review_rows(added.stdout)
    assert {row[0] for row in rows} == {"Add"}
    assert all("Search" in row[1] for row in rows)
    assert "UPDATE_COMPLETE in " in added.stdout
    root = checkout.client("cloudformation").describe_stacks(StackName="tap-microservices-dev")["Stacks"][0]
    assert {"ParameterKey": "SearchApiKeySecretArn", "ParameterValue": secret} in root["Parameters"]
    assert {"name": "API_KEY", "valueFrom": secret} in deployed_container(checkout, "Search")["secrets"]

    # A stateful resource changed in place (a log group's retention) is not gated.
    checkout.edit_config("microservices", "dev", "flow_log_retention_days = 90", "flow_log_retention_days = 30")
    checkout.build("microservices", "dev")
    modified = checkout.deploy_sh("deploy", "microservices", "dev", "--yes")
    assert modified.returncode == 0
    assert [row[:5] for row in review_rows(modified.stdout)] == [
        ["Modify", "NetworkStack/FlowLogGroup", "AWS::Logs::LogGroup", "False", "RetentionInDays"]]
    assert "UPDATE_COMPLETE in " in modified.stdout

    # The pipeline deploys a newer image; a stack update that changes the service keeps it.
    newest = "9999888877776666555544443333222211110000"
    pipeline_deploys(checkout, "Orders", newest)
    checkout.edit_config("microservices", "dev", 'LOG_LEVEL = "debug"', 'LOG_LEVEL = "info"')
    checkout.build("microservices", "dev")
    changed = checkout.deploy_sh("deploy", "microservices", "dev", "--yes")
    assert changed.returncode == 0, changed.stderr
    assert deployed_container(checkout, "Orders")["image"].endswith(f":{newest}")
    assert {"name": "LOG_LEVEL", "value": "info"} in deployed_container(checkout, "Orders")["environment"]

    nothing = checkout.deploy_sh("deploy", "microservices", "dev", "--yes")
    assert nothing.returncode == 0 and "no changes" in nothing.stdout

    # Outputs: the platform's values, then each service's, two nesting levels up.
    listed = checkout.deploy_sh("outputs", "microservices", "dev")
    assert listed.returncode == 0, listed.stderr
    assert re.search(r"\n  DatabaseAddress +\S+", listed.stdout)
    assert re.search(r"\n  CacheAddress +\S+", listed.stdout)
    assert re.search(r"\n  ClusterArn +arn:aws:ecs:", listed.stdout)
    per_service = listed.stdout.split("\nper service\n")[1]
    orders = per_service.split("\n  Orders\n")[1].split("\n  ")[0:4]
    assert [line.split()[0] for line in orders] == ["ServiceName", "RepositoryUri", "DeployRoleArn",
                                                    "PipelineName"]
    assert deployed_resource(checkout, "OrdersRepository") in orders[1]
    assert {"Catalog", "Orders", "Search"} <= set(re.findall(r"^  ([A-Z]\w+)$", per_service, re.MULTILINE))


def test_local_runs_a_whole_deploy_in_a_fresh_emulated_account(public_key):
    result = subprocess.run(
        [str(REPO / "deploy.sh"), "--local", "deploy", "distribution", "dev", "--yes",
         "--parameter", f"SigningPublicKey=file://{public_key}"],
        capture_output=True, text=True, env=ENV, timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("local emulator at http://127.0.0.1:")
    assert "local emulator: tap-bootstrap deployed" in result.stdout
    assert "CREATE_COMPLETE in " in result.stdout
