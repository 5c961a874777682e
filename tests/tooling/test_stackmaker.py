"""Stacks made many of: a shard made before from the same settings is read back, missing
ones may be made in worker processes, and what is emitted is the same bytes either way."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from troposphere import sns

from tap.emit import emit_tree
from tap.package import FunctionPackager
from tap.stackmaker import StackMaker
from tap.stacktree import Stack
from tap.systems import Tools
from tap.systems.microservices import build
from tap.systems.microservices.placement import shard_of, shards
from tests.systems.microservices import config, service, settings

SERVICES = [service(name) for name in ("orders", "catalog", "billing", "search", "users", "carts")]


def emitted(table: dict, stacks: StackMaker) -> dict[str, bytes]:
    system = build(settings(table), Tools(FunctionPackager(), stacks))
    files = emit_tree(system.root, "microservices/test", {}, system.files).files
    stacks.keep()
    return files


def test_a_second_build_reads_every_shard_back_and_emits_the_same_bytes(tmp_path: Path):
    table = config(SERVICES)
    without_cache = emitted(table, StackMaker())
    first, second = StackMaker(tmp_path), StackMaker(tmp_path)
    assert emitted(table, first) == without_cache
    assert emitted(table, second) == without_cache
    count = len(shards(settings(table)))
    assert (first.made, first.reused) == (count, 0)
    assert (second.made, second.reused) == (0, count)


def test_editing_one_service_makes_only_its_shard_again(tmp_path: Path):
    emitted(config(SERVICES), StackMaker(tmp_path))
    edited_services = [service("orders", memory=1024), *SERVICES[1:]]
    edited = config(edited_services)
    stacks = StackMaker(tmp_path)
    files = emitted(edited, stacks)
    assert files == emitted(edited, StackMaker())
    assert stacks.made == 1 and stacks.reused == len(shards(settings(edited))) - 1
    orders = next(s for s in settings(edited).services if s.name == "orders")
    assert f"services-{shard_of(orders):03d}.template.json" in files


def test_a_platform_setting_makes_every_shard_again(tmp_path: Path):
    emitted(config(SERVICES), StackMaker(tmp_path))
    retagged = config(SERVICES, tags={"project": "tap", "environment": "other"})
    stacks = StackMaker(tmp_path)
    assert emitted(retagged, stacks) == emitted(retagged, StackMaker())
    assert stacks.reused == 0


def test_a_damaged_entry_is_made_again(tmp_path: Path):
    table = config(SERVICES)
    emitted(table, StackMaker(tmp_path))
    damaged = next(path for path in tmp_path.rglob("*") if path.is_file())
    data = damaged.read_bytes()
    damaged.write_bytes(data[:-100] + b"x" * 100)  # a body's end overwritten
    stacks = StackMaker(tmp_path)
    assert emitted(table, stacks) == emitted(table, StackMaker())
    assert stacks.made == 1


def test_a_stack_that_uploads_assets_is_not_kept(tmp_path: Path):
    class Code:
        kind, name, data, sha256, s3_key = "function", "worker", b"zip", "0" * 64, "functions/worker.zip"

    def make() -> Stack:
        stack = Stack("worker", "w")
        stack.add(sns.Topic("Topic"))
        stack.upload(Code())
        return stack

    stacks = StackMaker(tmp_path)
    (stack,) = stacks.make([("worker material", make)])
    stack.body
    stacks.keep()
    assert not any(path.is_file() for path in tmp_path.rglob("*"))


def test_shards_made_in_workers_are_the_same_bytes(tmp_path: Path):
    table = config(SERVICES)
    parallel = StackMaker(tmp_path, workers=2, parallel_from=2)
    assert emitted(table, parallel) == emitted(table, StackMaker())
    assert parallel.made == len(shards(settings(table)))
    assert emitted(table, StackMaker(tmp_path)) == emitted(table, StackMaker())  # and kept


def test_a_stack_whose_build_fails_in_a_worker_fails_here_with_its_own_error():
    def broken() -> Stack:
        raise ValueError("the real reason")

    def fine(name: str) -> Stack:
        stack = Stack(name, name)
        stack.add(sns.Topic("Topic"))
        return stack

    maker = StackMaker(workers=2, parallel_from=2)
    with pytest.raises(ValueError, match="the real reason"):
        maker.make([("a", lambda: fine("one")), ("b", broken), ("c", lambda: fine("three"))])


def test_the_cache_is_kept_per_version_of_the_code(tmp_path: Path):
    from tap.stackmaker import code_digest

    assert StackMaker(tmp_path).folder == tmp_path / code_digest()
    assert len(code_digest()) == 16


def test_a_released_shard_leaves_nothing_for_the_cycle_collector():
    # Workers make hundreds of shards with the collector off (build.py): each must be
    # freed by reference counting alone once released, or workers grow with every one.
    captured: list = []

    class Capturing(StackMaker):
        def make(self, requests):
            captured.extend(make for _, make in requests)
            return super().make(requests)

    build(settings(config(SERVICES)), Tools(FunctionPackager(), Capturing()))
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for make in captured:
            shard = make()
            shard.body  # rendered, as a worker renders it
            shard.release()
            del shard
            assert gc.collect() == 0
    finally:
        if was_enabled:
            gc.enable()
