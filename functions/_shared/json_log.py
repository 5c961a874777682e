"""Structured logs: one JSON object per line on stdout, which Lambda sends to CloudWatch.

`level` uses Lambda's level names (INFO, ERROR). Callers pass identifiers
(request id, licence id, customer id), never a
licence key or secret; fields with the names of secrets are masked anyway,
as a second line of defence.
"""

import json
import sys

_MASKED_FIELDS = frozenset({"licenseKey", "x-license-key", "privateKey", "SecretString"})


def _masked(fields: dict) -> dict:
    return {name: "[masked]" if name in _MASKED_FIELDS else value for name, value in fields.items()}


def write(level: str, message: str, **fields) -> None:
    record = {"level": level, "message": message, **_masked(fields)}
    sys.stdout.write(json.dumps(record, default=str, sort_keys=True) + "\n")


def info(message: str, **fields) -> None:
    write("INFO", message, **fields)


def error(message: str, **fields) -> None:
    write("ERROR", message, **fields)
