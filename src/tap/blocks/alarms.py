"""An alarm topic CloudWatch can publish to, and metric alarms that notify it.

The topic is encrypted with a customer-managed KMS key (rotated yearly,
Retain) whose policy lets CloudWatch encrypt: CloudWatch alarms cannot
publish to a topic encrypted with the AWS-managed `alias/aws/sns` key,
because that key's policy cannot grant the CloudWatch service principal.
The topic policy lets only this account's CloudWatch alarms publish and
denies publishing over plain HTTP. Alarms notify on ALARM and OK and treat
missing data as not breaching unless told otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from awacs import kms as kms_actions
from awacs import sns as sns_actions
from awacs.aws import (
    Action,
    Allow,
    Bool,
    Condition,
    Deny,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
)
from troposphere import GetAtt, Ref, Sub, cloudwatch, kms, sns

from tap.blocks.lifecycle import retain
from tap.stacktree import Stack


@dataclass(frozen=True)
class AlarmTopic:
    topic: sns.Topic
    key: kms.Key

    @property
    def arn(self) -> Ref:
        return Ref(self.topic)


def _this_account() -> Condition:
    return Condition(StringEquals("aws:SourceAccount", Ref("AWS::AccountId")))


def alarm_topic(stack: Stack, logical_id: str, *, email: str | None = None) -> AlarmTopic:
    """An SNS topic for alarms, with an e-mail subscription when `email` is given."""
    key = kms.Key(
        f"{logical_id}Key",
        Description="Encrypts the alarm topic; CloudWatch may use it to publish alarms",
        EnableKeyRotation=True,
        KeyPolicy=PolicyDocument(
            Version="2012-10-17",
            Statement=[
                Statement(
                    Sid="AccountAdministersKey",
                    Effect=Allow,
                    Principal=Principal("AWS", [Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")]),
                    Action=[Action("kms", "*")],
                    Resource=["*"],  # in a key policy, "*" means this key
                ),
                Statement(
                    Sid="CloudWatchEncryptsAlarms",
                    Effect=Allow,
                    Principal=Principal("Service", ["cloudwatch.amazonaws.com"]),
                    Action=[kms_actions.Decrypt, kms_actions.GenerateDataKey],
                    Resource=["*"],
                    Condition=_this_account(),
                ),
            ],
        ),
    )
    stack.add(retain(key))
    topic = stack.add(
        sns.Topic(logical_id, DisplayName="tap alarms", KmsMasterKeyId=GetAtt(key, "Arn"))
    )
    stack.add(
        sns.TopicPolicy(
            f"{logical_id}Policy",
            Topics=[Ref(topic)],
            PolicyDocument=PolicyDocument(
                Version="2012-10-17",
                Statement=[
                    Statement(
                        Sid="CloudWatchPublishesAlarms",
                        Effect=Allow,
                        Principal=Principal("Service", ["cloudwatch.amazonaws.com"]),
                        Action=[sns_actions.Publish],
                        Resource=[Ref(topic)],
                        Condition=_this_account(),
                    ),
                    Statement(
                        Sid="DenyInsecureTransport",
                        Effect=Deny,
                        Principal=Principal("*"),
                        Action=[sns_actions.Publish],
                        Resource=[Ref(topic)],
                        Condition=Condition(Bool("aws:SecureTransport", "false")),
                    ),
                ],
            ),
        )
    )
    if email is not None:
        stack.add(
            sns.SubscriptionResource(
                f"{logical_id}Email", TopicArn=Ref(topic), Protocol="email", Endpoint=email
            )
        )
    return AlarmTopic(topic=topic, key=key)


def metric_alarm(
    stack: Stack,
    logical_id: str,
    *,
    description: str,
    namespace: str,
    metric: str,
    dimensions: Mapping[str, Any],
    statistic: str,
    comparison: str,
    threshold: float,
    topic_arn: Any,
    period_seconds: int = 60,
    periods: int = 5,
    datapoints: int = 3,
    missing_data: str = "notBreaching",
) -> cloudwatch.Alarm:
    """Alarm when `datapoints` of the last `periods` periods cross `threshold`."""
    return stack.add(
        cloudwatch.Alarm(
            logical_id,
            AlarmDescription=description,
            Namespace=namespace,
            MetricName=metric,
            Dimensions=[
                cloudwatch.MetricDimension(Name=name, Value=value)
                for name, value in sorted(dimensions.items())
            ],
            Statistic=statistic,
            ComparisonOperator=comparison,
            Threshold=threshold,
            Period=period_seconds,
            EvaluationPeriods=periods,
            DatapointsToAlarm=datapoints,
            TreatMissingData=missing_data,
            AlarmActions=[topic_arn],
            OKActions=[topic_arn],
        )
    )
