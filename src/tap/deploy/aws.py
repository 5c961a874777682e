"""One boto3 session per command: region, profile or emulator endpoint, retries, and
AWS errors turned into one line for the person at the terminal."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config

from tap.errors import UserError

# Throttling is retried by botocore itself: adaptive mode adds client-side rate
# limiting on top of exponential backoff, which suits the bursts of Describe calls
# a nested deploy makes.
RETRIES = Config(
    retries={"mode": "adaptive", "max_attempts": 10},
    connect_timeout=10,
    read_timeout=60,
    user_agent_extra="tap-deploy",
)

# Error codes by which AWS says the credentials are missing, expired or wrong.
CREDENTIAL_ERROR_CODES = frozenset({
    "ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException",
    "RequestExpired", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AuthFailure",
    "InvalidToken", "TokenRefreshRequired",
})

# Static keys for an emulator: it accepts any, and real credentials must never reach it.
EMULATOR_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
DEFAULT_REGION = "us-east-1"


class Aws:
    """The clients of one command, all from one session."""

    def __init__(self, session: boto3.Session, endpoint_url: str | None = None):
        self.session = session
        self.endpoint_url = endpoint_url
        self._clients: dict[tuple[str, str], Any] = {}

    @property
    def region(self) -> str:
        return self.session.region_name

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.region)
        if key not in self._clients:
            self._clients[key] = self.session.client(
                service, region_name=key[1], endpoint_url=self.endpoint_url, config=RETRIES
            )
        return self._clients[key]

    @cached_property
    def account_id(self) -> str:
        return self.client("sts").get_caller_identity()["Account"]

    @cached_property
    def partition(self) -> str:
        return self.session.get_partition_for_region(self.region)

    @cached_property
    def url_suffix(self) -> str:
        """`AWS::URLSuffix` of this region: amazonaws.com, amazonaws.com.cn, ..."""
        loader = self.session._session.get_component("data_loader")
        for partition in loader.load_data("endpoints")["partitions"]:
            if partition["partition"] == self.partition:
                return partition["dnsSuffix"]
        return "amazonaws.com"


def connect(region: str | None, profile: str | None = None, endpoint_url: str | None = None) -> Aws:
    """A session for `region` with `profile`'s credentials, or an emulator's."""
    if endpoint_url:
        if profile:
            raise UserError("--profile and an emulator (--local, --endpoint-url) exclude each other")
        session = boto3.Session(region_name=region or DEFAULT_REGION, **EMULATOR_CREDENTIALS)
        return Aws(session, endpoint_url)
    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except botocore.exceptions.ProfileNotFound:
        known = ", ".join(sorted(boto3.Session().available_profiles)) or "none configured"
        raise UserError(f"unknown AWS profile {profile!r}; known profiles: {known}") from None
    if session.region_name is None:
        raise UserError("no AWS region: pass --region (or set AWS_REGION or a profile's region)")
    return Aws(session)


def error_message(error: Exception) -> tuple[str, int] | None:
    """One line and an exit code for an AWS error a person must act on; None for a bug."""
    if isinstance(error, (botocore.exceptions.NoCredentialsError,
                          botocore.exceptions.PartialCredentialsError)):
        return ("no AWS credentials found: log in (for example `aws sso login --profile P` and "
                "pass --profile P) or use --local for the emulator", 2)
    if isinstance(error, (botocore.exceptions.TokenRetrievalError,
                          botocore.exceptions.SSOTokenLoadError,
                          botocore.exceptions.UnauthorizedSSOTokenError)):
        return f"AWS credentials have expired or cannot be loaded: {error}; log in again", 2
    if isinstance(error, botocore.exceptions.EndpointConnectionError):
        return f"cannot reach AWS: {error}", 1
    if isinstance(error, botocore.exceptions.ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        operation = error.operation_name
        if code in CREDENTIAL_ERROR_CODES:
            return f"AWS credentials are expired or invalid ({code}: {message}); log in again", 2
        if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
            return f"AWS denied {operation}: {message}", 2
        return f"AWS refused {operation}: {code}: {message}", 1
    return None
