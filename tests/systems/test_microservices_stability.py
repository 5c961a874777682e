"""Stable placement: adding, removing, reordering or changing services never moves another
service's resources to another stack, never renames them and never changes another
service's listener-rule priority (any of those would delete and recreate a live service).
Only the shards that gain or lose a service change, and the root that points at them."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.systems.microservices import Built, config, names_with_same_shard, service

SHARED_A, SHARED_B, JOINS_THEM = names_with_same_shard(3)
BASE = ["orders", "catalog", "accounts", "payments", "search", SHARED_A, SHARED_B]


def build(names: list[str], **overrides) -> Built:
    return Built(config([service(name, **overrides.get(name, {})) for name in names]))


def placement(built: Built) -> dict[str, dict]:
    """Per service: its stacks, every resource it owns (by logical id) and its priority."""
    result = {}
    for settings in built.settings.services:
        name = settings.name
        runtime, pipelines = built.stack_of(name), built.pipelines_of(name)
        result[name] = {
            "stacks": (runtime, pipelines),
            "resources": json.dumps({
                "runtime": built.resources_of(name, runtime),
                "pipelines": built.resources_of(name, pipelines),
            }, sort_keys=True),
            "priority": built[runtime]["Resources"][f"{_camel(name)}ListenerRule"]["Properties"]["Priority"],
        }
    return result


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))


def changed_files(before: Built, after: Built) -> set[str]:
    names = set(before.files) | set(after.files)
    return {name for name in names if before.files.get(name) != after.files.get(name)}


def assert_others_unchanged(before: Built, after: Built, touched: set[str]) -> None:
    old, new = placement(before), placement(after)
    for name in set(old) & set(new) - touched:
        assert new[name] == old[name], name


def shard_files(built: Built, name: str) -> set[str]:
    return {f"{built.stack_of(name)}.template.json", f"{built.pipelines_of(name)}.template.json"}


BEFORE = build(BASE)


def test_reordering_services_changes_no_file():
    after = build(list(reversed(BASE)))
    assert changed_files(BEFORE, after) == set()


def test_adding_a_service_in_a_new_shard_adds_its_stacks_and_touches_only_the_root():
    after = build(BASE + ["shipping"])
    assert after.stack_of("shipping") not in {BEFORE.stack_of(name) for name in BASE}
    assert changed_files(BEFORE, after) == {
        "root.template.json", "manifest.json", "workflows/shipping.yml",
        "workflows/pull-requests/shipping.yml",
    } | shard_files(after, "shipping")
    assert_others_unchanged(BEFORE, after, {"shipping"})


def test_adding_a_service_to_an_occupied_shard_changes_only_that_shard_and_the_root():
    after = build(BASE + [JOINS_THEM])
    assert after.stack_of(JOINS_THEM) == BEFORE.stack_of(SHARED_A) == BEFORE.stack_of(SHARED_B)
    assert changed_files(BEFORE, after) == {
        "root.template.json", "manifest.json", f"workflows/{JOINS_THEM}.yml",
        f"workflows/pull-requests/{JOINS_THEM}.yml",
    } | shard_files(after, JOINS_THEM)
    # Its neighbours keep every logical id, every property and their priority.
    assert_others_unchanged(BEFORE, after, {JOINS_THEM})


def test_removing_a_service_changes_only_its_shard_and_the_root():
    after = build([name for name in BASE if name != SHARED_A])
    assert changed_files(BEFORE, after) == {
        "root.template.json", "manifest.json", f"workflows/{SHARED_A}.yml",
        f"workflows/pull-requests/{SHARED_A}.yml",
    } | shard_files(BEFORE, SHARED_A)
    assert_others_unchanged(BEFORE, after, {SHARED_A})


def test_removing_the_last_service_of_a_shard_removes_its_stacks():
    after = build([name for name in BASE if name != "orders"])
    assert shard_files(BEFORE, "orders").isdisjoint(after.files)
    assert_others_unchanged(BEFORE, after, {"orders"})


def test_changing_a_service_changes_only_its_shard():
    after = build(BASE, **{SHARED_B: {"cpu": 512, "memory": 1024}})
    assert changed_files(BEFORE, after) == {
        "root.template.json", "manifest.json", f"{BEFORE.stack_of(SHARED_B)}.template.json"}
    assert_others_unchanged(BEFORE, after, {SHARED_B})


def test_priorities_are_derived_from_the_name_alone():
    alone = build(["orders"])
    assert placement(alone)["orders"]["priority"] == placement(BEFORE)["orders"]["priority"]


def test_pinning_a_new_service_to_a_shard_leaves_its_neighbours_in_place():
    pinned_shard = int(BEFORE.stack_of("orders").split("-")[1])
    after = build(BASE + ["shipping"], shipping={"shard": pinned_shard})
    assert after.stack_of("shipping") == BEFORE.stack_of("orders")
    assert_others_unchanged(BEFORE, after, {"shipping"})


POOL = [f"svc-{number}" for number in range(24)] + [SHARED_A, SHARED_B, JOINS_THEM]


@hypothesis_settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(POOL), min_size=1, max_size=12, unique=True),
    st.lists(st.sampled_from(POOL), min_size=1, max_size=12, unique=True),
)
def test_any_two_service_lists_place_their_common_services_identically(first, second):
    before, after = build(first), build(second)
    assert_others_unchanged(before, after, set())
