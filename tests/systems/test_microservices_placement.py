"""Placement of microservices: each service's shard, load balancer and listener priority are
functions of that service alone, and the build refuses a placement AWS would not accept."""

from __future__ import annotations

import pytest

from tap.config.microservices import DERIVED_PRIORITY_FIRST, PRIORITY_LAST, SHARD_COUNT
from tap.config.schema import Invalid
from tap.systems import Tools
from tap.systems.microservices import build
from tap.systems.microservices.placement import (
    balancer_of,
    check_placement,
    derived_priority,
    listener_priority,
    routing_hash,
    routing_key,
    services_in_shard,
    shard_of,
    shards,
)
from tests.systems.microservices import config, names_with_same_shard, service, settings

OTHERS = [service(f"svc-{n}") for n in range(30)]


def placed(table: dict, count: int = 3) -> tuple[int, int, int]:
    """(shard, load balancer of `count`, listener priority) of the service `table` describes."""
    (loaded,) = [each for each in settings(config([table, *OTHERS])).services if each.name == table["name"]]
    return shard_of(loaded), balancer_of(loaded, count), listener_priority(loaded)


def invalid(table: dict) -> Invalid:
    with pytest.raises(Invalid) as caught:
        check_placement(settings(table))
    return caught.value


# --- one service -------------------------------------------------------------------


def test_a_services_placement_does_not_depend_on_the_other_services():
    alone = settings(config([service("orders")])).services[0]
    where = (shard_of(alone), balancer_of(alone, 3), listener_priority(alone))
    crowded = settings(config([*OTHERS[:15], service("orders"), *OTHERS[15:]]))
    reordered = settings(config([service("orders"), *reversed(OTHERS)]))
    for loaded in (crowded, reordered):
        (orders,) = [each for each in loaded.services if each.name == "orders"]
        assert (shard_of(orders), balancer_of(orders, 3), listener_priority(orders)) == where


def test_a_shard_pin_wins_over_the_name():
    derived, _, _ = placed(service("orders"))
    pinned = (derived + 1) % SHARD_COUNT
    assert placed(service("orders", shard=pinned))[0] == pinned


def test_an_explicit_priority_wins_over_the_derived_one():
    _, _, derived = placed(service("orders"))
    assert derived != 7
    assert placed(service("orders", priority=7))[2] == 7


def test_changing_a_services_size_does_not_move_it():
    assert placed(service("orders", cpu=1024, memory=2048)) == placed(service("orders"))


def test_derived_shards_and_priorities_stay_in_their_ranges():
    for number in range(300):
        loaded = settings(config([service(f"svc-{number}")])).services[0]
        assert 0 <= shard_of(loaded) < SHARD_COUNT
        assert DERIVED_PRIORITY_FIRST <= derived_priority(loaded) <= PRIORITY_LAST


def test_the_load_balancer_follows_the_routing_key_not_the_name():
    orders = settings(config([service("orders", path_pattern="/shop/*")])).services[0]
    catalog = settings(config([service("catalog", path_pattern="/shop/items/*")])).services[0]
    assert routing_key(orders) == routing_key(catalog) == "shop"
    assert all(balancer_of(orders, count) == balancer_of(catalog, count) for count in range(1, 26))
    host = settings(config([service("web", path_pattern=None, host="web.example.com")],
                           cdn={"forward_host_header": True})).services[0]
    assert routing_key(host) == "web.example.com"


def test_routing_hash_is_32_bit_fnv_1a():
    """The published FNV-1a test vectors: CloudFront's routing function computes the same."""
    assert routing_hash("") == 0x811C9DC5
    assert routing_hash("a") == 0xE40C292C
    assert routing_hash("foobar") == 0xBF9CF968


# --- all services --------------------------------------------------------------------


def test_a_shard_holds_its_services_sorted_by_name_whatever_their_order():
    first, second, third = names_with_same_shard(3)
    loaded = settings(config([service(third), service("orders"), service(first), service(second)]))
    shard = shard_of(loaded.services[0])
    assert [each.name for each in services_in_shard(loaded, shard)] == sorted([first, second, third])
    assert shards(loaded) == tuple(sorted({shard, shard_of(loaded.services[1])}))
    assert services_in_shard(loaded, next(n for n in range(SHARD_COUNT) if n not in shards(loaded))) == ()


# --- what AWS accepts -----------------------------------------------------------------


def test_an_explicit_priority_clash_names_both_services_and_a_free_priority():
    err = invalid(config([service("orders", priority=5), service("catalog", priority=5)]))
    assert err.key == "services[1].priority"
    assert "'orders'" in err.problem and "(set explicitly)" in err.problem
    assert "set `priority = 1`" in err.allowed


def test_a_derived_priority_clash_asks_for_an_explicit_priority():
    by_priority: dict[int, str] = {}
    for number in range(5000):
        name = f"svc-{number}"
        priority = derived_priority(settings(config([service(name)])).services[0])
        if priority in by_priority:
            clash = [by_priority[priority], name]
            break
        by_priority[priority] = name
    err = invalid(config([service(clash[0]), service(clash[1], path_pattern="/other/*")]))
    assert err.key == "services[1].priority"
    assert "derived from the name" in err.problem
    check_placement(settings(config([service(clash[0]), service(clash[1], path_pattern="/other/*", priority=7)])))


def test_more_services_than_the_listener_rule_quota_are_refused():
    services = [service(f"svc-{n}") for n in range(4)]
    err = invalid(config(services, load_balancer={"rules_quota": 3}))
    assert err.key == "services"
    assert "put 4 listener rules on the load balancer" in err.problem
    assert "load_balancer.rules_quota" in err.allowed
    check_placement(settings(config(services, load_balancer={"rules_quota": 4})))


def test_the_target_group_quota_counts_the_services_of_each_load_balancer():
    """101 services over two load balancers pass only if neither holds more than 100."""
    tables = [service(f"svc-{n:03d}", priority=n + 1) for n in range(201)]
    loaded = settings(config(tables, load_balancer={"count": 2, "rules_quota": 1000}))
    on_zero = [table for table, each in zip(tables, loaded.services) if balancer_of(each, 2) == 0]
    assert len(on_zero) > 100  # 201 services: one load balancer gets more than half
    err = invalid(config(on_zero[:101], load_balancer={"count": 2, "rules_quota": 1000}))
    assert err.key == "services"
    assert "put 101 services on load balancer 0 of 2" in err.problem
    assert "cannot be raised" in err.problem
    check_placement(settings(config(on_zero[:100], load_balancer={"count": 2, "rules_quota": 1000})))


def test_the_build_refuses_a_bad_placement_before_building_anything():
    clash = settings(config([service("orders", priority=5), service("catalog", priority=5)]))
    with pytest.raises(Invalid) as caught:
        build(clash, Tools())
    assert caught.value.key == "services[1].priority"
