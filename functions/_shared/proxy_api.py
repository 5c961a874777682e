"""API Gateway REST proxy integration (payload v1): read the request, route it, answer in JSON.

Whatever a client sends wrong ends as a 4xx `{"error": code, "message": text}`
that names the problem and what is allowed. A failing AWS dependency ends as
503 (retry later) and anything else as 500; neither carries internal detail,
the log line does.
"""

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import json_log
from botocore.exceptions import BotoCoreError
from botocore.exceptions import ClientError as AwsError

MAX_BODY_BYTES = 16 * 1024
MAX_DEPTH = 32  # DynamoDB's limit on nested attributes; also keeps json.dumps far from the recursion limit
_MAX_BASE64_CHARS = 4 * -(-MAX_BODY_BYTES // 3)  # the longest base64 text of an allowed body
# AWS error codes a retry may clear. A cancelled transaction is here because, with
# conditions handled by the caller, what remains is a conflict or throttling.
_TRANSIENT_CODES = frozenset(
    {"ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
     "TransactionConflictException", "TransactionCanceledException", "InternalServerError",
     "ServiceUnavailable"}
)


class RequestError(Exception):
    """Something the client sent that will not be served; becomes a 4xx answer."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict:
        return {"error": self.code, "message": self.message}


@dataclass(frozen=True)
class Request:
    method: str
    resource: str
    path_parameters: Mapping[str, str] = field(default_factory=dict)
    raw_body: bytes = b""
    # Who called, as API Gateway authenticated them: the API key's id on key routes,
    # the signed-in IAM principal's ARN on IAM routes, and the API's own account.
    api_key_id: str | None = None
    caller_arn: str | None = None
    api_account: str | None = None

    @property
    def route(self) -> str:
        return f"{self.method} {self.resource}"

    def json_object(self) -> dict:
        """The body as a JSON object, read strictly (no duplicate keys, no NaN)."""
        if not self.raw_body.strip():
            raise RequestError(400, "missing_body", "this route needs a JSON object body")
        try:
            parsed = json.loads(
                self.raw_body.decode("utf-8"),
                object_pairs_hook=_unique_keys,
                parse_constant=_reject_constant,
            )
        except UnicodeDecodeError:
            raise RequestError(400, "invalid_json", "the body is not UTF-8 text") from None
        except RecursionError:
            raise RequestError(400, "invalid_json", "the body nests too deeply") from None
        except json.JSONDecodeError as problem:
            raise RequestError(400, "invalid_json", f"the body is not valid JSON: {problem.msg} "
                                                    f"at line {problem.lineno} column {problem.colno}") from None
        except _NotStrictJson as problem:
            raise RequestError(400, "invalid_json", f"the body is not valid JSON: {problem}") from None
        except ValueError:  # Python's limit on the digits of an integer
            raise RequestError(400, "invalid_json", "the body holds a number too long to read") from None
        if not isinstance(parsed, dict):
            raise RequestError(400, "invalid_body", "the body must be a JSON object")
        if nesting_depth(parsed) > MAX_DEPTH:
            raise RequestError(400, "invalid_json", f"the body nests deeper than {MAX_DEPTH} levels")
        return parsed

    def expect_no_body(self) -> None:
        if self.raw_body.strip():
            raise RequestError(400, "unexpected_body", f"{self.route} takes no body")


Route = Callable[[Request], tuple[int, dict]]


def nesting_depth(value: object) -> int:
    """How many objects and arrays deep `value` goes, counted without recursion."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
    return deepest


class _NotStrictJson(ValueError):
    """JSON that Python's parser accepts but the API does not."""


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    found: dict = {}
    for key, value in pairs:
        if key in found:
            raise _NotStrictJson(f"duplicate key {shorten(key)}")
        found[key] = value
    return found


def _reject_constant(name: str) -> None:
    raise _NotStrictJson(f"{name} is not a JSON number")


def shorten(value: object, limit: int = 40) -> str:
    """A client-supplied value quoted for a message, cut so an answer never echoes a whole body."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def read_body(event: dict) -> bytes:
    body = event.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise RequestError(400, "bad_request", "the body must be text")
    limit = _MAX_BASE64_CHARS if event.get("isBase64Encoded") else MAX_BODY_BYTES
    if len(body) > limit:
        raise _too_large()
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise RequestError(400, "invalid_body", "the body is marked base64 but is not base64") from None
    else:
        raw = body.encode("utf-8", "surrogatepass")  # a lone surrogate fails as invalid UTF-8 later
    if len(raw) > MAX_BODY_BYTES:
        raise _too_large()
    return raw


def _too_large() -> RequestError:
    return RequestError(413, "body_too_large", f"the body is larger than {MAX_BODY_BYTES} bytes")


def read_request(event: object) -> Request:
    if not isinstance(event, dict):
        raise RequestError(400, "bad_request", "not an API Gateway proxy request")
    method, resource = event.get("httpMethod"), event.get("resource")
    if not isinstance(method, str) or not isinstance(resource, str):
        raise RequestError(400, "bad_request", "not an API Gateway proxy request")
    parameters = event.get("pathParameters") or {}
    if not isinstance(parameters, dict) or not all(isinstance(v, str) for v in parameters.values()):
        raise RequestError(400, "bad_request", "path parameters must be text")
    context = _object(event.get("requestContext"))
    identity = _object(context.get("identity"))
    return Request(method, resource, parameters, read_body(event),
                   api_key_id=_text_or_none(identity.get("apiKeyId")),
                   caller_arn=_text_or_none(identity.get("userArn")),
                   api_account=_text_or_none(context.get("accountId")))


def _object(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def find_route(routes: Mapping[tuple[str, str], Route], request: Request) -> Route:
    route = routes.get((request.method, request.resource))
    if route is not None:
        return route
    methods = sorted(method for method, resource in routes if resource == request.resource)
    if methods:
        raise RequestError(
            405, "method_not_allowed",
            f"{shorten(request.method)} is not allowed on {request.resource}; allowed: {', '.join(methods)}",
        )
    known = ", ".join(f"{method} {resource}" for method, resource in sorted(routes, key=lambda r: r[1]))
    raise RequestError(404, "unknown_route", f"no route {shorten(request.resource)}; routes: {known}")


def answer(status: int, body: dict) -> dict:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def _failure_answer(failure: Exception) -> tuple[int, dict]:
    """503 when an AWS dependency is slow, throttled or down (a retry may work), else 500."""
    transient = isinstance(failure, BotoCoreError) or (
        isinstance(failure, AwsError)
        and (failure.response.get("Error", {}).get("Code") in _TRANSIENT_CODES
             or failure.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500)
    )
    if transient:
        return 503, {"error": "service_unavailable", "message": "try again shortly"}
    return 500, {"error": "internal_error", "message": "the request could not be completed"}


def handle(event: object, context: object, routes: Mapping[tuple[str, str], Route]) -> dict:
    """Serve one proxy event with `routes`, keyed by (httpMethod, resource); log one line."""
    request_id = getattr(context, "aws_request_id", None)
    route_name = None
    try:
        request = read_request(event)
        route_name = request.route
        status, body = find_route(routes, request)(request)
    except RequestError as refused:
        status, body = refused.status, refused.body()
    except Exception as failure:  # a fault on our side: log it, tell the client nothing inside
        status, body = _failure_answer(failure)
        json_log.error("request failed", requestId=request_id, route=route_name,
                       errorType=type(failure).__name__, error=str(failure))
    json_log.info("request", requestId=request_id, route=route_name, status=status,
                  error=body.get("error"))
    return answer(status, body)
