"""Settings of the software distribution platform (system A)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Optional

from tap.config import checks
from tap.config.common import SystemSettings
from tap.config.schema import Check, setting, show
from tap.stacktree import camel

# Lambda@Edge functions, CloudFront key groups and CLOUDFRONT-scope WAF web
# ACLs can only be created in us-east-1, and CloudFront only accepts ACM
# certificates from there.
EDGE_REGION = "us-east-1"

def _is_utc_moment(value: object) -> bool:
    try:
        return isinstance(value, str) and re.fullmatch(_UTC_MOMENT, value) is not None and bool(
            datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:  # digits in the right places, but no such day
        return False


_UTC_MOMENT = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"
_NAME = checks.matches(r"[a-z][a-z0-9-]{0,62}", "lower-case letters, digits and '-', starting with a letter")


@dataclass(frozen=True)
class StorageSettings:
    log_expiry_days: int = setting(
        365, check=checks.between(1, 3650), doc="Days before access-log objects are deleted."
    )
    noncurrent_version_expiry_days: int = setting(
        90, check=checks.between(1, 3650), doc="Days before replaced binary versions are deleted."
    )
    intelligent_tiering_after_days: int = setting(
        0, check=checks.between(0, 365), doc="Days before binaries move to Intelligent-Tiering."
    )
    abort_multipart_after_days: int = setting(
        7, check=checks.between(1, 365), doc="Days before incomplete multipart uploads are aborted."
    )


@dataclass(frozen=True)
class DatabaseSettings:
    licenses_table_name: str = setting(
        check=checks.matches(r"[A-Za-z0-9_.-]{3,255}", "3-255 letters, digits, '_', '.' or '-'"),
        doc="Physical name of the licences table. Lambda@Edge has no environment variables, "
        "so the edge function is packaged with this name; it must be unique in the account.",
    )
    deletion_protection: bool = setting(True, doc="Refuse DeleteTable on both tables.")


@dataclass(frozen=True)
class EdgeSettings:
    license_cache_ttl_seconds: int = setting(
        60, check=checks.between(0, 3600),
        doc="How long an edge replica remembers a licence answer; also how long a revoked "
        "licence may still download through the header route.",
    )
    lookup_timeout_seconds: float = setting(
        1.5, check=checks.between(0.2, 2.0),
        doc="DynamoDB client timeout at the edge; two attempts must fit the 5 s limit.",
    )
    log_retention_days: int = setting(30, check=checks.log_retention)


@dataclass(frozen=True)
class FunctionSettings:
    log_retention_days: int = setting(30, check=checks.log_retention)
    memory_mb: int = setting(256, check=checks.between(128, 10240))
    timeout_seconds: int = setting(
        10, check=checks.between(1, 29), doc="API Gateway gives up after 29 s."
    )
    usage_event_ttl_days: int = setting(
        90, check=checks.between(1, 3650), doc="Days raw usage events are kept (counters stay)."
    )
    usage_events_since: str = setting(
        "2020-01-01T00:00:00Z",
        check=Check("an ISO 8601 UTC date and time such as 2020-01-01T00:00:00Z", _is_utc_moment),
        doc="Usage events timestamped before this (before the products existed) are refused.",
    )


@dataclass(frozen=True)
class CdnSettings:
    price_class: Literal["PriceClass_100", "PriceClass_200", "PriceClass_All"] = setting(
        "PriceClass_100"
    )
    alias: Optional[str] = setting(None, check=checks.dns_name, doc="Custom domain name.")
    certificate_arn: Optional[str] = setting(
        None, check=checks.cloudfront_certificate_arn, doc="ACM certificate in us-east-1 for the alias."
    )
    waf_enabled: bool = setting(True)
    waf_rate_limit: int = setting(
        2000, check=checks.between(100, 2_000_000_000),
        doc="Requests per client IP in any 5-minute window before WAF blocks it.",
    )
    signed_url_ttl_seconds: int = setting(
        300, check=checks.between(30, 86400), doc="Lifetime of a signed download URL."
    )

    def validate(self) -> None:
        checks.require(
            (self.alias is None) == (self.certificate_arn is None), "certificate_arn",
            self.certificate_arn, "must be given together with alias",
            "both alias and certificate_arn, or neither",
        )


@dataclass(frozen=True)
class UsagePlanSettings:
    name: str = setting(check=_NAME)
    rate_limit: float = setting(check=checks.between(1, 10000), doc="Steady requests per second.")
    burst_limit: int = setting(check=checks.between(1, 5000))
    quota_limit: int = setting(check=checks.between(1, 1_000_000_000))
    quota_period: Literal["DAY", "WEEK", "MONTH"] = setting("MONTH")


@dataclass(frozen=True)
class ApiSettings:
    stage_name: str = setting(
        "v1", check=checks.matches(r"[A-Za-z0-9_]{1,64}", "letters, digits and '_'")
    )
    throttle_rate_limit: float = setting(100.0, check=checks.between(1, 10000))
    throttle_burst_limit: int = setting(200, check=checks.between(1, 5000))
    access_log_retention_days: int = setting(90, check=checks.log_retention)
    usage_plans: tuple[UsagePlanSettings, ...] = setting(
        [UsagePlanSettings(name="standard", rate_limit=10, burst_limit=20, quota_limit=100_000)],
        doc="Usage plans that customers' API keys join.",
    )

    def validate(self) -> None:
        checks.require(
            len(self.usage_plans) >= 1, "usage_plans", [], "is empty", "at least one usage plan"
        )
        # A plan's logical ids start with its name in CamelCase (`gold-1` and `gold1` are
        # both `Gold1UsagePlan`), so names must differ after that conversion.
        ids = [camel(plan.name) for plan in self.usage_plans]
        for index, (plan, plan_id) in enumerate(zip(self.usage_plans, ids)):
            earlier = ids.index(plan_id)
            checks.require(
                earlier == index, f"usage_plans[{index}].name", plan.name,
                f"makes the same logical id ({plan_id}UsagePlan) as usage_plans[{earlier}].name "
                f"{show(self.usage_plans[earlier].name)}",
                "a name unique among usage_plans, also once '-' is dropped and each word capitalised",
            )


@dataclass(frozen=True)
class MonitoringSettings:
    alarm_email: Optional[str] = setting(None, check=checks.email)
    api_latency_p99_ms: int = setting(3000, check=checks.between(50, 29000))
    function_duration_p99_percent: int = setting(
        80, check=checks.between(10, 100),
        doc="Alarm when p99 duration exceeds this share of the function's timeout.",
    )
    cloudfront_5xx_rate_percent: float = setting(1.0, check=checks.between(0.01, 100))


@dataclass(frozen=True, kw_only=True)  # kw_only: `database` has no default
class DistributionSettings(SystemSettings):
    region: str = setting(
        EDGE_REGION,
        check=Check(
            f"{EDGE_REGION} only: Lambda@Edge, CloudFront key groups and CLOUDFRONT-scope WAF "
            "exist only there",
            lambda region: region == EDGE_REGION,
        ),
    )
    storage: StorageSettings = setting(StorageSettings())
    database: DatabaseSettings = setting()
    edge: EdgeSettings = setting(EdgeSettings())
    functions: FunctionSettings = setting(FunctionSettings())
    cdn: CdnSettings = setting(CdnSettings())
    api: ApiSettings = setting(ApiSettings())
    monitoring: MonitoringSettings = setting(MonitoringSettings())
