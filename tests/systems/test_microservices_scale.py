"""Many services: the generated configs of bench/services_scale.py build inside every quota.

N = 1,000 is the benchmark's job; N = 150 (more services than the platform's 128 shards)
keeps the suite fast and still puts several services in many shards.
"""

from __future__ import annotations

import json

import pytest

from bench.services_scale import generated_config
from tap import quotas
from tap.config.microservices import SHARD_COUNT
from tests.systems.microservices import Built


@pytest.fixture(scope="module")
def platform() -> Built:
    return Built(generated_config(150))  # emit_tree fails the build on any quota crossed


def test_every_template_stays_inside_the_quotas(platform):
    for info in platform.emission.templates:
        usage = info.usage
        assert usage.breaches() == [], info.file_name
        assert usage.resources <= quotas.MAX_RESOURCES
        assert usage.parameters <= quotas.MAX_PARAMETERS
        assert usage.outputs <= quotas.MAX_OUTPUTS
        assert usage.bytes <= quotas.MAX_TEMPLATE_BYTES


def test_every_service_is_placed_once(platform):
    placed = [
        logical_id for name, template in platform.templates.items() if name.startswith("services-")
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::ECS::Service"
    ]
    assert len(placed) == len(set(placed)) == 150


def test_the_root_holds_no_per_service_parameters_or_outputs(platform):
    root = platform["root"]
    assert len(root["Outputs"]) < 20
    per_shard = [name for name in root["Parameters"] if name.endswith("ImageTags")]
    assert len(per_shard) == len(platform.settings.shards) <= SHARD_COUNT
    assert len(root["Parameters"]) - len(per_shard) < 10


def test_listener_priorities_are_unique(platform):
    priorities = [
        resource["Properties"]["Priority"]
        for name, template in platform.templates.items() if name.startswith("services-")
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule"
    ]
    assert len(priorities) == len(set(priorities)) == 150


def test_generated_configs_are_deterministic():
    assert json.dumps(generated_config(50)) == json.dumps(generated_config(50))
