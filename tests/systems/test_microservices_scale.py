"""Many services: the generated configs of bench/services_scale.py build inside every quota.

N = 150 (more services than the platform's 128 shards) puts several services in many
shards and over two load balancers; N = 1,000 builds with AWS's default quotas.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from bench.services_scale import generated_config
from tap import quotas
from tap.config.microservices import SHARD_COUNT
from tap.systems.microservices.placement import shards
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
    assert len(per_shard) == len(shards(platform.settings)) <= SHARD_COUNT
    assert len(root["Parameters"]) - len(per_shard) < 10


def test_listener_priorities_are_unique(platform):
    priorities = [
        resource["Properties"]["Priority"]
        for name, template in platform.templates.items() if name.startswith("services-")
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule"
    ]
    assert len(priorities) == len(set(priorities)) == 150


def services_per_load_balancer(platform: Built) -> list[int]:
    rules = [
        resource["Properties"]["ListenerArn"]["Fn::Select"][0]
        for name, template in platform.templates.items() if name.startswith("services-")
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule"
    ]
    return sorted(Counter(rules).values())


def test_a_thousand_services_build_within_default_quotas():
    """Emitting checks every template's CloudFormation quotas; here, the load balancers'
    hard quota of 100 target groups and default quota of 100 rules each."""
    platform = Built(generated_config(1000))
    per_balancer = services_per_load_balancer(platform)
    assert sum(per_balancer) == 1000
    assert len(per_balancer) == platform.settings.load_balancer.count > 1
    assert max(per_balancer) <= 100
    assert platform.settings.load_balancer.rules_quota == 100
    routing = platform["cdn"]["Resources"]["RoutingFunction"]["Properties"]["FunctionCode"]
    assert len(routing.encode()) <= 10 * 1024


def test_generated_configs_are_deterministic():
    assert json.dumps(generated_config(50)) == json.dumps(generated_config(50))
