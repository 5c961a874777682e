"""Microservices platform, database stack: RDS for PostgreSQL."""

from __future__ import annotations

import pytest

from tests.helpers import only_resource


@pytest.fixture(scope="module")
def prod(built) -> dict:
    return built.template("microservices/prod", "database")


@pytest.fixture(scope="module")
def dev(built) -> dict:
    return built.template("microservices/dev", "database")


def instance(template: dict) -> dict:
    return only_resource(template, "AWS::RDS::DBInstance")


def test_rds_generates_and_keeps_the_master_password(prod):
    props = instance(prod)["Properties"]
    assert props["ManageMasterUserPassword"] is True
    assert "MasterUserPassword" not in props
    assert prod["Outputs"]["DatabaseSecretArn"]["Value"] == {
        "Fn::GetAtt": ["Database", "MasterUserSecret.SecretArn"]
    }


def test_storage_is_encrypted_private_and_snapshotted_on_delete(prod):
    db = instance(prod)
    assert db["Properties"]["StorageEncrypted"] is True
    assert db["Properties"]["PubliclyAccessible"] is False
    assert (db["DeletionPolicy"], db["UpdateReplacePolicy"]) == ("Snapshot", "Snapshot")


def test_prod_is_multi_az_with_deletion_protection_and_dev_is_not(prod, dev):
    assert (instance(prod)["Properties"]["MultiAZ"], instance(prod)["Properties"]["DeletionProtection"]) == (True, True)
    assert (instance(dev)["Properties"]["MultiAZ"], instance(dev)["Properties"]["DeletionProtection"]) == (False, False)


def test_backups_performance_insights_monitoring_and_log_exports(dev):
    props = instance(dev)["Properties"]
    assert props["BackupRetentionPeriod"] == 7
    assert props["EnablePerformanceInsights"] is True
    assert props["MonitoringInterval"] == 60
    assert props["MonitoringRoleArn"] == {"Fn::GetAtt": ["DatabaseMonitoringRole", "Arn"]}
    assert props["EnableCloudwatchLogsExports"] == ["postgresql", "upgrade"]


def test_parameter_group_forces_tls_for_the_engine_major_version(dev):
    group = only_resource(dev, "AWS::RDS::DBParameterGroup")["Properties"]
    assert group["Family"] == "postgres17"
    assert group["Parameters"]["rds.force_ssl"] == "1"
    assert instance(dev)["Properties"]["DBParameterGroupName"] == {"Ref": "DatabaseParameters"}


def test_instance_sits_in_the_private_subnets_behind_its_security_group(dev):
    subnets = only_resource(dev, "AWS::RDS::DBSubnetGroup")["Properties"]["SubnetIds"]
    assert subnets == {"Ref": "PrivateSubnetIds"}
    assert dev["Parameters"]["PrivateSubnetIds"]["Type"] == "List<AWS::EC2::Subnet::Id>"
    assert instance(dev)["Properties"]["VPCSecurityGroups"] == [{"Ref": "DatabaseSecurityGroupId"}]
