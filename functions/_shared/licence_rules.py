"""What makes a licence valid, in one place for the edge check and the licence API.

A licence is found by the sha256 of its key (the key itself is never
stored) and is valid for one customer while it is active and unexpired.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime

import utc_time

MAX_KEY_LENGTH = 256
VISIBLE_ASCII = frozenset(chr(code) for code in range(0x21, 0x7F))

UNKNOWN = "unknown_license"
WRONG_CUSTOMER = "wrong_customer"
REVOKED = "revoked"
EXPIRED = "expired"

# What a lookup needs to read from the licences table.
PROJECTION = "licenseId, customerId, productId, #status, expiresAt"
PROJECTION_NAMES = {"#status": "status"}


@dataclass(frozen=True)
class Licence:
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


def from_item(item: dict | None) -> Licence | None:
    """A licence from a DynamoDB item in the low-level client's shape (None stays None)."""
    if not item:
        return None

    def text(name: str) -> str | None:
        return item.get(name, {}).get("S")

    return Licence(
        license_id=text("licenseId") or "",
        customer_id=text("customerId") or "",
        product_id=text("productId") or "",
        status=text("status") or "",
        expires_at=text("expiresAt"),
    )


def refusal(licence: Licence | None, customer_id: str, moment: datetime) -> str | None:
    """Why `licence` does not let `customer_id` in at `moment`, or None when it does.

    The customer is checked before the status, so a key of another customer
    reveals nothing about that customer's licence.
    """
    if licence is None:
        return UNKNOWN
    if licence.customer_id != customer_id:
        return WRONG_CUSTOMER
    if licence.status != "active":
        return REVOKED
    if licence.expires_at is not None:
        expiry = utc_time.parse_iso(licence.expires_at)
        if expiry is None or expiry <= moment:  # an unreadable date fails closed
            return EXPIRED
    return None
