"""postgres_instance: encrypted, private, TLS-only PostgreSQL whose password RDS keeps."""

from __future__ import annotations

from dataclasses import replace

import pytest
from troposphere import Ref

from tap.blocks.lifecycle import is_stateful, keeps_data
from tap.blocks.rds import POSTGRES_PORT, postgres_instance
from tap.config.microservices import DatabaseSettings
from tap.stacktree import Stack
from tests.helpers import as_dict, only_resource

SPEC = DatabaseSettings()  # engine 17.6, single-AZ, no deletion protection


def build(spec=SPEC):
    stack = Stack("database", "rds")
    database = postgres_instance(stack, "Db", spec, subnets=["subnet-a", "subnet-b"],
                                 security_groups=[Ref("DbGroup")])
    return as_dict(stack), database


@pytest.fixture
def template() -> dict:
    return build()[0]


def instance_of(template: dict) -> dict:
    return only_resource(template, "AWS::RDS::DBInstance")


def props(template: dict) -> dict:
    return instance_of(template)["Properties"]


def test_password_is_generated_and_kept_by_rds_in_secrets_manager(template):
    found = props(template)
    assert found["ManageMasterUserPassword"] is True
    assert "MasterUserPassword" not in found
    assert found["MasterUsername"] == SPEC.master_username


def test_storage_is_encrypted_gp3_with_autoscaling_to_the_ceiling(template):
    found = props(template)
    assert found["StorageEncrypted"] is True
    assert (found["StorageType"], found["AllocatedStorage"], found["MaxAllocatedStorage"]) == ("gp3", "20", 100)


def test_instance_is_not_publicly_accessible_and_sits_in_the_given_subnets(template):
    found = props(template)
    assert found["PubliclyAccessible"] is False
    assert found["VPCSecurityGroups"] == [{"Ref": "DbGroup"}]
    assert found["DBSubnetGroupName"] == {"Ref": "DbSubnetGroup"}
    subnets = only_resource(template, "AWS::RDS::DBSubnetGroup")["Properties"]["SubnetIds"]
    assert subnets == ["subnet-a", "subnet-b"]


def test_parameter_group_forces_tls_for_every_connection(template):
    """rds.force_ssl = 1 makes RDS for PostgreSQL refuse connections without SSL/TLS."""
    group = only_resource(template, "AWS::RDS::DBParameterGroup")["Properties"]
    assert group["Parameters"]["rds.force_ssl"] == "1"
    assert props(template)["DBParameterGroupName"] == {"Ref": "DbParameters"}


def test_parameter_group_family_follows_the_major_version():
    template, _ = build(replace(SPEC, engine_version="16.4"))
    group = only_resource(template, "AWS::RDS::DBParameterGroup")["Properties"]
    assert group["Family"] == "postgres16"
    assert props(template)["EngineVersion"] == "16.4"


def test_iam_authentication_backups_and_minor_upgrades_are_on(template):
    found = props(template)
    assert found["EnableIAMDatabaseAuthentication"] is True
    assert found["BackupRetentionPeriod"] == SPEC.backup_retention_days
    assert (found["AutoMinorVersionUpgrade"], found["CopyTagsToSnapshot"]) == (True, True)


def test_logs_and_monitoring_are_exported(template):
    found = props(template)
    assert found["EnableCloudwatchLogsExports"] == ["postgresql", "upgrade"]
    assert (found["EnablePerformanceInsights"], found["PerformanceInsightsRetentionPeriod"]) == (True, 7)
    assert found["MonitoringInterval"] == 60
    assert found["MonitoringRoleArn"] == {"Fn::GetAtt": ["DbMonitoringRole", "Arn"]}


def test_monitoring_role_is_trusted_by_rds_monitoring_and_uses_the_aws_managed_policy(template):
    role = template["Resources"]["DbMonitoringRole"]["Properties"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": ["monitoring.rds.amazonaws.com"]}
    assert role["ManagedPolicyArns"] == [{"Fn::Sub": (
        "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
    )}]


def test_instance_snapshots_on_delete_and_replace(template):
    instance = instance_of(template)
    assert (instance["DeletionPolicy"], instance["UpdateReplacePolicy"]) == ("Snapshot", "Snapshot")
    assert is_stateful("AWS::RDS::DBInstance") and keeps_data(instance["DeletionPolicy"])


def test_single_az_and_unprotected_by_default_with_the_scanner_skip_saying_why(template):
    found = instance_of(template)
    assert (found["Properties"]["MultiAZ"], found["Properties"]["DeletionProtection"]) == (False, False)
    assert [skip["id"] for skip in found["Metadata"]["checkov"]["skip"]] == ["CKV_AWS_157"]


def test_multi_az_and_deletion_protection_when_asked():
    template, _ = build(replace(SPEC, multi_az=True, deletion_protection=True))
    found = instance_of(template)
    assert (found["Properties"]["MultiAZ"], found["Properties"]["DeletionProtection"]) == (True, True)
    assert "Metadata" not in found  # nothing left to excuse


def test_port_and_handles_point_at_the_instance():
    template, database = build()
    assert props(template)["Port"] == str(POSTGRES_PORT) == "5432"
    assert database.address.to_dict() == {"Fn::GetAtt": ["Db", "Endpoint.Address"]}
    assert database.port.to_dict() == {"Fn::GetAtt": ["Db", "Endpoint.Port"]}
    assert database.secret_arn.to_dict() == {"Fn::GetAtt": ["Db", "MasterUserSecret.SecretArn"]}


def test_cloudformation_names_the_instance(template):
    assert "DBInstanceIdentifier" not in props(template)
