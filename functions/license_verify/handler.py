"""Lambda@Edge viewer-request licence check.

A request passes to the origin only with headers `x-license-key` and
`x-customer-id` naming an active, unexpired licence of that customer, for an
object under the licence's product (`/<productId>/...`); both headers are
removed before it does. Anything else is a 403 with a short body
that does not say why. When the licence cannot be looked up the answer is
503: the check fails closed, never open.

The licence is looked up by the sha256 of its key with a strongly consistent
read in the licences table's region, at most once per cache TTL per key.
The client has no retries and timeouts that keep the worst case (connect +
read) well inside the 5 s viewer-request limit.
"""

from urllib.parse import unquote

import boto3
import edge_config
import json_log
import license_rules
import utc_time
from botocore.config import Config
from edge_cache import TtlCache

LICENSE_HEADER = "x-license-key"
CUSTOMER_HEADER = "x-customer-id"
_NOT_FOUND = "not-found"  # cached for unknown keys, so a bad key is not looked up on every request

_dynamodb = boto3.client(
    "dynamodb",
    region_name=edge_config.TABLE_REGION,
    config=Config(
        connect_timeout=edge_config.LOOKUP_TIMEOUT_SECONDS,
        read_timeout=edge_config.LOOKUP_TIMEOUT_SECONDS,
        retries={"mode": "standard", "total_max_attempts": 1},
    ),
)
_cache = TtlCache(edge_config.CACHE_TTL_SECONDS)


def _refusal(status: str, description: str, text: str) -> dict:
    return {
        "status": status,
        "statusDescription": description,
        "headers": {
            "content-type": [{"key": "Content-Type", "value": "text/plain; charset=utf-8"}],
            "cache-control": [{"key": "Cache-Control", "value": "no-store"}],
        },
        "body": text,
    }


def forbidden() -> dict:
    return _refusal("403", "Forbidden", "A valid licence is required.\n")


def unavailable() -> dict:
    return _refusal("503", "Service Unavailable", "The licence check is unavailable; please retry.\n")


def viewer_request(event: object) -> dict | None:
    """The CloudFront request inside `event`, or None when the event is not one."""
    try:
        request = event["Records"][0]["cf"]["request"]
    except (KeyError, IndexError, TypeError):
        return None
    if not isinstance(request, dict) or not isinstance(request.get("headers"), dict):
        return None
    return request


def header(request: dict, name: str) -> str | None:
    """The first value of a header (CloudFront lower-cases the names)."""
    values = request["headers"].get(name)
    if not isinstance(values, list) or not values or not isinstance(values[0], dict):
        return None
    value = values[0].get("value")
    return value if isinstance(value, str) else None


def object_key(request: dict) -> str:
    """The object key the request names: its URI without the leading '/', percent-decoded
    as the S3 origin will decode it ('' when the URI is not text)."""
    uri = request.get("uri")
    return unquote(uri[1:]) if isinstance(uri, str) and uri.startswith("/") else ""


def lookup(key_hash: str) -> license_rules.License | None:
    """The licence with this key hash, from the cache or the table (the table may raise)."""
    cached = _cache.get(key_hash)
    if cached is not None:
        return None if cached == _NOT_FOUND else cached
    response = _dynamodb.get_item(
        TableName=edge_config.TABLE_NAME,
        Key={"keyHash": {"S": key_hash}},
        ConsistentRead=True,
        ProjectionExpression=license_rules.PROJECTION,
        ExpressionAttributeNames=license_rules.PROJECTION_NAMES,
    )
    license = license_rules.from_item(response.get("Item"))
    _cache.put(key_hash, _NOT_FOUND if license is None else license)
    return license


def check(request: dict, request_id: str | None) -> dict:
    key, customer_id = header(request, LICENSE_HEADER), header(request, CUSTOMER_HEADER)
    if not license_rules.is_plausible_key(key) or not customer_id:
        json_log.info("licence refused", requestId=request_id, reason="missing_or_malformed_headers")
        return forbidden()
    try:
        license = lookup(license_rules.key_hash(key))
    except Exception as failure:  # timeout, throttling, no route: fail closed
        json_log.error("licence lookup failed", requestId=request_id, errorType=type(failure).__name__)
        return unavailable()
    reason = license_rules.refusal(license, customer_id, utc_time.now())
    if reason is None and not license_rules.grants_object(license, object_key(request)):
        reason = license_rules.WRONG_PRODUCT
    if reason is not None:
        json_log.info("licence refused", requestId=request_id, reason=reason,
                      licenseId=license.license_id if license else None)
        return forbidden()
    del request["headers"][LICENSE_HEADER], request["headers"][CUSTOMER_HEADER]
    json_log.info("licence accepted", requestId=request_id, licenseId=license.license_id)
    return request


def handler(event, context):
    request_id = getattr(context, "aws_request_id", None)
    request = viewer_request(event)
    if request is None:
        json_log.error("not a CloudFront viewer-request event", requestId=request_id)
        return forbidden()
    try:
        return check(request, request_id)
    except Exception as failure:  # never let a request through on a fault of ours
        json_log.error("licence check failed", requestId=request_id, errorType=type(failure).__name__)
        return unavailable()
