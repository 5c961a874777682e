"""The licence API against moto: every route, its answers and its refusals."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from tests.functions.conftest import (
    DOWNLOAD_DOMAIN,
    DOWNLOAD_PATH_PREFIX,
    LICENSES_TABLE,
    SIGNED_URL_TTL_SECONDS,
    SIGNING_KEY_ID,
    call,
    put_license,
)


def customer() -> str:
    """A customer id of its own for each test: the tables live for the whole package."""
    return f"cust-{uuid.uuid4().hex[:12]}"


def create(license_api, customer_id: str, **fields) -> tuple[int, dict]:
    return call(license_api, "POST", "/licenses", {"customerId": customer_id, "productId": "app", **fields})


def in_days(days: int) -> str:
    return (datetime.now(timezone.utc) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- POST /licenses ---------------------------------------------------------------------


def test_create_answers_201_with_a_key_shown_once(license_api):
    expires = in_days(30)
    status, body = create(license_api, customer(), seats=5, expiresAt=expires)
    assert status == 201
    assert (body["status"], body["seats"], body["expiresAt"]) == ("active", 5, expires)
    assert len(body["licenseKey"]) >= 43  # 32 random bytes, URL-safe base64
    uuid.UUID(body["licenseId"])


def test_create_stores_only_the_sha256_of_the_key(license_api, dynamodb):
    _, body = create(license_api, customer())
    items = dynamodb.scan(TableName=LICENSES_TABLE)["Items"]
    stored = next(item for item in items if item.get("licenseId", {}).get("S") == body["licenseId"])
    assert stored["keyHash"]["S"] == hashlib.sha256(body["licenseKey"].encode()).hexdigest()
    assert body["licenseKey"] not in json.dumps(items)


def test_create_without_expiry_never_expires_and_has_one_seat(license_api):
    _, body = create(license_api, customer())
    assert body["expiresAt"] is None
    assert body["seats"] == 1


def test_two_licenses_get_different_keys_and_ids(license_api):
    customer_id = customer()
    _, first = create(license_api, customer_id)
    _, second = create(license_api, customer_id)
    assert first["licenseKey"] != second["licenseKey"]
    assert first["licenseId"] != second["licenseId"]


def test_create_with_a_past_expiry_is_refused(license_api):
    status, body = create(license_api, customer(), expiresAt="2020-01-01T00:00:00Z")
    assert (status, body["error"]) == (400, "invalid_field")
    assert "expiresAt" in body["message"]


def test_an_expiry_with_an_offset_is_stored_in_utc(license_api):
    _, body = create(license_api, customer(), expiresAt="2099-06-01T02:00:00+02:00")
    assert body["expiresAt"] == "2099-06-01T00:00:00Z"


# ---- GET /customers/{customerId}/licenses ------------------------------------------------


def test_list_shows_a_customers_licenses_oldest_first_without_keys(license_api):
    customer_id = customer()
    created = [create(license_api, customer_id, productId=f"app-{n}")[1] for n in range(3)]
    create(license_api, customer())  # someone else's
    status, body = call(license_api, "GET", "/customers/{customerId}/licenses",
                        path_parameters={"customerId": customer_id})
    assert status == 200
    assert sorted(item["licenseId"] for item in body["licenses"]) == sorted(c["licenseId"] for c in created)
    for shown in body["licenses"]:
        assert "licenseKey" not in shown and "keyHash" not in shown
    assert [s["createdAt"] for s in body["licenses"]] == sorted(s["createdAt"] for s in body["licenses"])


def test_list_of_a_customer_without_licenses_is_empty(license_api):
    status, body = call(license_api, "GET", "/customers/{customerId}/licenses",
                        path_parameters={"customerId": customer()})
    assert (status, body["licenses"]) == (200, [])


def test_list_shows_expired_and_revoked_licenses_as_such(license_api, dynamodb):
    customer_id = customer()
    put_license(dynamodb, "expired-key-0000000001", customer_id, expires_at="2021-01-01T00:00:00Z",
                license_id="lic-expired")
    put_license(dynamodb, "revoked-key-0000000001", customer_id, status="revoked", license_id="lic-revoked")
    _, body = call(license_api, "GET", "/customers/{customerId}/licenses",
                   path_parameters={"customerId": customer_id})
    statuses = {item["licenseId"]: item["status"] for item in body["licenses"]}
    assert statuses == {"lic-expired": "expired", "lic-revoked": "revoked"}


# ---- POST /licenses/validate -----------------------------------------------------------------


def validate(license_api, key: str, customer_id: str) -> tuple[int, dict]:
    return call(license_api, "POST", "/licenses/validate", {"licenseKey": key, "customerId": customer_id})


def test_validate_a_new_license_is_valid(license_api):
    customer_id = customer()
    _, created = create(license_api, customer_id)
    status, body = validate(license_api, created["licenseKey"], customer_id)
    assert status == 200
    assert body == {"valid": True, "licenseId": created["licenseId"], "productId": "app", "expiresAt": None}


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        ({"status": "revoked"}, "revoked"),
        ({"expires_at": "2021-01-01T00:00:00Z"}, "expired"),
        ({"expires_at": "not a date"}, "unreadable_license"),  # unreadable data fails closed
    ],
)
def test_validate_refuses_with_the_reason(license_api, dynamodb, state, reason):
    customer_id, key = customer(), f"key-{uuid.uuid4().hex}"
    put_license(dynamodb, key, customer_id, **state)
    assert validate(license_api, key, customer_id) == (200, {"valid": False, "reason": reason})


def test_validate_an_unknown_key_is_invalid(license_api):
    assert validate(license_api, "no-such-key-at-all", customer()) == (
        200, {"valid": False, "reason": "unknown_license"})


def test_validate_another_customers_key_is_invalid(license_api):
    _, created = create(license_api, customer())
    assert validate(license_api, created["licenseKey"], customer()) == (
        200, {"valid": False, "reason": "wrong_customer"})


# ---- DELETE /licenses/{licenseId} ---------------------------------------------------------------


def revoke(license_api, license_id: str) -> tuple[int, dict]:
    return call(license_api, "DELETE", "/licenses/{licenseId}", path_parameters={"licenseId": license_id})


def test_revoke_answers_200_and_the_license_is_invalid_at_once(license_api):
    customer_id = customer()
    _, created = create(license_api, customer_id)
    status, body = revoke(license_api, created["licenseId"])
    assert status == 200
    assert body["status"] == "revoked" and body["revokedAt"]
    assert validate(license_api, created["licenseKey"], customer_id)[1]["reason"] == "revoked"


def test_revoking_twice_keeps_the_first_revocation(license_api):
    _, created = create(license_api, customer())
    _, first = revoke(license_api, created["licenseId"])
    status, second = revoke(license_api, created["licenseId"])
    assert status == 200
    assert second["revokedAt"] == first["revokedAt"]


def test_revoke_an_unknown_license_is_404(license_api):
    status, body = revoke(license_api, str(uuid.uuid4()))
    assert (status, body["error"]) == (404, "unknown_license")


# ---- POST /downloads --------------------------------------------------------------------------


def download(license_api, key: str, customer_id: str, path: str) -> tuple[int, dict]:
    return call(license_api, "POST", "/downloads", {"licenseKey": key, "customerId": customer_id, "path": path})


def cloudfront_b64decode(text: str) -> bytes:
    return base64.b64decode(text.replace("-", "+").replace("_", "=").replace("~", "/"))


def test_download_answers_a_cloudfront_signed_url(license_api, signing_key):
    customer_id = customer()
    _, created = create(license_api, customer_id)
    status, body = download(license_api, created["licenseKey"], customer_id, "app/2.1.0/app 2.1.0.tar.gz")
    assert status == 200
    url = urlsplit(body["url"])
    assert (url.scheme, url.netloc) == ("https", DOWNLOAD_DOMAIN)
    assert url.path == f"{DOWNLOAD_PATH_PREFIX}/app/2.1.0/app%202.1.0.tar.gz"
    query = {name: values[0] for name, values in parse_qs(url.query).items()}
    assert query["Key-Pair-Id"] == SIGNING_KEY_ID
    expires = int(query["Expires"])
    assert body["expiresAt"] == datetime.fromtimestamp(expires, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    # The canned policy CloudFront rebuilds from the URL verifies under the public key.
    resource = body["url"].split("?", 1)[0]
    policy = json.dumps({"Statement": [{"Resource": resource,
                                        "Condition": {"DateLessThan": {"AWS:EpochTime": expires}}}]},
                        separators=(",", ":"))
    signing_key.public_key().verify(cloudfront_b64decode(query["Signature"]), policy.encode(),
                                    padding.PKCS1v15(), hashes.SHA1())


def test_download_url_lives_for_the_configured_ttl(license_api):
    customer_id = customer()
    _, created = create(license_api, customer_id)
    before = datetime.now(timezone.utc).replace(microsecond=0)
    _, body = download(license_api, created["licenseKey"], customer_id, "app/app.zip")
    expires = datetime.fromisoformat(body["expiresAt"])
    assert expires - before >= timedelta(seconds=SIGNED_URL_TTL_SECONDS)
    assert expires - before <= timedelta(seconds=SIGNED_URL_TTL_SECONDS + 60)


@pytest.mark.parametrize("state", [{"status": "revoked"}, {"expires_at": "2021-01-01T00:00:00Z"}])
def test_download_with_an_invalid_license_is_403(license_api, dynamodb, state):
    customer_id, key = customer(), f"key-{uuid.uuid4().hex}"
    put_license(dynamodb, key, customer_id, **state)
    status, body = download(license_api, key, customer_id, "app.zip")
    assert (status, body["error"]) == (403, "invalid_license")
    assert "url" not in body


def test_download_after_revocation_is_refused_at_once(license_api):
    customer_id = customer()
    _, created = create(license_api, customer_id)
    revoke(license_api, created["licenseId"])
    assert download(license_api, created["licenseKey"], customer_id, "app.zip")[0] == 403


def test_download_with_another_customers_key_is_403(license_api):
    _, created = create(license_api, customer())
    assert download(license_api, created["licenseKey"], customer(), "app.zip")[0] == 403


@pytest.mark.parametrize(
    "path",
    ["/etc/passwd", "../secrets", "releases/../../x", "a//b", "./a", "a/.", "dir\\file", "a\nb",
     "a\x00b", "", "x" * 1025, "é" * 513],
)
def test_download_refuses_an_unsafe_path(license_api, path):
    customer_id = customer()
    _, created = create(license_api, customer_id)
    status, body = download(license_api, created["licenseKey"], customer_id, path)
    assert (status, body["error"]) == (400, "invalid_field")
    assert "path" in body["message"]


def test_download_percent_encodes_a_query_string_in_the_path(license_api):
    customer_id = customer()
    _, created = create(license_api, customer_id)
    _, body = download(license_api, created["licenseKey"], customer_id, "app/app.zip?Expires=99999999999")
    assert urlsplit(body["url"]).path.endswith("/app.zip%3FExpires%3D99999999999")
    assert body["url"].count("Expires=") == 1
