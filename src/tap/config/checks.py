"""Reusable value checks for settings fields; each knows how to describe what it allows."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from tap.config.schema import Check, Invalid, show

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)

log_retention = Check(
    "one of " + ", ".join(map(str, LOG_RETENTION_DAYS)) + " (days CloudWatch Logs accepts)",
    lambda days: days in LOG_RETENTION_DAYS,
)


def between(low: float, high: float) -> Check:
    return Check(f"a number from {low} to {high}", lambda value: low <= value <= high)


@dataclass(frozen=True)
class Pattern(Check):
    """A check that a string matches `regex` in full. A setting whose value becomes a root
    parameter (an ARN that differs per account) gives the parameter the same rule as
    `allowed_pattern`, with `allowed` as its ConstraintDescription."""

    regex: str = ""

    @property
    def allowed_pattern(self) -> str:
        """The rule as a CloudFormation AllowedPattern (a Java regex over the whole value)."""
        return f"^(?:{self.regex})$"


def matches(pattern: str, description: str) -> Pattern:
    compiled = re.compile(pattern)
    return Pattern(description, lambda value: compiled.fullmatch(value) is not None, pattern)


def each(check: Check) -> Check:
    """Apply `check` to every item of a list setting."""
    return Check(f"a list of {check.allowed}", lambda items: all(check.test(item) for item in items))


def _is_cidr(value: str, shortest: int, longest: int) -> bool:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        return False
    return shortest <= network.prefixlen <= longest


def ipv4_cidr(shortest: int, longest: int) -> Check:
    """An IPv4 network written in canonical form, such as 10.0.0.0/16."""
    return Check(
        f"an IPv4 CIDR block with no host bits set and a prefix from /{shortest} to /{longest}, "
        "such as 10.0.0.0/16",
        lambda value: _is_cidr(value, shortest, longest),
    )


_REGION = r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d"


@cache
def known_regions() -> tuple[str, ...]:
    """Every region of every partition botocore knows (its endpoints data, read offline).
    The build lints for the config's region, and cfn-lint refuses a region it does not
    know with a traceback; a test keeps the two lists in step."""
    # The data file itself: importing botocore's loader (and with it urllib3) costs a build
    # more time than reading it.
    endpoints = json.loads((resources.files("botocore") / "data" / "endpoints.json").read_bytes())
    return tuple(sorted({region for partition in endpoints["partitions"] for region in partition["regions"]}))


@dataclass(frozen=True)
class _KnownRegion(Check):
    """A region code botocore (and so cfn-lint and deploy) knows; the rejection lists them all."""

    def __call__(self, value: Any) -> None:
        if value not in known_regions():
            raise Invalid(f"{show(value)} is not an AWS region", f"one of {', '.join(known_regions())}")


aws_region = _KnownRegion(
    "an AWS region code such as us-east-1 or eu-west-2", lambda value: value in known_regions()
)

email = matches(
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
    "an e-mail address such as ops@example.com",
)


def arn(service: str, resource: str = r".+", example: str = "", region: str = "") -> Pattern:
    """An ARN of `service` in any partition; `resource` is a regex for the part after the
    account; `region`, when given, the only region allowed."""
    where = region or f"({_REGION})?"
    pattern = rf"arn:aws(-cn|-us-gov|-iso(-[a-z])?)?:{service}:{where}:(\d{{12}})?:{resource}"
    # Placeholders, not an example account: the text becomes a template's ConstraintDescription.
    example = example or f"arn:<partition>:{service}:{region or '<region>'}:<account>:..."
    return matches(pattern, f"an ARN of the form {example}")


_CERTIFICATE = r"certificate/[0-9a-f-]{36}"
acm_certificate_arn = arn(
    "acm", _CERTIFICATE, "arn:<partition>:acm:<region>:<account>:certificate/<uuid>",
)
# CloudFront reads certificates only from us-east-1: the rule of a distribution's
# certificate setting and of the root parameter that takes it.
cloudfront_certificate_arn = arn(
    "acm", _CERTIFICATE, "arn:<partition>:acm:us-east-1:<account>:certificate/<uuid> "
    "(CloudFront reads certificates only from us-east-1)", region="us-east-1",
)
cloudfront_web_acl_arn = arn(
    "wafv2", r"global/webacl/.+", "arn:<partition>:wafv2:us-east-1:<account>:global/webacl/<name>/<id>"
)
# Full ARNs with a region and an account. Their regexes are written out rather than
# built by arn() because each is also a deployed root parameter's AllowedPattern:
# rewriting one changes the templates.
secret_arn = matches(
    r"arn:aws(-cn|-us-gov|-iso(-[a-z])?)?:secretsmanager:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:"
    r"secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}",
    "a complete Secrets Manager secret ARN: "
    "arn:<partition>:secretsmanager:<region>:<account>:secret:<name>-<6 characters>",
)
connection_arn = matches(
    r"arn:aws(-cn|-us-gov)?:(codeconnections|codestar-connections):[a-z]{2}(-gov)?-[a-z]+-\d:"
    r"\d{12}:connection/[0-9a-f-]{36}",
    "a connection ARN: arn:<partition>:codeconnections:<region>:<account>:connection/<uuid>",
)

dns_name = matches(
    r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}",
    "a lower-case DNS name such as downloads.example.com",
)


def _valid_tags(tags: Mapping[str, str]) -> bool:
    return len(tags) <= 40 and all(
        1 <= len(key) <= 128 and len(value) <= 256 and not key.lower().startswith("aws:")
        for key, value in tags.items()
    )


tags = Check(
    "at most 40 tags, keys of 1-128 characters not starting with 'aws:', values up to 256 characters",
    _valid_tags,
)


def require(condition: bool, key: str, value: Any, problem: str, allowed: str) -> None:
    """For cross-field rules in a settings class's validate()."""
    if not condition:
        raise Invalid(f"{show(value)} {problem}", allowed, key=key)
