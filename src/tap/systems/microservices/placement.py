"""Where each service of the platform lives: its shard, its load balancer, its listener priority.

Each of these is a pure function of that one service's own settings, never of its
position in `[[services]]` nor of the other services: adding, removing or reordering
services leaves every other service exactly where it was (deployed resources that
moved stack, load balancer or priority would be deleted and recreated).

    shard_of(service)              the services-NNN stack holding it
    balancer_of(service, count)    the load balancer holding its rule and target group
    listener_priority(service)     its listener-rule priority
    shards(settings)               the non-empty shards, in order
    services_in_shard(settings, n) a shard's services, sorted by name

`check_placement(settings)` refuses the configs whose placement AWS would not accept
(a load balancer over its quotas, two services with one priority). Config cannot run
these checks (tap.config must not import a system), so the system's `build()` runs them
first; they raise `Invalid` with the offending key, which `tap.build` locates in the
config file like any other config mistake (exit code 2).

The numbers placement depends on (`SHARD_COUNT`, `DERIVED_PRIORITY_FIRST`,
`PRIORITY_LAST`, the load balancer quotas) live in `tap.config.microservices`, since the
schema checks the `shard`, `priority` and `load_balancer.count` settings against them.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from functools import cache

from tap.config import checks
from tap.config.microservices import (
    DERIVED_PRIORITY_FIRST,
    PRIORITY_LAST,
    SHARD_COUNT,
    TARGET_GROUPS_PER_LOAD_BALANCER,
    MicroservicesSettings,
    ServiceSettings,
)
from tap.config.schema import Invalid

# A path pattern whose first segment is literal: CloudFront can route it by that segment.
_ROUTABLE_PATH = re.compile(r"/[^/*?]+(/.*)?")


@cache
def stable_number(text: str, modulo: int) -> int:
    """A number in [0, modulo) that depends only on `text`, the same on every machine."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % modulo


def routing_hash(key: str) -> int:
    """32-bit FNV-1a of `key`: the hash CloudFront's routing function computes on the
    request (routing.js.j2 beside this module), so both sides pick the same load balancer."""
    value = 0x811C9DC5
    for byte in key.encode("utf-8"):
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


# --- one service ---------------------------------------------------------------


def shard_of(service: ServiceSettings) -> int:
    """The shard holding `service`: its `shard` pin if set, else a hash of its name."""
    return service.shard if service.shard is not None else stable_number(service.name, SHARD_COUNT)


def routing_key(service: ServiceSettings) -> str:
    """What CloudFront's routing function reads off a request to pick this service's load
    balancer: the host, or the first segment of the path pattern."""
    if service.host is not None:
        return service.host
    assert service.path_pattern is not None, "ServiceSettings.validate() requires a host or a path pattern"
    return service.path_pattern.split("/")[1]


def balancer_of(service: ServiceSettings, count: int) -> int:
    """The load balancer (0 to count - 1) holding `service` when there are `count`."""
    return routing_hash(routing_key(service)) % count


def derived_priority(service: ServiceSettings) -> int:
    """The listener priority derived from the name, in DERIVED_PRIORITY_FIRST..PRIORITY_LAST."""
    span = PRIORITY_LAST - DERIVED_PRIORITY_FIRST + 1
    return DERIVED_PRIORITY_FIRST + stable_number(f"priority:{service.name}", span)


def listener_priority(service: ServiceSettings) -> int:
    """The service's listener-rule priority: `priority` if set, else derived from the name."""
    return service.priority if service.priority is not None else derived_priority(service)


# --- all services ----------------------------------------------------------------


def shards(settings: MicroservicesSettings) -> tuple[int, ...]:
    """The shards holding at least one service, in order."""
    return tuple(_by_shard(settings))


def services_in_shard(settings: MicroservicesSettings, shard: int) -> tuple[ServiceSettings, ...]:
    """The services of `shard`, sorted by name (so the order of [[services]] is irrelevant)."""
    return _by_shard(settings).get(shard, ())


# The grouping of the last service list asked about: a build asks once per shard, and
# regrouping 1,000 services each time would cost more than building a shard.
_grouped: list[tuple[tuple[ServiceSettings, ...], dict[int, tuple[ServiceSettings, ...]]]] = []


def _by_shard(settings: MicroservicesSettings) -> dict[int, tuple[ServiceSettings, ...]]:
    services = settings.services
    if not _grouped or _grouped[0][0] is not services:
        groups: dict[int, list[ServiceSettings]] = {}
        for service in services:
            groups.setdefault(shard_of(service), []).append(service)
        _grouped[:] = [(services, {
            shard: tuple(sorted(members, key=lambda service: service.name))
            for shard, members in sorted(groups.items())
        })]
    return _grouped[0][1]


# --- what AWS accepts ---------------------------------------------------------------


def check_placement(settings: MicroservicesSettings) -> None:
    """Refuse a placement AWS would reject, naming the key and what is allowed (`Invalid`)."""
    _within_load_balancer_quotas(settings)
    _unique_priorities(settings)


def _within_load_balancer_quotas(settings: MicroservicesSettings) -> None:
    services = settings.services
    balancers = settings.load_balancer.count
    if balancers > 1:
        for index, service in enumerate(services):
            checks.require(
                service.path_pattern is None or _ROUTABLE_PATH.fullmatch(service.path_pattern) is not None,
                f"services[{index}].path_pattern", service.path_pattern,
                "does not start with a literal segment, and with load_balancer.count > 1 that "
                "segment picks the service's load balancer at CloudFront",
                "a pattern whose first segment has no wildcard, such as /orders/* or /orders",
            )
    held = Counter(balancer_of(service, balancers) for service in services)
    for balancer, count in sorted(held.items()):
        where = f"load balancer {balancer} of {balancers}" if balancers > 1 else "the load balancer"
        checks.require(
            count <= TARGET_GROUPS_PER_LOAD_BALANCER, "services", f"{len(services)} services",
            f"put {count} services on {where}, each with a target group, and AWS's 'Target "
            f"groups per Application Load Balancer' quota is {TARGET_GROUPS_PER_LOAD_BALANCER} "
            "and cannot be raised",
            f"at most {TARGET_GROUPS_PER_LOAD_BALANCER} services per load balancer: raise "
            "load_balancer.count to spread them over more load balancers",
        )
        checks.require(
            count <= settings.load_balancer.rules_quota, "services", f"{len(services)} services",
            f"put {count} listener rules on {where}",
            f"at most load_balancer.rules_quota = {settings.load_balancer.rules_quota} per load "
            "balancer (raise the AWS quota in Service Quotas, then load_balancer.rules_quota), "
            "or a higher load_balancer.count",
        )


def _unique_priorities(settings: MicroservicesSettings) -> None:
    services = settings.services
    taken = {listener_priority(service) for service in services}
    seen: dict[int, int] = {}
    for index, service in enumerate(services):
        priority = listener_priority(service)
        if priority in seen:
            other = services[seen[priority]]
            free = next(number for number in range(1, PRIORITY_LAST + 1) if number not in taken)
            how = "derived from the name" if service.priority is None else "set explicitly"
            raise Invalid(
                f"{priority} ({how}) is also the listener-rule priority of {other.name!r} "
                f"(services[{seen[priority]}])",
                f"a priority no other service has: set `priority = {free}` on "
                f"services[{index}] ({service.name!r}) or on {other.name!r}",
                key=f"services[{index}].priority",
            )
        seen[priority] = index
