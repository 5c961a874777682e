"""The analytics table: raw usage events (with a TTL) and per-customer counters.

    raw event  pk = EVENT#<eventId>        sk = EVENT                           ttl
    counter    pk = CUSTOMER#<customerId>  sk = USAGE#<productId>#<eventType>   count

An event and its counter change in one transaction, and the event is put
only if its id is new: a retried event is counted once, and an accepted
(answered) event is never lost. Ids are checked to hold no `#`, so they
cannot forge another key.
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


def event_key(event_id: str) -> dict:
    return {"pk": {"S": f"EVENT#{event_id}"}, "sk": {"S": "EVENT"}}


def counter_key(customer_id: str, product_id: str, event_type: str) -> dict:
    return {"pk": {"S": f"CUSTOMER#{customer_id}"}, "sk": {"S": f"USAGE#{product_id}#{event_type}"}}


class UsageStore:
    def __init__(self, dynamodb_client, table_name: str, event_ttl_days: int):
        self._dynamodb = dynamodb_client
        self._table = table_name
        self._event_ttl = timedelta(days=event_ttl_days)

    def record(self, event: UsageEvent, received_at: datetime) -> bool:
        """Store and count `event`; False when its id was already recorded (nothing changes)."""
        expires = int((received_at + self._event_ttl).timestamp())
        raw_event = {
            **event_key(event.event_id),
            "customerId": {"S": event.customer_id},
            "productId": {"S": event.product_id},
            "eventType": {"S": event.event_type},
            "timestamp": {"S": utc_time.to_iso(event.occurred_at)},
            "receivedAt": {"S": utc_time.to_iso(received_at)},
            "metadata": {"S": json.dumps(event.metadata, sort_keys=True)},
            "ttl": {"N": str(expires)},
        }
        try:
            self._dynamodb.transact_write_items(TransactItems=[
                {"Put": {"TableName": self._table, "Item": raw_event,
                         "ConditionExpression": "attribute_not_exists(pk)"}},
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
            if _event_already_recorded(cancelled):
                return False
            raise
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


def _event_already_recorded(cancelled: Exception) -> bool:
    """True when the transaction failed only because the event's id exists (the first item)."""
    reasons = getattr(cancelled, "response", {}).get("CancellationReasons") or []
    return bool(reasons) and reasons[0].get("Code") == "ConditionalCheckFailed"
