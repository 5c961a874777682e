"""Microservices settings: every mistake names the key, the bad value and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tap import config
from tap.config.microservices import PRIORITY_LAST, SHARD_COUNT
from tap.config.schema import Invalid
from tap.errors import ConfigError
from tests.systems.microservices import config as table
from tests.systems.microservices import service, settings


def invalid(services=None, **tables) -> Invalid:
    with pytest.raises(Invalid) as caught:
        settings(table(services, **tables))
    return caught.value


def test_a_mistake_in_a_service_names_the_file_and_its_index(tmp_path: Path):
    folder = tmp_path / "config" / "microservices"
    folder.mkdir(parents=True)
    (folder / "dev.toml").write_text(
        '[[services]]\nname = "orders"\nrepository = "example-org/orders"\npath_pattern = "/o/*"\n'
        '[[services]]\nname = "catalog"\nrepository = "example-org/catalog"\npath_pattern = "/c/*"\n'
        "cpu = 256\nmemory = 4096\n"
    )
    with pytest.raises(ConfigError) as caught:
        config.load("microservices", "dev", tmp_path / "config")
    err = caught.value
    assert (err.file, err.key) == ("config/microservices/dev.toml", "services[1].memory")
    assert "4096" in err.problem
    assert err.allowed == "for cpu 256: 512, 1024, 2048 (Fargate task sizes)"


@pytest.mark.parametrize("cpu,memory", [(256, 512), (512, 4096), (1024, 8192), (4096, 30720), (16384, 122880)])
def test_valid_fargate_sizes_are_accepted(cpu, memory):
    settings(table([service("orders", cpu=cpu, memory=memory)]))


def test_cpu_outside_fargate_sizes_is_rejected():
    err = invalid([service("orders", cpu=300)])
    assert err.key == "services[0].cpu"
    assert "256, 512, 1024" in err.allowed


@pytest.mark.parametrize("counts,key", [
    ({"min_capacity": 3, "max_capacity": 2, "desired_count": 2}, "min_capacity"),
    ({"min_capacity": 1, "max_capacity": 4, "desired_count": 5}, "desired_count"),
])
def test_desired_count_must_lie_between_min_and_max(counts, key):
    err = invalid([service("orders", **counts)])
    assert err.key == f"services[0].{key}"


def test_a_service_routes_by_path_or_host_not_both():
    err = invalid([service("orders", host="orders.example.com")], cdn={"forward_host_header": True})
    assert err.key == "services[0].path_pattern"
    assert "exactly one of path_pattern and host" in err.allowed
    err = invalid([service("orders", path_pattern=None)])
    assert err.key == "services[0].path_pattern"


def test_host_routing_needs_the_host_header_forwarded_by_cloudfront():
    err = invalid([service("orders", path_pattern=None, host="orders.example.com")])
    assert err.key == "services[0].host"
    assert "cdn.forward_host_header = true" in err.allowed


@pytest.mark.parametrize("port", [80, 443, 1023, 65536])
def test_ports_below_1024_or_above_65535_are_rejected(port):
    err = invalid([service("orders", port=port)])
    assert err.key == "services[0].port"
    assert "1024" in err.allowed


@pytest.mark.parametrize("repository", ["orders", "example-org/", "/orders", "a/b/c", "example org/orders"])
def test_repository_must_be_owner_slash_name(repository):
    err = invalid([service("orders", repository=repository)])
    assert err.key == "services[0].repository"
    assert "owner/name" in err.allowed


@pytest.mark.parametrize("name", ["Orders", "orders_api", "-orders", "orders-", "1orders", "a" * 33])
def test_service_names_are_short_lower_case_words(name):
    assert invalid([service(name)]).key == "services[0].name"


def test_names_must_differ_in_more_than_dashes():
    err = invalid([service("order-api"), service("orderapi", path_pattern="/x/*")])
    assert err.key == "services[1].name"
    assert "'order-api'" in err.problem


def test_path_patterns_and_hosts_are_unique():
    err = invalid([service("orders"), service("catalog", path_pattern="/orders/*")])
    assert err.key == "services[1].path_pattern"
    err = invalid([service("orders", path_pattern=None, host="a.example.com"),
                   service("catalog", path_pattern=None, host="a.example.com")],
                  cdn={"forward_host_header": True})
    assert err.key == "services[1].host"


def test_a_shard_pin_is_checked_against_the_shard_count():
    assert invalid([service("orders", shard=SHARD_COUNT)]).key == "services[0].shard"
    assert settings(table([service("orders", shard=SHARD_COUNT - 1)])).services[0].shard == SHARD_COUNT - 1


def test_a_priority_pin_is_checked_against_the_alb_range():
    assert invalid([service("orders", priority=0)]).key == "services[0].priority"
    assert invalid([service("orders", priority=PRIORITY_LAST + 1)]).key == "services[0].priority"


def test_placement_is_not_the_schemas_business():
    """Two services with one priority load as settings: the clash is refused where placement
    lives (tests/systems/test_microservices_placement.py), when the system builds."""
    loaded = settings(table([service("orders", priority=5), service("catalog", priority=5)]))
    assert [each.priority for each in loaded.services] == [5, 5]


@pytest.mark.parametrize("secrets,problem", [
    ({"1BAD": "database"}, "variable name"),
    ({"TOKEN": "Bad_Name"}, "secret name"),
    ({"TOKEN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:partial"}, "incomplete ARN"),
])
def test_secret_references_are_checked(secrets, problem):
    err = invalid([service("orders", secrets=secrets)])
    assert err.key == "services[0].secrets", problem
    assert '"database"' in err.allowed


def test_a_variable_cannot_be_both_plain_and_secret_or_set_by_the_platform():
    err = invalid([service("orders", environment={"TOKEN": "x"}, secrets={"TOKEN": "database"})])
    assert err.key == "services[0].secrets.TOKEN"
    err = invalid([service("orders", environment={"DATABASE_HOST": "db"})])
    assert err.key == "services[0].environment.DATABASE_HOST"


@pytest.mark.parametrize("tag", ["latest", "bad tag", ".hidden", "x" * 129])
def test_image_tags_are_immutable_looking_and_never_latest(tag):
    err = invalid([service("orders", image_tag=tag)])
    assert err.key == "services[0].image_tag"
    assert "other than latest" in err.allowed


def test_load_balancer_certificate_needs_a_domain_name_cloudfront_can_use():
    arn = "arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
    err = invalid(load_balancer={"certificate_arn": arn})
    assert err.key == "load_balancer.domain_name"


def test_cdn_aliases_need_a_us_east_1_certificate():
    assert invalid(cdn={"aliases": ["shop.example.com"]}).key == "cdn.certificate_arn"
    arn = "arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
    err = invalid(cdn={"aliases": ["shop.example.com"], "certificate_arn": arn})
    assert err.key == "cdn.certificate_arn"
    assert "us-east-1" in err.allowed


def test_forwarding_the_host_over_https_needs_aliases_the_certificate_covers():
    arn = "arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
    err = invalid(load_balancer={"certificate_arn": arn, "domain_name": "origin.example.com"},
                  cdn={"forward_host_header": True})
    assert err.key == "cdn.forward_host_header"


def test_cache_versions_depend_on_the_engine():
    err = invalid(cache={"engine": "redis", "engine_version": "8.0"})
    assert err.key == "cache.engine_version"
    assert err.allowed == "one of 6.2, 7.0, 7.1"


def test_database_storage_ceiling_is_not_below_the_allocation():
    err = invalid(database={"allocated_storage_gb": 100, "max_allocated_storage_gb": 50})
    assert err.key == "database.max_allocated_storage_gb"


def test_database_version_carries_its_minor_version():
    assert invalid(database={"engine_version": "17"}).key == "database.engine_version"


def test_real_configs_have_two_three_and_several_services():
    counts = {env: len(config.load("microservices", env).services) for env in ("dev", "staging", "prod")}
    assert counts["dev"] == 2 and counts["staging"] == 3 and counts["prod"] >= 5
    prod = config.load("microservices", "prod")
    assert prod.network.az_count == 3 and prod.database.multi_az and prod.database.deletion_protection
    assert config.load("microservices", "dev").network.nat == "single"
