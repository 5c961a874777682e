"""Alarm topics, CloudWatch alarms and dashboards.

The alarm topic is encrypted with its own customer-managed KMS key (rotation on,
retained): CloudWatch cannot publish to a topic encrypted with the AWS-managed
`alias/aws/sns` key, because that key's policy cannot grant it. Only CloudWatch
of this account may publish, and only over TLS. Alarms notify when they fire
and when they clear, and treat missing data as healthy unless told otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from awacs import kms as kms_actions
from awacs import sns as sns_actions
from awacs.aws import (
    Allow,
    Bool,
    Condition,
    Deny,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
)
from troposphere import GetAtt, Join, Ref, Sub, cloudwatch, kms, sns

from tap import names
from tap.blocks.arns import arn
from tap.blocks.lifecycle import retain
from tap.cfnvalue import CfnValue
from tap.stacktree import Stack

Comparison = Literal[
    "GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold",
    "LessThanOrEqualToThreshold",
]


@dataclass(frozen=True)
class Window:
    """How long an alarm watches: `datapoints` (None: all) of the last `periods` periods
    of `seconds` each must cross the threshold."""

    seconds: int = 300
    periods: int = 1
    datapoints: int | None = None


# A window for noisy metrics: fire when 3 of the last 5 one-minute periods cross.
PER_MINUTE = Window(seconds=60, periods=5, datapoints=3)


@dataclass(frozen=True)
class AlarmTopic:
    topic: sns.Topic
    key: kms.Key

    @property
    def arn(self) -> Ref:
        return Ref(self.topic)


def _account_root() -> Sub:
    return arn("iam", "root", region="")


def _this_account() -> StringEquals:
    return StringEquals("aws:SourceAccount", Ref("AWS::AccountId"))


def alarm_topic(stack: Stack, logical_id: str, *, email: str | None = None) -> AlarmTopic:
    """An SNS topic for alarms, optionally with an e-mail subscription (confirmed by mail)."""
    key = kms.Key(
        f"{logical_id}Key",
        Description="Encrypts the alarm topic; usable by CloudWatch alarms of this account",
        EnableKeyRotation=True,
        KeyPolicy=PolicyDocument(
            Version="2012-10-17",
            Statement=[
                Statement(
                    # Without this statement nobody, not even the account, could manage the key.
                    Sid="AccountAdministersKey",
                    Effect=Allow,
                    Principal=Principal("AWS", [_account_root()]),
                    Action=[kms_actions.Action("*")],
                    Resource=["*"],  # a key policy's Resource is always the key itself
                ),
                Statement(
                    Sid="CloudWatchEncryptsAlarms",
                    Effect=Allow,
                    Principal=Principal("Service", ["cloudwatch.amazonaws.com"]),
                    Action=[kms_actions.Decrypt, kms_actions.GenerateDataKey],
                    Resource=["*"],
                    Condition=Condition(_this_account()),
                ),
            ],
        ),
    )
    retain(stack.add(key))
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
                        Sid="CloudWatchPublishes",
                        Effect=Allow,
                        Principal=Principal("Service", ["cloudwatch.amazonaws.com"]),
                        Action=[sns_actions.Publish],
                        Resource=[Ref(topic)],
                        Condition=Condition(_this_account()),
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
    return AlarmTopic(topic, key)


def alarm(
    stack: Stack,
    logical_id: str,
    *,
    notify: CfnValue,
    description: str,
    namespace: str,
    metric: str,
    dimensions: Mapping[str, CfnValue],
    threshold: float,
    statistic: str = "Sum",
    comparison: Comparison = "GreaterThanOrEqualToThreshold",
    window: Window = Window(),
    missing_data: str = "notBreaching",
) -> cloudwatch.Alarm:
    """An alarm that notifies the topic ARN `notify` when it fires and when it clears.

    `statistic` is Sum, Average, Maximum, Minimum, SampleCount or a percentile
    such as p99. It fires when the `window` (default: one five-minute
    period) crosses `threshold`. Missing data counts as
    healthy by default: no traffic is not an outage.
    """
    resource = cloudwatch.Alarm(
        logical_id,
        AlarmDescription=description,
        Namespace=namespace,
        MetricName=metric,
        Dimensions=[
            cloudwatch.MetricDimension(Name=name, Value=value)
            for name, value in sorted(dimensions.items())
        ],
        Period=window.seconds,
        EvaluationPeriods=window.periods,
        Threshold=threshold,
        ComparisonOperator=comparison,
        TreatMissingData=missing_data,
        AlarmActions=[notify],
        OKActions=[notify],
    )
    if window.datapoints is not None:
        resource.DatapointsToAlarm = window.datapoints
    if statistic.startswith("p"):
        resource.ExtendedStatistic = statistic
    else:
        resource.Statistic = statistic
    return stack.add(resource)


def metric_widget(
    title: str, metrics: list[list[Any]], *, stat: str = "Sum", period: int = 300,
    width: int = 12, height: int = 6, at: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """A time-series widget; metric entries may hold ${Variables} resolved by `dashboard`.
    `at` places it at (x, y) on the dashboard's grid; without it CloudWatch flows the
    widgets left to right in order."""
    widget: dict[str, Any] = {
        "type": "metric",
        "width": width,
        "height": height,
        "properties": {
            "title": title,
            "region": "${AWS::Region}",
            "stat": stat,
            "period": period,
            "view": "timeSeries",
            "metrics": metrics,
        },
    }
    if at is not None:
        widget["x"], widget["y"] = at
    return widget


def dashboard(
    stack: Stack, logical_id: str, widgets: list[dict[str, Any]], **variables: CfnValue
) -> cloudwatch.Dashboard:
    """One dashboard; the body is JSON with ${...} placeholders filled by Fn::Sub."""
    body = json.dumps({"widgets": widgets}, sort_keys=True, separators=(",", ":"))
    return stack.add(cloudwatch.Dashboard(logical_id, DashboardBody=Sub(body, **variables)))


def any_alarm(
    stack: Stack, logical_id: str, *, description: str, alarms: list[cloudwatch.Alarm]
) -> cloudwatch.CompositeAlarm:
    """A composite alarm in ALARM while any of `alarms` is. It notifies nobody: its members do."""
    return stack.add(cloudwatch.CompositeAlarm(
        logical_id,
        AlarmDescription=description,
        AlarmRule=Join(" OR ", [Sub('ALARM("${Name}")', Name=Ref(member)) for member in alarms]),
    ))


def rollback_alarms_output(
    stack: Stack, alarms: list[cloudwatch.Alarm | cloudwatch.CompositeAlarm]
) -> None:
    """Name the alarms whose firing during a deploy means the deploy broke the platform:
    the deploy tool makes them the stack's rollback triggers (at most five, CloudFormation's
    limit), so CloudFormation rolls the update back on its own. A trigger names its alarm's
    type, so metric and composite alarms go to an output each."""
    if not 0 < len(alarms) <= names.MAX_ROLLBACK_TRIGGERS:
        raise ValueError(f"between 1 and {names.MAX_ROLLBACK_TRIGGERS} rollback alarms, not {len(alarms)}")
    for output, kind, what in (
        (names.ROLLBACK_ALARMS_OUTPUT, cloudwatch.Alarm, "Alarms"),
        (names.ROLLBACK_COMPOSITE_ALARMS_OUTPUT, cloudwatch.CompositeAlarm, "Composite alarms"),
    ):
        chosen = [alarm for alarm in alarms if type(alarm) is kind]
        if chosen:
            stack.output(
                output, Join(",", [GetAtt(alarm, "Arn") for alarm in chosen]),
                f"{what} that roll a deploy back when they fire (comma-separated ARNs).",
            )
