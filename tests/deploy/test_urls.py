"""`./deploy.sh urls` against the emulator: the templates and zips are uploaded before any
link is printed, and the printed link decodes back to the uploaded root template and the
values a deploy would pass. Each test works in an account of its own."""

from __future__ import annotations

import io
import json
import random
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tap.build import BOOTSTRAP
from tap.deploy import cli, commands, emulator
from tap.deploy.aws import Aws
from tap.deploy.commands import Console, DeployOptions, Workspace
from tap.deploy.emulator import Emulator
from tap.errors import UserError
from tap.paths import TEMPLATES_DIR

REGION = "us-east-1"


@pytest.fixture(scope="module")
def emulator_url():
    with Emulator() as running:
        yield running.url


@pytest.fixture
def aws(emulator_url) -> Aws:
    """A fresh account in the emulator (moto keys its state by the account header)."""
    return emulator.connect_as(emulator_url, REGION, str(random.SystemRandom().randrange(10**11, 10**12)))


@pytest.fixture(scope="module")
def public_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def urls(aws: Aws, tmp_path, system: str, env: str | None, *parameters: str) -> str:
    console = Console(io.StringIO())
    assert commands.urls(aws, console, Workspace(cache_dir=tmp_path, poll_seconds=0.05), system, env,
                         DeployOptions(parameters=parameters)) == 0
    return console.out.getvalue()


def bootstrap(aws: Aws, tmp_path) -> None:
    quiet = Console(io.StringIO())
    assert commands.deploy(aws, quiet, Workspace(cache_dir=tmp_path, poll_seconds=0.05), BOOTSTRAP, None,
                           DeployOptions(yes=True)) == 0


def printed(output: str, label: str) -> str:
    (value,) = re.findall(rf"^  {label} +(\S+)$", output, re.MULTILINE)
    return value


def fragment_fields(link: str) -> dict[str, str]:
    route, _, query = urlsplit(link).fragment.partition("?")
    assert route == "/stacks/create/review"
    return {key: values[0] for key, values in parse_qs(query, strict_parsing=True).items()}


def stored(aws: Aws, template_url: str) -> bytes:
    bucket, key = re.fullmatch(r"https://([^.]+)\.s3\.[a-z0-9-]+\.amazonaws\.com/(.+)", template_url).groups()
    return aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


def test_urls_uploads_the_release_and_links_to_its_root_template(aws, tmp_path, public_key):
    bootstrap(aws, tmp_path)
    output = urls(aws, tmp_path, "distribution", "dev", f"SigningPublicKey={public_key}")

    folder = TEMPLATES_DIR / "distribution" / "dev"
    manifest = json.loads((folder / "manifest.json").read_text())
    bucket = f"tap-assets-{aws.account_id}-{REGION}"
    keys = {item["Key"] for item in aws.client("s3").list_objects_v2(Bucket=bucket)["Contents"]}
    assert {artifact["s3_key"] for artifact in manifest["artifacts"]} <= keys
    template_url = printed(output, "template")
    root_key = next(t["s3_key"] for t in manifest["templates"] if t["role"] == "root")
    assert template_url == f"https://{bucket}.s3.{REGION}.amazonaws.com/{root_key}"
    assert stored(aws, template_url) == (folder / manifest["root"]).read_bytes()

    link = printed(output, "launch")
    assert link.startswith(f"https://{REGION}.console.aws.amazon.com/cloudformation/home?region={REGION}#")
    assert fragment_fields(link) == {"templateURL": template_url, "stackName": "tap-distribution-dev",
                                     "param_SigningPublicKey": public_key}
    assert "tick CAPABILITY_IAM and CAPABILITY_AUTO_EXPAND" in output
    assert "fill in" not in output
    assert "#/stacks?filteringText=tap-distribution-dev&filteringStatus=active&viewNested=true" in output


def test_the_bootstraps_first_deploy_has_no_link_and_says_how(aws, tmp_path):
    output = urls(aws, tmp_path, BOOTSTRAP, None)
    assert "launch" not in output
    assert f"no link yet: a console link needs the template in S3, and this account's bucket for it " \
           f"(tap-assets-{aws.account_id}-{REGION}) is what the bootstrap stack creates" in output
    assert f"  ./deploy.sh bootstrap --region {REGION}" in output
    assert "Upload a template file: templates/bootstrap/bootstrap.template.json, stack name tap-bootstrap, " \
           "tick CAPABILITY_NAMED_IAM" in output


def test_a_stack_that_exists_is_updated_from_the_template_url(aws, tmp_path):
    bootstrap(aws, tmp_path)
    output = urls(aws, tmp_path, BOOTSTRAP, None)
    template_url = printed(output, "template")
    assert stored(aws, template_url) == (TEMPLATES_DIR / "bootstrap" / "bootstrap.template.json").read_bytes()
    assert fragment_fields(printed(output, "launch"))["stackName"] == "tap-bootstrap"
    stack_id = aws.client("cloudformation").describe_stacks(StackName="tap-bootstrap")["Stacks"][0]["StackId"]
    assert "  update      tap-bootstrap exists (CREATE_COMPLETE)" in output
    assert f"#/stacks/stackinfo?stackId={stack_id.replace(':', '%3A').replace('/', '%2F')}\n" in output
    assert "Create change set for current stack > Replace current template > Amazon S3 URL" in output


def test_a_system_without_its_bucket_is_refused_before_any_link(aws, tmp_path, public_key):
    with pytest.raises(UserError, match=r"no artefact bucket .* run `./deploy.sh bootstrap --region us-east-1`"):
        urls(aws, tmp_path, "distribution", "dev", f"SigningPublicKey={public_key}")


def test_deploy_sh_urls_local_prints_a_link(tmp_path, capsys):
    out = io.StringIO()
    assert cli.main(["--local", "urls", "bootstrap"], console=Console(out),
                    workspace=Workspace(cache_dir=tmp_path)) == 0
    assert re.search(r"^  launch +https://us-east-1\.console\.aws\.amazon\.com/", out.getvalue(), re.MULTILINE)
