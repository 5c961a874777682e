"""CloudWatch log groups with retention, kept when the stack lets go of them."""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import GetAtt, Ref, logs

from tap.blocks.iam import LogGroupRef
from tap.blocks.lifecycle import retain, suppress
from tap.cfnvalue import CfnValue
from tap.stacktree import Stack


@dataclass(frozen=True)
class LogGroup:
    resource: logs.LogGroup

    @property
    def ref(self) -> LogGroupRef:
        return LogGroupRef(
            label=self.resource.title, name=Ref(self.resource), arn=GetAtt(self.resource, "Arn")
        )


def log_group(
    stack: Stack,
    logical_id: str,
    retention_days: int,
    *,
    name: CfnValue = None,
) -> LogGroup:
    """A log group with a retention period, retained on delete and replace.

    Let CloudFormation pick the name unless a service dictates it (Lambda@Edge,
    VPC flow logs to a fixed group). Log data is encrypted at rest by
    CloudWatch Logs with service-owned keys.
    """
    group = logs.LogGroup(logical_id, RetentionInDays=retention_days)
    if name is not None:
        group.LogGroupName = name
    suppress(
        group,
        CKV_AWS_158="Encrypted at rest by CloudWatch Logs with service-owned keys. No "
        "system uses a customer-managed key today, so who may read the logs is decided by IAM "
        "alone.",
    )
    retain(group)
    return LogGroup(stack.add(group))
