"""The analytics table: raw usage events (with a TTL) and per-customer counters.

    raw event  pk = EVENT#<customerId>#<eventId>  sk = EVENT                          ttl
    counter    pk = CUSTOMER#<customerId>         sk = USAGE#<productId>#<eventType>  count

An event and its counter change in one transaction, and the event is put
only if its id is new for its customer: a retried event is counted once, and
an accepted (answered) event is never lost. A retry must repeat the event:
the same id with another body is a conflict, reported with the fields that
differ. Ids are checked to hold no `#`, so they cannot forge another key.
"""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import utc_time

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class UsageEvent:
    event_id: str
    customer_id: str
    product_id: str
    event_type: str
    occurred_at: datetime
    metadata: dict
    sent_timestamp: str | None = None  # the timestamp as the client sent it, if it did


class EventConflict(Exception):
    """The event's id was recorded for this customer with a different body."""

    def __init__(self, fields: list[str]):
        super().__init__(", ".join(fields))
        self.fields = fields


def event_key(customer_id: str, event_id: str) -> dict:
    return {"pk": {"S": f"EVENT#{customer_id}#{event_id}"}, "sk": {"S": "EVENT"}}


def identity(event: UsageEvent) -> dict:
    """What a true retry repeats, as stored: the arrival time is not part of it."""
    sent = {"sentTimestamp": {"S": event.sent_timestamp}} if event.sent_timestamp else {}
    return {
        "productId": {"S": event.product_id},
        "eventType": {"S": event.event_type},
        "metadata": {"S": json.dumps(event.metadata, sort_keys=True)},
        **sent,
    }


def differing_fields(stored: dict, event: UsageEvent) -> list[str]:
    """Names (as the API calls them) of the fields where `event` differs from `stored`."""
    names = {"productId": "productId", "eventType": "eventType", "metadata": "metadata",
             "sentTimestamp": "timestamp"}
    expected = identity(event)
    return sorted(names[attribute] for attribute in names
                  if stored.get(attribute) != expected.get(attribute))


def counter_key(customer_id: str, product_id: str, event_type: str) -> dict:
    return {"pk": {"S": f"CUSTOMER#{customer_id}"}, "sk": {"S": f"USAGE#{product_id}#{event_type}"}}


class UsageStore:
    def __init__(self, dynamodb_client, table_name: str, event_ttl_days: int):
        self._dynamodb = dynamodb_client
        self._table = table_name
        self._event_ttl = timedelta(days=event_ttl_days)

    def record(self, event: UsageEvent, received_at: datetime) -> bool:
        """Store and count `event`; False when this customer already recorded it (nothing
        changes). EventConflict when the id was recorded with another body."""
        expires = int((received_at + self._event_ttl).timestamp())
        raw_event = {
            **event_key(event.customer_id, event.event_id),
            **identity(event),
            "customerId": {"S": event.customer_id},
            "timestamp": {"S": utc_time.to_iso(event.occurred_at)},
            "receivedAt": {"S": utc_time.to_iso(received_at)},
            "ttl": {"N": str(expires)},
        }
        try:
            self._dynamodb.transact_write_items(TransactItems=[
                {"Put": {"TableName": self._table, "Item": raw_event,
                         "ConditionExpression": "attribute_not_exists(pk)",
                         "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
                {"Update": {
                    "TableName": self._table,
                    "Key": counter_key(event.customer_id, event.product_id, event.event_type),
                    "UpdateExpression": "ADD #count :one SET productId = :product, eventType = :type",
                    "ExpressionAttributeNames": {"#count": "count"},
                    "ExpressionAttributeValues": {
                        ":one": {"N": "1"},
                        ":product": {"S": event.product_id},
                        ":type": {"S": event.event_type},
                    },
                }},
            ])
        except self._dynamodb.exceptions.TransactionCanceledException as cancelled:
            stored = _recorded_event(cancelled)
            if stored is None:
                raise
            conflicts = differing_fields(stored, event)
            if conflicts:
                raise EventConflict(conflicts) from None
            return False
        return True

    def totals(self, customer_id: str) -> dict[str, dict[str, int]]:
        """Counts by product, then event type."""
        totals: dict[str, dict[str, int]] = {}
        start = {}
        while True:
            response = self._dynamodb.query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :usage)",
                ExpressionAttributeValues={":pk": {"S": f"CUSTOMER#{customer_id}"}, ":usage": {"S": "USAGE#"}},
                ConsistentRead=True,
                **start,
            )
            for item in response.get("Items", []):
                by_type = totals.setdefault(item["productId"]["S"], {})
                by_type[item["eventType"]["S"]] = int(item["count"]["N"])
            if "LastEvaluatedKey" not in response:
                return totals
            start = {"ExclusiveStartKey": response["LastEvaluatedKey"]}


def _recorded_event(cancelled: Exception) -> dict | None:
    """The stored event when the transaction failed because its id exists (the first
    item's condition); None when it failed for another reason."""
    reasons = getattr(cancelled, "response", {}).get("CancellationReasons") or []
    if not reasons or reasons[0].get("Code") != "ConditionalCheckFailed":
        return None
    return reasons[0].get("Item") or {}
