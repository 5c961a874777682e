"""API stack: the REST API in front of the licence API and usage tracking functions.

Two kinds of route. Operator routes (create, list and revoke licences, read a
customer's usage) take IAM authorization (SigV4); the functions also require a
principal the operator named. Customer routes (validate, downloads, usage events)
take an API key, through usage plans that set per-key throttles and quotas; each
key names its customer (`customerId`), and a key acts only for its customer.
Bodies are validated against JSON-schema models before a function runs (the
functions validate again, strictly).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from troposphere import Ref

from tap.blocks.rest_api import RestApi, Route
from tap.cfnvalue import CfnValue
from tap.config.distribution import ApiSettings, UsagePlanSettings
from tap.stacktree import Stack, camel
from tap.wiring import declare, publish, wire

# The same rules the functions apply (tests/functions/test_api_models.py holds the
# two to agreement): identifiers never contain '#', which separates table-key parts;
# optional fields may be null, which the functions read as absent.
_ID = {"type": "string", "pattern": "^[A-Za-z0-9._:@-]{1,128}$"}
_LICENSE_KEY = {"type": "string", "pattern": "^[!-~]{1,256}$"}  # visible ASCII
_TIMESTAMP = {"type": ["string", "null"], "minLength": 1, "maxLength": 64}
EVENT_TYPES = ["download", "install", "activate", "heartbeat"]
MAX_SEATS = 1_000_000


def _body(title: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": title,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


CREATE_LICENSE = _body(
    "CreateLicense",
    {
        "customerId": _ID,
        "productId": _ID,
        "expiresAt": _TIMESTAMP,
        "seats": {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_SEATS},
    },
    ["customerId", "productId"],
)
VALIDATE_LICENSE = _body(
    "ValidateLicense", {"licenseKey": _LICENSE_KEY, "customerId": _ID}, ["licenseKey", "customerId"]
)
ISSUE_DOWNLOAD = _body(
    "IssueDownload",
    {"licenseKey": _LICENSE_KEY, "customerId": _ID,
     "path": {"type": "string", "minLength": 1, "maxLength": 1024}},
    ["licenseKey", "customerId", "path"],
)
USAGE_EVENT = _body(
    "UsageEvent",
    {
        "eventId": _ID,
        "customerId": _ID,
        "productId": _ID,
        "eventType": {"type": "string", "enum": EVENT_TYPES},
        "timestamp": _TIMESTAMP,
        "metadata": {"type": ["object", "null"]},
    },
    ["eventId", "customerId", "productId", "eventType"],
)


def routes(license_api: Any, usage_tracking: Any) -> list[Route]:
    """The API's routes (docs/distribution.md, "Who may call the API"), each served by one
    of the two functions; operator routes authorise IAM principals, customer routes API keys."""
    return [
        Route("POST", "/licenses", license_api, CREATE_LICENSE, "CreateLicense", iam_auth=True),
        Route("GET", "/customers/{customerId}/licenses", license_api, iam_auth=True),
        Route("POST", "/licenses/validate", license_api, VALIDATE_LICENSE, "ValidateLicense"),
        Route("DELETE", "/licenses/{licenseId}", license_api, iam_auth=True),
        Route("POST", "/downloads", license_api, ISSUE_DOWNLOAD, "IssueDownload"),
        Route("POST", "/usage", usage_tracking, USAGE_EVENT, "UsageEvent"),
        Route("GET", "/customers/{customerId}/usage", usage_tracking, iam_auth=True),
    ]


@dataclass(frozen=True)
class ApiInputs:
    license_api_function_arn: CfnValue = wire("Licence API function.")
    usage_tracking_function_arn: CfnValue = wire("Usage tracking function.")


@dataclass(frozen=True)
class ApiOutputs:
    api_url: CfnValue = wire("Base URL of the API stage.")
    api_id: CfnValue = wire("REST API id.")
    api_name: CfnValue = wire("REST API name (its metrics' ApiName).")
    stage_name: CfnValue = wire("Stage of the API.")


def usage_plan_output(plan: UsagePlanSettings) -> str:
    """The output holding a usage plan's id: one per configured plan."""
    return f"{camel(plan.name)}UsagePlanId"


def api_stack(settings: ApiSettings) -> Stack:
    stack = Stack("api", "tap distribution: licence and usage REST API")
    inputs = declare(stack, ApiInputs)
    api = RestApi(
        stack,
        "Api",
        description="tap licence and usage API",
        stage_name=settings.stage_name,
        throttle_rate_limit=settings.throttle_rate_limit,
        throttle_burst_limit=settings.throttle_burst_limit,
        access_log_retention_days=settings.access_log_retention_days,
    )
    for route in routes(inputs.license_api_function_arn, inputs.usage_tracking_function_arn):
        api.route(route)
    api.deploy()
    add_usage_plans(api, settings)
    publish(stack, ApiOutputs(
        api_url=api.url, api_id=api.id, api_name=Ref("AWS::StackName"), stage_name=settings.stage_name,
    ))
    return stack


def add_usage_plans(api: RestApi, settings: ApiSettings) -> None:
    """The plans customer keys join; the keys themselves are made per customer, outside
    the template (a key's value must never be in one)."""
    plans = [
        api.usage_plan(
            f"{camel(plan.name)}UsagePlan",
            rate_limit=plan.rate_limit,
            burst_limit=plan.burst_limit,
            quota_limit=plan.quota_limit,
            quota_period=plan.quota_period,
            description=f"{plan.name}: {plan.rate_limit:g} req/s, "
            f"{plan.quota_limit} requests per {plan.quota_period.lower()}",
        )
        for plan in settings.usage_plans
    ]
    for plan, created in zip(settings.usage_plans, plans):
        api.stack.output(usage_plan_output(plan), Ref(created), f"Usage plan {plan.name}.")
