"""The AWS session: throttling is retried by botocore's adaptive retry mode, and missing
or expired credentials end the command with one line and exit code 2."""

from __future__ import annotations

import subprocess
import sys

from tap.deploy.aws import RETRIES, connect
from tap.paths import REPO
from tests.deploy.fake_endpoint import error_body, scripted_endpoint

DESCRIBE_STACKS = b"""<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">
<DescribeStacksResult><Stacks><member>
<StackId>arn:aws:cloudformation:us-east-1:123456789012:stack/tap-distribution-dev/0a1b2c3d</StackId>
<StackName>tap-distribution-dev</StackName><CreationTime>2026-12-02T06:00:00Z</CreationTime>
<StackStatus>UPDATE_COMPLETE</StackStatus></member></Stacks></DescribeStacksResult>
<ResponseMetadata><RequestId>8d1c1b3a-0000-4000-8000-000000000001</RequestId></ResponseMetadata>
</DescribeStacksResponse>"""


def deploy_sh(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(REPO / "deploy.sh"), *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_retries_are_botocores_adaptive_mode():
    assert RETRIES.retries == {"mode": "adaptive", "max_attempts": 10}


def test_throttled_calls_are_retried_until_they_succeed():
    throttled = (400, error_body("Throttling", "Rate exceeded"))
    with scripted_endpoint([throttled, throttled, (200, DESCRIBE_STACKS)]) as (url, actions):
        cloudformation = connect("us-east-1", endpoint_url=url).client("cloudformation")
        stacks = cloudformation.describe_stacks(StackName="tap-distribution-dev")["Stacks"]
    assert stacks[0]["StackStatus"] == "UPDATE_COMPLETE"
    assert actions == ["DescribeStacks"] * 3


def test_expired_credentials_are_one_line_and_exit_code_2():
    expired = (403, error_body("ExpiredToken", "The security token included in the request is expired"))
    with scripted_endpoint([expired]) as (url, actions):
        result = deploy_sh("--endpoint-url", url, "status", "distribution", "dev")
    assert result.returncode == 2
    assert result.stderr == ("error: AWS credentials are expired or invalid (ExpiredToken: The security "
                             "token included in the request is expired); log in again\n")
    assert actions == ["DescribeStacks"]


def test_missing_credentials_are_one_line_and_exit_code_2(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "VIRTUAL_ENV": sys.prefix,
        "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    result = deploy_sh("status", "distribution", "dev", env=env)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: no AWS credentials found")
    assert result.stderr.count("\n") == 1
