"""What makes a licence valid, in one place for the edge check and the licence API.

A licence is found by the sha256 of its key (the key itself is never
stored) and is valid for one customer while it is active and unexpired.
It grants the objects of its own product only: those under `<productId>/`.

An item this code does not understand (a field missing or of the wrong type, an
unknown status, an expiry that is not an ISO date) is refused, never guessed at:
someone else may write to the table one day (a migration, the console).
"""

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

import utc_time

MAX_KEY_LENGTH = 256
VISIBLE_ASCII = frozenset(chr(code) for code in range(0x21, 0x7F))

UNKNOWN = "unknown_license"
WRONG_CUSTOMER = "wrong_customer"
REVOKED = "revoked"
EXPIRED = "expired"
UNREADABLE = "unreadable_license"
WRONG_PRODUCT = "wrong_product"

STATUSES = ("active", "revoked")
_IDENTIFIER = re.compile(r"[A-Za-z0-9._:@-]{1,128}")

# What a lookup needs to read from the licences table.
PROJECTION = "licenseId, customerId, productId, #status, expiresAt"
PROJECTION_NAMES = {"#status": "status"}


@dataclass(frozen=True)
class License:
    license_id: str
    customer_id: str
    product_id: str
    status: str
    expires_at: str | None


def is_plausible_key(key: object) -> bool:
    """A key worth hashing and looking up: 1 to 256 visible ASCII characters."""
    return isinstance(key, str) and 0 < len(key) <= MAX_KEY_LENGTH and VISIBLE_ASCII.issuperset(key)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class Unreadable:
    """A licence item whose fields this code does not understand; it grants nothing."""

    license_id: str | None


def from_item(item: dict | None) -> "License | Unreadable | None":
    """A licence from a DynamoDB item in the low-level client's shape (None stays None)."""
    if not item:
        return None

    def text(name: str) -> str | None:
        value = item.get(name)
        if not isinstance(value, dict) or set(value) != {"S"} or not isinstance(value["S"], str):
            return None
        return value["S"]

    license = License(
        license_id=text("licenseId"),
        customer_id=text("customerId"),
        product_id=text("productId"),
        status=text("status"),
        expires_at=text("expiresAt"),
    )
    readable = (
        all(_IDENTIFIER.fullmatch(value or "") for value in
            (license.license_id, license.customer_id, license.product_id))
        and license.status in STATUSES
        and ("expiresAt" not in item or (license.expires_at is not None
                                         and utc_time.parse_iso(license.expires_at) is not None))
    )
    return license if readable else Unreadable(license.license_id)


def refusal(license: License | None, customer_id: str, moment: datetime) -> str | None:
    """Why `licence` does not let `customer_id` in at `moment`, or None when it does.

    The customer is checked before the status, so a key of another customer
    reveals nothing about that customer's licence.
    """
    if license is None:
        return UNKNOWN
    if isinstance(license, Unreadable):
        return UNREADABLE
    if license.customer_id != customer_id:
        return WRONG_CUSTOMER
    if license.status != "active":
        return REVOKED
    if license.expires_at is not None:
        if utc_time.parse_iso(license.expires_at) <= moment:
            return EXPIRED
    return None


def product_of(object_key: str) -> str | None:
    """The product an object belongs to: the first segment of `<productId>/...`; None for
    a key outside any product (one segment, or an empty, '.' or '..' segment)."""
    segments = object_key.split("/")
    if len(segments) < 2 or any(segment in ("", ".", "..") for segment in segments):
        return None
    return segments[0]


def grants_object(license: License, object_key: str) -> bool:
    """True when `object_key` lies under the licence's own product."""
    return product_of(object_key) == license.product_id
