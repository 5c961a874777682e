"""Who may call which route: operators through IAM, customers through their own API key.

Operator routes use IAM authorization: API Gateway has checked the SigV4 signature and
the caller's IAM policy. This module also requires the caller to be one the operator
named (OPERATOR_PRINCIPALS: `account`, or IAM role and user ARNs of the API's account).

Customer routes use API keys. Each key names its customer in its own `customerId`
field (`aws apigateway create-api-key --customer-id`), read once per key and kept for
a few minutes; a customer may act only on its own licences and usage.
"""

import re
import time
from collections.abc import Callable

from proxy_api import Request, RequestError

ANY_PRINCIPAL_OF_THE_ACCOUNT = "account"
KEY_CACHE_SECONDS = 300
# The principal a caller's ARN names: a role (assumed or named), a user, or the account root.
_ASSUMED_ROLE = re.compile(r"arn:aws[a-z-]*:sts::(\d{12}):assumed-role/([\w+=,.@-]+)/[\w+=,.@-]+")
_ROLE_OR_USER = re.compile(r"arn:aws[a-z-]*:iam::(\d{12}):(role|user)/(?:[\w+=,.@/-]*/)?([\w+=,.@-]+)")


def principal(arn: str) -> tuple[str, str, str] | None:
    """(account, "role" or "user", name) of an IAM or STS ARN; None for anything else."""
    assumed = _ASSUMED_ROLE.fullmatch(arn)
    if assumed:
        return assumed.group(1), "role", assumed.group(2)
    named = _ROLE_OR_USER.fullmatch(arn)
    return (named.group(1), named.group(2), named.group(3)) if named else None


class Operators:
    """The principals the operator named; an entry that is neither `account` nor a
    role or user ARN matches nobody (the template's pattern refuses it first)."""

    def __init__(self, entries: str):
        named = [entry.strip() for entry in entries.split(",") if entry.strip()]
        self.whole_account = ANY_PRINCIPAL_OF_THE_ACCOUNT in named
        self.principals = {found for found in map(principal, named) if found is not None}

    def allows(self, request: Request) -> bool:
        caller = principal(request.caller_arn) if request.caller_arn else None
        if caller is None or caller[0] != request.api_account:
            return False
        return self.whole_account or caller in self.principals

    def require(self, request: Request) -> None:
        if not self.allows(request):
            raise RequestError(403, "forbidden",
                               f"{request.route} is an operator route; the caller is not a named operator")


class CustomerKeys:
    """The customer each API key belongs to, from the key's `customerId`."""

    def __init__(self, apigateway_client, clock: Callable[[], float] = time.monotonic):
        self._apigateway = apigateway_client
        self._clock = clock
        self._known: dict[str, tuple[float, str | None]] = {}

    def customer_of(self, api_key_id: str) -> str | None:
        found = self._known.get(api_key_id)
        if found is not None and self._clock() < found[0]:
            return found[1]
        try:
            customer = self._apigateway.get_api_key(apiKey=api_key_id).get("customerId") or None
        except self._apigateway.exceptions.NotFoundException:
            customer = None
        self._known[api_key_id] = (self._clock() + KEY_CACHE_SECONDS, customer)
        return customer

    def require(self, request: Request, customer_id: str) -> None:
        """Refuse (403) unless the request's API key belongs to `customer_id`."""
        if request.api_key_id is None:
            raise RequestError(403, "forbidden", f"{request.route} needs a customer's API key")
        owner = self.customer_of(request.api_key_id)
        if owner is None:
            raise RequestError(403, "forbidden",
                               "this API key is not bound to a customer; ask the vendor for a customer key")
        if owner != customer_id:
            raise RequestError(403, "wrong_customer",
                               "customerId is not the customer of this API key; a key acts only for its own customer")
