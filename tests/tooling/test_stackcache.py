"""Stacks kept between builds: a shard made before from the same settings is read back,
and what is emitted is the same bytes as a build without the cache."""

from __future__ import annotations

from pathlib import Path

from troposphere import sns

from tap.emit import emit_tree
from tap.package import FunctionPackager
from tap.stackcache import StackCache
from tap.stacktree import Stack
from tap.systems import Tools
from tap.systems.microservices import build
from tap.systems.microservices.placement import shard_of, shards
from tests.systems.microservices import config, service, settings

SERVICES = [service(name) for name in ("orders", "catalog", "billing", "search", "users", "carts")]


def emitted(table: dict, stacks: StackCache) -> dict[str, bytes]:
    system = build(settings(table), Tools(FunctionPackager(), stacks))
    files = emit_tree(system.root, "microservices/test", {}, system.files).files
    stacks.keep()
    return files


def test_a_second_build_reads_every_shard_back_and_emits_the_same_bytes(tmp_path: Path):
    table = config(SERVICES)
    without_cache = emitted(table, StackCache())
    first, second = StackCache(tmp_path), StackCache(tmp_path)
    assert emitted(table, first) == without_cache
    assert emitted(table, second) == without_cache
    count = len(shards(settings(table)))
    assert (first.made, first.reused) == (count, 0)
    assert (second.made, second.reused) == (0, count)


def test_editing_one_service_makes_only_its_shard_again(tmp_path: Path):
    emitted(config(SERVICES), StackCache(tmp_path))
    edited_services = [service("orders", memory=1024), *SERVICES[1:]]
    edited = config(edited_services)
    stacks = StackCache(tmp_path)
    files = emitted(edited, stacks)
    assert files == emitted(edited, StackCache())
    assert stacks.made == 1 and stacks.reused == len(shards(settings(edited))) - 1
    orders = next(s for s in settings(edited).services if s.name == "orders")
    assert f"services-{shard_of(orders):03d}.template.json" in files


def test_a_platform_setting_makes_every_shard_again(tmp_path: Path):
    emitted(config(SERVICES), StackCache(tmp_path))
    retagged = config(SERVICES, tags={"project": "tap", "environment": "other"})
    stacks = StackCache(tmp_path)
    assert emitted(retagged, stacks) == emitted(retagged, StackCache())
    assert stacks.reused == 0


def test_a_damaged_entry_is_made_again(tmp_path: Path):
    table = config(SERVICES)
    emitted(table, StackCache(tmp_path))
    (damaged,) = [path for path in tmp_path.rglob("services-*.json")][:1]
    damaged.write_bytes(b"{ not json")
    stacks = StackCache(tmp_path)
    assert emitted(table, stacks) == emitted(table, StackCache())
    assert stacks.made == 1


def test_a_stack_that_uploads_assets_is_not_kept(tmp_path: Path):
    class Code:
        kind, name, data, sha256, s3_key = "function", "worker", b"zip", "0" * 64, "functions/worker.zip"

    def make() -> Stack:
        stack = Stack("worker", "w")
        stack.add(sns.Topic("Topic"))
        stack.upload(Code())
        return stack

    stacks = StackCache(tmp_path)
    stack = stacks.stack("worker material", make)
    stack.body
    stacks.keep()
    assert not any(tmp_path.rglob("*.json"))


def test_the_cache_is_kept_per_version_of_the_code(tmp_path: Path):
    from tap.stackcache import code_digest

    assert StackCache(tmp_path).folder == tmp_path / code_digest()
    assert len(code_digest()) == 16
