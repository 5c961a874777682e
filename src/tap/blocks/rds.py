"""RDS for PostgreSQL: one instance in private subnets, credentials RDS manages.

Secure defaults: the master password is generated and kept by RDS in
Secrets Manager (ManageMasterUserPassword; the template never holds it),
storage encrypted (gp3, autoscaling up to a ceiling), not publicly
accessible, a parameter group that forces TLS (`rds.force_ssl`), IAM
database authentication available, automated backups, Performance
Insights, Enhanced Monitoring every 60 s, PostgreSQL and upgrade logs
exported to CloudWatch Logs, minor versions upgraded automatically, tags
copied to snapshots, and DeletionPolicy/UpdateReplacePolicy Snapshot.
Multi-AZ and deletion protection are the caller's choice (production).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from troposphere import GetAtt, Ref, rds

from tap.blocks.arns import aws_managed_policy
from tap.blocks.iam import Role, service_trust
from tap.blocks.lifecycle import snapshot, suppress
from tap.cfnvalue import CfnValue
from tap.stacktree import Stack

POSTGRES_PORT = 5432


class PostgresSpec(Protocol):
    """What the instance is made of (tap.config.microservices.DatabaseSettings is one)."""

    @property
    def engine_version(self) -> str: ...
    @property
    def instance_class(self) -> str: ...
    @property
    def allocated_storage_gb(self) -> int: ...
    @property
    def max_allocated_storage_gb(self) -> int: ...
    @property
    def multi_az(self) -> bool: ...
    @property
    def deletion_protection(self) -> bool: ...
    @property
    def backup_retention_days(self) -> int: ...
    @property
    def database_name(self) -> str: ...
    @property
    def master_username(self) -> str: ...
    @property
    def performance_insights_retention_days(self) -> int: ...


@dataclass(frozen=True)
class Postgres:
    instance: rds.DBInstance

    @property
    def address(self) -> GetAtt:
        return GetAtt(self.instance, "Endpoint.Address")

    @property
    def port(self) -> GetAtt:
        return GetAtt(self.instance, "Endpoint.Port")

    @property
    def secret_arn(self) -> GetAtt:
        """The Secrets Manager secret RDS keeps the master credentials in (JSON: username, password)."""
        return GetAtt(self.instance, "MasterUserSecret.SecretArn")


def postgres_instance(
    stack: Stack, logical_id: str, spec: PostgresSpec, *, subnets: CfnValue, security_groups: list[CfnValue]
) -> Postgres:
    subnet_group = stack.add(
        rds.DBSubnetGroup(
            f"{logical_id}SubnetGroup",
            DBSubnetGroupDescription="Private subnets of the database",
            SubnetIds=subnets,
        )
    )
    parameters = stack.add(
        rds.DBParameterGroup(
            f"{logical_id}Parameters",
            Description="PostgreSQL settings: TLS required, slow statements logged",
            Family="postgres" + spec.engine_version.split(".")[0],
            Parameters={"rds.force_ssl": "1", "log_min_duration_statement": "1000"},
        )
    )
    monitoring = Role(
        stack, f"{logical_id}MonitoringRole",
        service_trust("monitoring.rds.amazonaws.com"),
        "Lets RDS Enhanced Monitoring publish OS metrics",
    )
    monitoring.resource.ManagedPolicyArns = [
        aws_managed_policy("service-role/AmazonRDSEnhancedMonitoringRole")
    ]
    instance = rds.DBInstance(
        logical_id,
        Engine="postgres",
        EngineVersion=spec.engine_version,
        DBInstanceClass=spec.instance_class,
        DBName=spec.database_name,
        MasterUsername=spec.master_username,
        ManageMasterUserPassword=True,
        StorageType="gp3",
        AllocatedStorage=str(spec.allocated_storage_gb),
        MaxAllocatedStorage=spec.max_allocated_storage_gb,
        StorageEncrypted=True,
        PubliclyAccessible=False,
        MultiAZ=spec.multi_az,
        DeletionProtection=spec.deletion_protection,
        DBSubnetGroupName=Ref(subnet_group),
        DBParameterGroupName=Ref(parameters),
        VPCSecurityGroups=security_groups,
        Port=str(POSTGRES_PORT),
        BackupRetentionPeriod=spec.backup_retention_days,
        CopyTagsToSnapshot=True,
        AutoMinorVersionUpgrade=True,
        EnableIAMDatabaseAuthentication=True,
        EnablePerformanceInsights=True,
        PerformanceInsightsRetentionPeriod=spec.performance_insights_retention_days,
        MonitoringInterval=60,
        MonitoringRoleArn=monitoring.arn,
        EnableCloudwatchLogsExports=["postgresql", "upgrade"],
    )
    if not spec.multi_az:
        suppress(instance, CKV_AWS_157="Single-AZ by setting (database.multi_az) outside production.")
    stack.add(snapshot(instance))
    return Postgres(instance)
