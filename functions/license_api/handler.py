"""Licence API behind API Gateway (REST, proxy integration).

    POST   /licenses                          create a licence; its key is shown this once
    GET    /customers/{customerId}/licenses   a customer's licences, without keys
    POST   /licenses/validate                 is this key valid for this customer?
    DELETE /licenses/{licenseId}              revoke
    POST   /downloads                         a short-lived CloudFront signed URL

Creating, listing and revoking are operator routes (IAM, named principals only);
validation and downloads are customer routes, where the API key's customer must be
the body's `customerId`, and a download must lie under the licence's product.

Clients are created once per container; the signing key is fetched from
Secrets Manager on first use and kept.
"""

import boto3
import json_log
import license_rules
import proxy_api
import utc_time
from callers import CustomerKeys, Operators
from download_urls import DownloadSigner, object_path
from license_settings import Settings
from license_store import LicenseStore, public_view
from proxy_api import Request, RequestError
from request_fields import identifier, integer, path_parameter, read_fields, timestamp
from signing_key import SigningKeySource

MAX_SEATS = 1_000_000

SETTINGS = Settings.from_environment()
_operators = Operators(SETTINGS.operator_principals)
_customers = CustomerKeys(boto3.client("apigateway"))
_licenses = LicenseStore(boto3.client("dynamodb"), SETTINGS.licenses_table)
_signing_key = SigningKeySource(boto3.client("secretsmanager"), SETTINGS.signing_key_secret_arn)
_downloads = DownloadSigner(
    _signing_key.sign_sha1,
    SETTINGS.signing_key_id,
    SETTINGS.download_domain,
    SETTINGS.download_path_prefix,
    SETTINGS.signed_url_ttl_seconds,
)


def license_key(value: object) -> str:
    if not license_rules.is_plausible_key(value):
        raise ValueError(f"must be 1 to {license_rules.MAX_KEY_LENGTH} visible ASCII characters")
    return value


def create_license(request: Request) -> tuple[int, dict]:
    _operators.require(request)
    moment = utc_time.now()
    fields = read_fields(
        request.json_object(),
        required={"customerId": identifier, "productId": identifier},
        optional={"expiresAt": timestamp, "seats": integer(1, MAX_SEATS)},
    )
    expires_at = fields.get("expiresAt")
    if expires_at is not None and expires_at <= moment:
        raise RequestError(400, "invalid_field", "field 'expiresAt' must be in the future")
    key, item = _licenses.create(
        fields["customerId"], fields["productId"], fields.get("seats", 1), expires_at, moment
    )
    json_log.info("licence created", licenseId=item["licenseId"]["S"], customerId=fields["customerId"])
    return 201, {**public_view(item, moment), "licenseKey": key}


def list_licenses(request: Request) -> tuple[int, dict]:
    _operators.require(request)
    request.expect_no_body()
    customer_id = path_parameter(request, "customerId")
    moment = utc_time.now()
    licenses = [public_view(item, moment) for item in _licenses.for_customer(customer_id)]
    return 200, {"customerId": customer_id, "licenses": licenses}


KEY_AND_CUSTOMER = {"licenseKey": license_key, "customerId": identifier}


def checked_license(request: Request, fields: dict) -> tuple[license_rules.License | None, str | None]:
    """The licence `fields["licenseKey"]` names, and why it is refused (None when it is valid).
    The caller's API key must belong to `fields["customerId"]` (403 otherwise)."""
    _customers.require(request, fields["customerId"])
    license = _licenses.find_by_key(fields["licenseKey"])
    return license, license_rules.refusal(license, fields["customerId"], utc_time.now())


def validate_license(request: Request) -> tuple[int, dict]:
    fields = read_fields(request.json_object(), required=KEY_AND_CUSTOMER, optional={})
    license, reason = checked_license(request, fields)
    if reason is not None:
        return 200, {"valid": False, "reason": reason}
    return 200, {"valid": True, "licenseId": license.license_id, "productId": license.product_id,
                 "expiresAt": license.expires_at}


def revoke_license(request: Request) -> tuple[int, dict]:
    _operators.require(request)
    request.expect_no_body()
    license_id = path_parameter(request, "licenseId")
    moment = utc_time.now()
    item = _licenses.revoke(license_id, moment)
    if item is None:
        raise RequestError(404, "unknown_license", f"no licence {license_id}")
    json_log.info("licence revoked", licenseId=license_id)
    return 200, public_view(item, moment)


def issue_download(request: Request) -> tuple[int, dict]:
    fields = read_fields(request.json_object(), required={**KEY_AND_CUSTOMER, "path": object_path}, optional={})
    license, reason = checked_license(request, fields)
    if reason is None and not license_rules.grants_object(license, fields["path"]):
        reason = license_rules.WRONG_PRODUCT
    if reason is not None:
        json_log.info("download refused", reason=reason, customerId=fields["customerId"])
        return 403, {"error": "invalid_license", "message": "the licence does not allow downloads",
                     "reason": reason}
    url, expires = _downloads.url_for(fields["path"], utc_time.now())
    json_log.info("download issued", licenseId=license.license_id, path=fields["path"])
    return 200, {"url": url, "expiresAt": utc_time.to_iso(expires)}


ROUTES = {
    ("POST", "/licenses"): create_license,
    ("GET", "/customers/{customerId}/licenses"): list_licenses,
    ("POST", "/licenses/validate"): validate_license,
    ("DELETE", "/licenses/{licenseId}"): revoke_license,
    ("POST", "/downloads"): issue_download,
}


def handler(event, context):
    return proxy_api.handle(event, context, ROUTES)
