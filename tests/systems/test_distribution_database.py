"""Distribution platform, database stack: licences and analytics tables."""

from __future__ import annotations

import pytest

from tests.helpers import resources_of_type


@pytest.fixture(scope="module", params=["dev", "staging", "prod"])
def database(request, built) -> dict:
    return built.template(f"distribution/{request.param}", "database")


def test_both_tables_are_on_demand_encrypted_recoverable_and_retained(database):
    tables = resources_of_type(database, "AWS::DynamoDB::Table")
    assert sorted(tables) == ["AnalyticsTable", "LicensesTable"]
    for table in tables.values():
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_licenses_are_keyed_by_key_hash_never_by_key(database):
    props = database["Resources"]["LicensesTable"]["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "keyHash", "KeyType": "HASH"}]
    names = {a["AttributeName"] for a in props["AttributeDefinitions"]}
    assert "licenseKey" not in names


def test_licenses_are_found_by_license_id_and_listed_by_customer(database):
    indexes = {
        index["IndexName"]: index
        for index in database["Resources"]["LicensesTable"]["Properties"]["GlobalSecondaryIndexes"]
    }
    assert indexes["byLicenseId"]["KeySchema"] == [{"AttributeName": "licenseId", "KeyType": "HASH"}]
    assert indexes["byCustomer"]["KeySchema"] == [
        {"AttributeName": "customerId", "KeyType": "HASH"},
        {"AttributeName": "createdAt", "KeyType": "RANGE"},
    ]


def test_analytics_events_expire_through_ttl(database):
    props = database["Resources"]["AnalyticsTable"]["Properties"]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    assert [k["AttributeName"] for k in props["KeySchema"]] == ["pk", "sk"]


def test_only_the_licenses_table_has_a_fixed_name(built):
    for env in ("dev", "staging", "prod"):
        database = built.template(f"distribution/{env}", "database")
        assert database["Resources"]["LicensesTable"]["Properties"]["TableName"] == (
            f"tap-distribution-{env}-licenses"
        )
        assert "TableName" not in database["Resources"]["AnalyticsTable"]["Properties"]


def test_deletion_protection_follows_config(built):
    def protected(env):
        table = built.template(f"distribution/{env}", "database")["Resources"]["LicensesTable"]
        return table["Properties"]["DeletionProtectionEnabled"]

    assert (protected("dev"), protected("prod")) == (False, True)
