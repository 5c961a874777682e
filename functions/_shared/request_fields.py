"""Checks of request fields. Each check takes a value and returns it clean, or raises
ValueError saying what is allowed; `read_fields` turns that into a 400 naming the field.
"""

import re
from collections.abc import Callable, Mapping
from datetime import datetime

import utc_time
from proxy_api import Request, RequestError, shorten

Check = Callable[[object], object]

# Letters, digits and a few marks: never `#`, which separates parts of table keys.
IDENTIFIER = re.compile(r"[A-Za-z0-9._:@-]{1,128}")
IDENTIFIER_RULE = "1 to 128 characters from A-Z a-z 0-9 . _ : @ -"


def identifier(value: object) -> str:
    if not isinstance(value, str) or not IDENTIFIER.fullmatch(value):
        raise ValueError(f"must be {IDENTIFIER_RULE}")
    return value


def integer(minimum: int, maximum: int) -> Check:
    def check(value: object) -> int:
        if type(value) is not int or not minimum <= value <= maximum:
            raise ValueError(f"must be a whole number from {minimum} to {maximum}")
        return value

    return check


def one_of(*choices: str) -> Check:
    def check(value: object) -> str:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return value

    return check


def timestamp(value: object) -> datetime:
    moment = utc_time.parse_iso(value) if isinstance(value, str) and len(value) <= 64 else None
    if moment is None:
        raise ValueError("must be an ISO 8601 date and time, e.g. 2030-01-31T00:00:00Z")
    return moment


def json_object(value: object) -> dict:
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object")
    return value


def read_fields(body: dict, required: Mapping[str, Check], optional: Mapping[str, Check]) -> dict:
    """The body's fields, checked and cleaned; an optional field given as null counts as absent."""
    allowed = sorted({*required, *optional})
    unknown = sorted(set(body).difference(allowed))
    if unknown:
        raise RequestError(400, "unknown_field",
                           f"unknown field {shorten(unknown[0])}; allowed: {', '.join(allowed)}")
    missing = [name for name in required if name not in body]
    if missing:
        raise RequestError(400, "missing_field",
                           f"missing field '{missing[0]}'; required: {', '.join(required)}")
    clean = {}
    for name, check in {**required, **optional}.items():
        if name in required or body.get(name) is not None:
            clean[name] = _checked(check, body.get(name), "invalid_field", f"field '{name}'")
    return clean


def path_parameter(request: Request, name: str, check: Check = identifier):
    return _checked(check, request.path_parameters.get(name), "invalid_path_parameter",
                    f"path parameter '{name}'")


def _checked(check: Check, value: object, code: str, label: str):
    try:
        return check(value)
    except ValueError as problem:
        raise RequestError(400, code, f"{label} {problem}") from None
