"""The licences table: create, find by key, list by customer, revoke.

Items are keyed by `keyHash`, the hex sha256 of the licence key; the key
itself is returned once, at creation, and stored nowhere. GSI `byLicenseId`
finds a licence by id, GSI `byCustomer` lists a customer's licences by
creation time.
"""

import secrets
import uuid
from datetime import datetime

import license_rules
import utc_time

BY_LICENSE_ID = "byLicenseId"
BY_CUSTOMER = "byCustomer"
KEY_BYTES = 32  # 256 bits of entropy from the OS's CSPRNG


def new_license_key() -> str:
    return secrets.token_urlsafe(KEY_BYTES)


def effective_status(item: dict, moment: datetime) -> str:
    """"active", "revoked", "expired" (an active licence past its expiry) or "unreadable"."""
    license = license_rules.from_item(item)
    if isinstance(license, license_rules.Unreadable):
        return "unreadable"
    reason = license_rules.refusal(license, license.customer_id, moment)
    return {None: "active", license_rules.REVOKED: "revoked"}.get(reason, "expired")


def _field(item: dict, name: str, kind: str = "S"):
    """An attribute's value when it has the expected type, else None (shown as null)."""
    value = item.get(name)
    return value.get(kind) if isinstance(value, dict) else None


def _seats(item: dict) -> int | None:
    text = _field(item, "seats", "N")
    return int(text) if isinstance(text, str) and text.isdigit() else None


def public_view(item: dict, moment: datetime) -> dict:
    """A licence as the API shows it: everything but the key hash. A field of an
    unexpected type shows as null, and the status says "unreadable"."""
    view = {
        "licenseId": _field(item, "licenseId"),
        "customerId": _field(item, "customerId"),
        "productId": _field(item, "productId"),
        "seats": _seats(item),
        "status": effective_status(item, moment),
        "createdAt": _field(item, "createdAt"),
        "expiresAt": _field(item, "expiresAt"),
    }
    if "revokedAt" in item:
        view["revokedAt"] = _field(item, "revokedAt")
    return view


class LicenseStore:
    def __init__(self, dynamodb_client, table_name: str):
        self._dynamodb = dynamodb_client
        self._table = table_name

    def create(self, customer_id: str, product_id: str, seats: int,
               expires_at: datetime | None, moment: datetime) -> tuple[str, dict]:
        """A new active licence: its key (to show once) and its item."""
        key = new_license_key()
        item = {
            "keyHash": {"S": license_rules.key_hash(key)},
            "licenseId": {"S": str(uuid.uuid4())},
            "customerId": {"S": customer_id},
            "productId": {"S": product_id},
            "status": {"S": "active"},
            "seats": {"N": str(seats)},
            "createdAt": {"S": utc_time.to_iso(moment)},
        }
        if expires_at is not None:
            item["expiresAt"] = {"S": utc_time.to_iso(expires_at)}
        self._dynamodb.put_item(
            TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(keyHash)"
        )
        return key, item

    def find_by_key(self, key: str) -> license_rules.License | None:
        """A strongly consistent read, so a revocation is seen at once."""
        return license_rules.from_item(self._item_by_hash(license_rules.key_hash(key)))

    def _item_by_hash(self, key_hash: str) -> dict | None:
        response = self._dynamodb.get_item(
            TableName=self._table, Key={"keyHash": {"S": key_hash}}, ConsistentRead=True
        )
        return response.get("Item")

    def _query(self, index: str, attribute: str, value: str) -> list[dict]:
        items, start = [], {}
        while True:
            response = self._dynamodb.query(
                TableName=self._table,
                IndexName=index,
                KeyConditionExpression=f"{attribute} = :value",
                ExpressionAttributeValues={":value": {"S": value}},
                **start,
            )
            items.extend(response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return items
            start = {"ExclusiveStartKey": response["LastEvaluatedKey"]}

    def for_customer(self, customer_id: str) -> list[dict]:
        """The customer's licences, oldest first."""
        return self._query(BY_CUSTOMER, "customerId", customer_id)

    def revoke(self, license_id: str, moment: datetime) -> dict | None:
        """The revoked licence's item (revoking twice keeps the first time), or None if unknown."""
        found = self._query(BY_LICENSE_ID, "licenseId", license_id)
        if not found:
            return None
        key_hash = found[0]["keyHash"]["S"]
        try:
            response = self._dynamodb.update_item(
                TableName=self._table,
                Key={"keyHash": {"S": key_hash}},
                UpdateExpression="SET #status = :revoked, revokedAt = :now",
                ConditionExpression="attribute_exists(keyHash) AND #status = :active",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":revoked": {"S": "revoked"},
                    ":active": {"S": "active"},
                    ":now": {"S": utc_time.to_iso(moment)},
                },
                ReturnValues="ALL_NEW",
            )
            return response["Attributes"]
        except self._dynamodb.exceptions.ConditionalCheckFailedException:
            return self._item_by_hash(key_hash)  # already revoked, or gone
