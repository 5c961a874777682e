#!/usr/bin/env python3
"""How fast the Lambda functions are: zip sizes, cold import, the edge check's warm path
(cache hit and miss) and each API route's handler time against moto.

Prints figures; asserts nothing. Times against moto measure our code plus moto's
in-process emulation, not DynamoDB. Run: python bench/functions_speed.py [--repeat N]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")

import boto3  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from moto import mock_aws  # noqa: E402

from tap.package import package_function  # noqa: E402
from tests.functions.conftest import (  # noqa: E402
    ANALYTICS_TABLE,
    CONTEXT,
    EARLIEST_EVENT_TIME,
    EDGE_VALUES,
    LICENSES_TABLE,
    OPERATOR_ROLE_ARN,
    api_event,
    create_analytics_table,
    create_licenses_table,
    load_function,
    put_license,
    viewer_request,
)

REGIONAL_ENVIRONMENT = {
    "LICENSES_TABLE": LICENSES_TABLE, "SIGNING_KEY_ID": "KBENCH", "DOWNLOAD_DOMAIN": "downloads.example.com",
    "DOWNLOAD_PATH_PREFIX": "/signed", "SIGNED_URL_TTL_SECONDS": "300",
    "SIGNING_KEY_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:bench",
    "ANALYTICS_TABLE": ANALYTICS_TABLE, "EVENT_TTL_DAYS": "30",
    "OPERATOR_PRINCIPALS": OPERATOR_ROLE_ARN, "EARLIEST_EVENT_TIME": EARLIEST_EVENT_TIME,
}
FUNCTIONS = {"license_verify": EDGE_VALUES, "license_api": None, "usage_tracking": None}


def timed(action, repeat: int) -> list[float]:
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - started)
    return seconds


def row(name: str, seconds: list[float], unit: str = "ms") -> str:
    scale = {"ms": 1e3, "us": 1e6}[unit]
    median, low, high = (value * scale for value in (statistics.median(seconds), min(seconds), max(seconds)))
    return f"{name:<40} {median:>10.2f} {low:>10.2f} {high:>10.2f}  {unit}"


def header(title: str, runs: int) -> str:
    return f"\n{title:<40} {'median':>10} {'min':>10} {'max':>10}  (runs: {runs})\n"


def zip_sizes() -> None:
    print(f"{'function zip':<40} {'bytes':>10}  files")
    for name, values in FUNCTIONS.items():
        package = package_function(name, values)
        print(f"{name:<40} {len(package.data):>10,}  {len(package.files)}")


def cold_imports(repeat: int) -> None:
    """A fresh interpreter per run: import boto3, the handler's modules, create its clients."""
    print(header("cold import (fresh process)", repeat), end="")
    script = ("import sys, time; sys.path.insert(0, sys.argv[1]); started = time.perf_counter();"
              "import handler; print(time.perf_counter() - started)")
    for name, values in FUNCTIONS.items():
        with tempfile.TemporaryDirectory() as folder:
            with zipfile.ZipFile(io.BytesIO(package_function(name, values).data)) as archive:
                archive.extractall(folder)
            environment = {**os.environ, **REGIONAL_ENVIRONMENT}
            seconds = [float(subprocess.run([sys.executable, "-c", script, folder], env=environment,
                                            capture_output=True, text=True, check=True).stdout)
                       for _ in range(repeat)]
        print(row(name, seconds))


def edge_paths(scratch: Path, dynamodb, repeat: int) -> str:
    edge = load_function("license_verify", scratch / "license_verify", EDGE_VALUES)
    put_license(dynamodb, "bench-key-0000000001", "cust-bench")
    headers = {"X-License-Key": "bench-key-0000000001", "X-Customer-Id": "cust-bench"}

    def miss():
        edge._cache.clear()
        edge.handler(viewer_request(headers), CONTEXT)

    edge.handler(viewer_request(headers), CONTEXT)
    hit = timed(lambda: edge.handler(viewer_request(headers), CONTEXT), repeat * 10)
    return (header("edge check (in process)", repeat * 10) + row("warm, cache hit", hit, "us") + "\n"
            + row("warm, cache miss (GetItem on moto)", timed(miss, repeat * 10), "us") + "\n")


def api_routes(scratch: Path, repeat: int) -> str:
    for name, value in REGIONAL_ENVIRONMENT.items():
        os.environ[name] = value
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    secret = boto3.client("secretsmanager").create_secret(Name="bench", SecretString=pem)
    os.environ["SIGNING_KEY_SECRET_ARN"] = secret["ARN"]
    license_api = load_function("license_api", scratch / "license_api")
    usage = load_function("usage_tracking", scratch / "usage_tracking")
    customer = "cust-bench-api"

    def call(function, method, resource, body=None, parameters=None):
        return function.handler(api_event(method, resource, body, parameters), CONTEXT)

    created = [call(license_api, "POST", "/licenses", {"customerId": customer, "productId": "app"})]
    license_key = json.loads(created[0]["body"])["licenseKey"]
    ids = iter(range(10**9))
    routes = {
        "POST /licenses": lambda: call(license_api, "POST", "/licenses", {"customerId": customer, "productId": "app"}),
        "GET /customers/{id}/licenses": lambda: call(license_api, "GET", "/customers/{customerId}/licenses",
                                                     parameters={"customerId": customer}),
        "POST /licenses/validate": lambda: call(license_api, "POST", "/licenses/validate",
                                                {"licenseKey": license_key, "customerId": customer}),
        "POST /downloads": lambda: call(license_api, "POST", "/downloads",
                                        {"licenseKey": license_key, "customerId": customer, "path": "app/app.zip"}),
        "DELETE /licenses/{id} (unknown)": lambda: call(license_api, "DELETE", "/licenses/{licenseId}",
                                                        parameters={"licenseId": str(uuid.uuid4())}),
        "POST /usage": lambda: call(usage, "POST", "/usage", {"eventId": f"bench-{next(ids)}", "customerId": customer,
                                                              "productId": "app", "eventType": "download"}),
        "GET /customers/{id}/usage": lambda: call(usage, "GET", "/customers/{customerId}/usage",
                                                  parameters={"customerId": customer}),
        "POST /usage (malformed JSON)": lambda: usage.handler(api_event("POST", "/usage", raw_body="{"), CONTEXT),
    }
    routes["POST /downloads"]()  # the first download fetches the signing key
    lines = [row(route, timed(action, repeat * 5)) + "\n" for route, action in routes.items()]
    return header("API handler per request (moto)", repeat * 5) + "".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    zip_sizes()
    cold_imports(max(3, args.repeat // 4))
    report = sys.stdout  # the handlers log to stdout; the figures go to the terminal
    with mock_aws(), tempfile.TemporaryDirectory() as scratch, open(os.devnull, "w") as logs:
        with contextlib.redirect_stdout(logs):
            dynamodb = boto3.client("dynamodb")
            create_licenses_table(dynamodb)
            create_analytics_table(dynamodb)
            edge = edge_paths(Path(scratch), dynamodb, args.repeat)
            api = api_routes(Path(scratch), args.repeat)
        report.write(edge + api)


if __name__ == "__main__":
    main()
