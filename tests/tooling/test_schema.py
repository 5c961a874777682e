"""The settings schema machinery, on a settings class of its own."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Optional

import pytest

from tap.config import checks
from tap.config.schema import Invalid, parse, setting


@dataclass(frozen=True)
class Route:
    name: str = setting(check=checks.matches(r"[a-z]+", "lower-case letters"))
    port: int = setting(8080, check=checks.between(1, 65535))


@dataclass(frozen=True)
class Example:
    alarm_email: Optional[str] = setting(None, check=checks.email)
    certificate_arn: Optional[str] = setting(None, check=checks.acm_certificate_arn)
    mode: Literal["fast", "safe"] = setting("safe")
    ratio: float = setting(0.5, check=checks.between(0, 1))
    routes: tuple[Route, ...] = setting([])
    labels: Mapping[str, str] = setting({})
    minimum: int = setting(1)
    maximum: int = setting(2)

    def validate(self) -> None:
        checks.require(
            self.minimum <= self.maximum, "minimum", self.minimum,
            f"is above maximum ({self.maximum})", "minimum <= maximum",
        )


def invalid(table: dict) -> Invalid:
    with pytest.raises(Invalid) as caught:
        parse(Example, table)
    return caught.value


@pytest.mark.parametrize("address", ["ops", "ops@", "@example.com", "ops@example", "a b@c.de"])
def test_malformed_email_is_rejected(address):
    err = invalid({"alarm_email": address})
    assert err.key == "alarm_email"
    assert "e-mail address" in err.allowed


def test_good_email_is_accepted():
    assert parse(Example, {"alarm_email": "ops+alerts@example.co.uk"}).alarm_email == (
        "ops+alerts@example.co.uk"
    )


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:acm:us-east-1:123456789012:certificate",
        "arn:aws:iam::123456789012:certificate/abc",
        "arn:aws:acm:us-east-1:12345:certificate/12345678-1234-1234-1234-123456789012",
        "certificate/12345678-1234-1234-1234-123456789012",
    ],
)
def test_malformed_certificate_arn_is_rejected(arn):
    err = invalid({"certificate_arn": arn})
    assert err.key == "certificate_arn"
    assert "arn:<partition>:acm:<region>:<account>:certificate/<uuid>" in err.allowed


@pytest.mark.parametrize("partition", ["aws", "aws-cn", "aws-us-gov"])
def test_certificate_arn_in_any_partition_is_accepted(partition):
    arn = f"arn:{partition}:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
    assert parse(Example, {"certificate_arn": arn}).certificate_arn == arn


def test_optional_setting_left_out_is_none():
    assert parse(Example, {}).alarm_email is None


def test_error_inside_a_list_of_tables_names_the_index():
    err = invalid({"routes": [{"name": "api"}, {"name": "web", "port": 70000}]})
    assert err.key == "routes[1].port"
    assert "70000" in err.problem


def test_unknown_key_inside_a_list_of_tables_names_the_index():
    err = invalid({"routes": [{"name": "api", "prot": 80}]})
    assert err.key == "routes[0].prot"
    assert "did you mean 'port'" in err.problem


def test_missing_required_key_is_named():
    err = invalid({"routes": [{"port": 80}]})
    assert err.key == "routes[0].name"
    assert err.problem == "required setting is missing"


def test_list_expected_but_table_given():
    err = invalid({"routes": {"name": "api"}})
    assert err.key == "routes"
    assert err.allowed.startswith("a list of a table with keys name, port")


def test_float_setting_accepts_integers_and_checks_range():
    assert parse(Example, {"ratio": 1}).ratio == 1.0
    assert invalid({"ratio": 1.5}).key == "ratio"


def test_cross_field_rule_names_the_key():
    err = invalid({"minimum": 5, "maximum": 2})
    assert err.key == "minimum"
    assert "above maximum (2)" in err.problem


def test_lists_become_tuples_and_tables_become_read_only():
    settings = parse(Example, {"routes": [{"name": "api"}], "labels": {"b": "2", "a": "1"}})
    assert settings.routes == (Route(name="api", port=8080),)
    assert list(settings.labels) == ["a", "b"]
    with pytest.raises(TypeError):
        settings.labels["c"] = "3"  # type: ignore[index]


def test_internal_fields_cannot_be_set_from_a_file():
    from tap.config.microservices import MicroservicesSettings

    with pytest.raises(Invalid) as caught:
        parse(MicroservicesSettings, {"env": "prod"})
    assert caught.value.key == "env"
