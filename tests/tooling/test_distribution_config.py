"""Distribution settings: the rules that span keys."""

from __future__ import annotations

import pytest

from tap.config.distribution import ApiSettings, CdnSettings
from tap.config.schema import Invalid, parse

CERT = "arn:aws:acm:us-east-1:111122223333:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"


def invalid(cls, table) -> Invalid:
    with pytest.raises(Invalid) as caught:
        parse(cls, table)
    return caught.value


def test_alias_needs_a_certificate():
    err = invalid(CdnSettings, {"alias": "downloads.example.com"})
    assert err.key == "certificate_arn"
    assert "both alias and certificate_arn" in err.allowed


def test_certificate_must_be_in_us_east_1():
    elsewhere = CERT.replace("us-east-1", "eu-west-1")
    err = invalid(CdnSettings, {"alias": "d.example.com", "certificate_arn": elsewhere})
    assert err.key == "certificate_arn"
    assert "us-east-1" in err.allowed


def test_alias_must_be_a_dns_name():
    assert invalid(CdnSettings, {"alias": "Downloads!", "certificate_arn": CERT}).key == "alias"


def test_usage_plan_names_are_unique():
    plan = {"name": "standard", "rate_limit": 1, "burst_limit": 1, "quota_limit": 1}
    err = invalid(ApiSettings, {"usage_plans": [plan, dict(plan)]})
    assert err.key == "usage_plans[1].name"


def test_at_least_one_usage_plan():
    assert invalid(ApiSettings, {"usage_plans": []}).key == "usage_plans"


def test_quota_period_is_a_known_period():
    plan = {"name": "standard", "rate_limit": 1, "burst_limit": 1, "quota_limit": 1, "quota_period": "YEAR"}
    err = invalid(ApiSettings, {"usage_plans": [plan]})
    assert err.key == "usage_plans[0].quota_period"
    assert err.allowed == 'one of "DAY", "WEEK", "MONTH"'
