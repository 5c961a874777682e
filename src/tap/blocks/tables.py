"""DynamoDB tables: on-demand, encrypted with KMS, point-in-time recovery, retained.

Every table made here bills per request, encrypts with the AWS-managed
KMS key for DynamoDB, keeps 35 days of point-in-time recovery, and carries
DeletionPolicy/UpdateReplacePolicy Retain. Callers give the key schema,
global secondary indexes and an optional TTL attribute.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from troposphere import GetAtt, Ref, dynamodb

from tap.blocks.iam import TableRef
from tap.blocks.lifecycle import retain, suppress
from tap.cfnvalue import CfnValue
from tap.stacktree import Stack

KeyType = Literal["S", "N", "B"]


@dataclass(frozen=True)
class Key:
    name: str
    type: KeyType = "S"


@dataclass(frozen=True)
class Index:
    """A global secondary index projecting every attribute."""

    name: str
    partition: Key
    sort: Key | None = None


@dataclass(frozen=True)
class Table:
    resource: dynamodb.Table

    @property
    def ref(self) -> TableRef:
        return TableRef(
            label=self.resource.title, name=Ref(self.resource), arn=GetAtt(self.resource, "Arn")
        )


def _key_schema(partition: Key, sort: Key | None) -> list[dynamodb.KeySchema]:
    schema = [dynamodb.KeySchema(AttributeName=partition.name, KeyType="HASH")]
    if sort is not None:
        schema.append(dynamodb.KeySchema(AttributeName=sort.name, KeyType="RANGE"))
    return schema


def _attributes(keys: list[Key | None]) -> list[dynamodb.AttributeDefinition]:
    declared: dict[str, str] = {}
    for key in keys:
        if key is None:
            continue
        if declared.setdefault(key.name, key.type) != key.type:
            raise ValueError(f"attribute {key.name!r} declared as two types")
    return [
        dynamodb.AttributeDefinition(AttributeName=name, AttributeType=kind)
        for name, kind in sorted(declared.items())
    ]


def table(
    stack: Stack,
    logical_id: str,
    partition: Key,
    *,
    sort: Key | None = None,
    indexes: tuple[Index, ...] = (),
    ttl_attribute: str | None = None,
    table_name: CfnValue = None,
    deletion_protection: bool = True,
) -> Table:
    """An on-demand table with the secure defaults listed in this module's docstring.

    Leave `table_name` unset unless a consumer must know the name before
    deploy time (a fixed name also makes an accidental replacement fail
    rather than silently create an empty table).
    """
    keys = [partition, sort] + [key for index in indexes for key in (index.partition, index.sort)]
    resource = dynamodb.Table(
        logical_id,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=_key_schema(partition, sort),
        AttributeDefinitions=_attributes(keys),
        SSESpecification=dynamodb.SSESpecification(SSEEnabled=True, SSEType="KMS"),
        PointInTimeRecoverySpecification=dynamodb.PointInTimeRecoverySpecification(
            PointInTimeRecoveryEnabled=True
        ),
        DeletionProtectionEnabled=deletion_protection,
    )
    if indexes:
        resource.GlobalSecondaryIndexes = [
            dynamodb.GlobalSecondaryIndex(
                IndexName=index.name,
                KeySchema=_key_schema(index.partition, index.sort),
                Projection=dynamodb.Projection(ProjectionType="ALL"),
            )
            for index in indexes
        ]
    if ttl_attribute is not None:
        resource.TimeToLiveSpecification = dynamodb.TimeToLiveSpecification(
            AttributeName=ttl_attribute, Enabled=True
        )
    if table_name is not None:
        resource.TableName = table_name
    suppress(
        resource,
        CKV_AWS_119="Encrypted with the AWS-managed KMS key for DynamoDB (aws/dynamodb): "
        "usage is audited in CloudTrail and readers need no key-policy grants.",
    )
    retain(resource)
    return Table(stack.add(resource))
