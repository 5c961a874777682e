"""Monitoring stack: the alarm topic, alarms on every moving part, one dashboard.

Lambda@Edge runs in many regions and reports its metrics in each of them; the
alarms here see its us-east-1 executions, and the CloudFront 5xx-rate alarm
(a global metric) sees every failed check anywhere, since a failing edge
function turns into a 5xx at the viewer.
"""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import Ref, Sub, cloudwatch

from tap.blocks.monitoring import (
    AlarmTopic,
    Window,
    alarm,
    alarm_topic,
    dashboard,
    metric_widget,
    rollback_alarms_output,
)
from tap.cfnvalue import CfnValue
from tap.config.distribution import DistributionSettings
from tap.stacktree import Stack
from tap.wiring import declare, named, publish, wire

EDGE_TIMEOUT_MS = 5000


@dataclass(frozen=True)
class MonitoringInputs:
    license_check_function_name: CfnValue = wire("Name of the Lambda@Edge licence check.")
    license_api_function_name: CfnValue = wire("Name of the licence API function.")
    usage_tracking_function_name: CfnValue = wire("Name of the usage tracking function.")
    api_name: CfnValue = wire("Name of the REST API.")
    distribution_id: CfnValue = wire("CloudFront distribution id.")
    licenses_table_name: CfnValue = wire("Name of the licences table.")
    analytics_table_name: CfnValue = wire("Name of the analytics table.")


@dataclass(frozen=True)
class MonitoringOutputs:
    alarm_topic_arn: CfnValue = wire("SNS topic every alarm notifies.")
    dashboard_name: CfnValue = wire("CloudWatch dashboard of the platform.")


def monitoring_stack(settings: DistributionSettings) -> Stack:
    stack = Stack("monitoring", "tap distribution: alarms and dashboard")
    inputs = declare(stack, MonitoringInputs)
    topic = alarm_topic(stack, "AlarmTopic", email=settings.monitoring.alarm_email)
    function_errors = add_function_alarms(stack, settings, topic, inputs)
    api_errors = add_api_alarms(stack, settings, topic, inputs)
    cdn_errors = add_cdn_alarms(stack, settings, topic, inputs)
    add_table_alarms(stack, topic, inputs)
    board = add_dashboard(stack, settings, inputs)
    # A deploy that makes the API, a function or the edge check fail is rolled back.
    rollback_alarms_output(stack, [api_errors, cdn_errors, *function_errors])
    publish(stack, MonitoringOutputs(alarm_topic_arn=topic.arn, dashboard_name=Ref(board)))
    return stack


def add_function_alarms(
    stack: Stack, settings: DistributionSettings, topic: AlarmTopic, inputs: MonitoringInputs
) -> list[cloudwatch.Alarm]:
    """Errors, throttles and duration of each function; returns the error alarms."""
    share = settings.monitoring.function_duration_p99_percent / 100
    regional_timeout_ms = settings.functions.timeout_seconds * 1000
    functions = [
        # Edge replicas report as "us-east-1.<name>" in the region that ran them.
        ("LicenseCheck", Sub("us-east-1.${Name}", Name=inputs.license_check_function_name),
         EDGE_TIMEOUT_MS),
        ("LicenseApi", inputs.license_api_function_name, regional_timeout_ms),
        ("UsageTracking", inputs.usage_tracking_function_name, regional_timeout_ms),
    ]
    errors = []
    for label, function_name, timeout_ms in functions:
        dimensions = {"FunctionName": function_name}
        errors.append(alarm(
            stack, f"{label}ErrorsAlarm", notify=topic.arn, description=f"{label}: invocations failed",
            namespace="AWS/Lambda", metric="Errors", dimensions=dimensions, threshold=1,
        ))
        alarm(stack, f"{label}ThrottlesAlarm", notify=topic.arn, description=f"{label}: invocations throttled",
              namespace="AWS/Lambda", metric="Throttles", dimensions=dimensions, threshold=1)
        alarm(stack, f"{label}DurationAlarm", notify=topic.arn,
              description=f"{label}: p99 duration above {share:.0%} of its timeout",
              namespace="AWS/Lambda", metric="Duration", dimensions=dimensions,
              statistic="p99", threshold=timeout_ms * share, comparison="GreaterThanThreshold",
              window=Window(periods=3))
    return errors


def add_api_alarms(
    stack: Stack, settings: DistributionSettings, topic: AlarmTopic, inputs: MonitoringInputs
) -> cloudwatch.Alarm:
    """Server errors, client-error share and latency; returns the server-error alarm."""
    dimensions = {"ApiName": inputs.api_name, "Stage": settings.api.stage_name}
    server_errors = alarm(stack, "Api5xxAlarm", notify=topic.arn, description="API: server errors",
                          namespace="AWS/ApiGateway", metric="5XXError", dimensions=dimensions, threshold=1)
    # 4XXError's Average is the share of requests answered 4xx.
    alarm(stack, "Api4xxAlarm", notify=topic.arn, description="API: more than 20% client errors",
          namespace="AWS/ApiGateway", metric="4XXError", dimensions=dimensions,
          statistic="Average", threshold=0.2, comparison="GreaterThanThreshold",
          window=Window(periods=3))
    alarm(stack, "ApiLatencyAlarm", notify=topic.arn,
          description=f"API: p99 latency above {settings.monitoring.api_latency_p99_ms} ms",
          namespace="AWS/ApiGateway", metric="Latency", dimensions=dimensions, statistic="p99",
          threshold=settings.monitoring.api_latency_p99_ms, comparison="GreaterThanThreshold",
          window=Window(periods=3))
    return server_errors


def add_cdn_alarms(
    stack: Stack, settings: DistributionSettings, topic: AlarmTopic, inputs: MonitoringInputs
) -> cloudwatch.Alarm:
    rate = settings.monitoring.cloudfront_5xx_rate_percent
    return alarm(stack, "Cdn5xxRateAlarm", notify=topic.arn, description=f"CloudFront: over {rate}% of responses 5xx",
          namespace="AWS/CloudFront", metric="5xxErrorRate",
          dimensions={"DistributionId": inputs.distribution_id, "Region": "Global"},
          statistic="Average", threshold=rate, comparison="GreaterThanThreshold",
          window=Window(periods=3))


def add_table_alarms(stack: Stack, topic: AlarmTopic, inputs: MonitoringInputs) -> None:
    for label, table_name in (("Licenses", inputs.licenses_table_name),
                              ("Analytics", inputs.analytics_table_name)):
        dimensions = {"TableName": table_name}
        for kind in ("Read", "Write"):
            alarm(stack, f"{label}{kind}ThrottleAlarm", notify=topic.arn,
                  description=f"{label} table: {kind.lower()} requests throttled",
                  namespace="AWS/DynamoDB", metric=f"{kind}ThrottleEvents",
                  dimensions=dimensions, threshold=1)


def add_dashboard(stack: Stack, settings: DistributionSettings, inputs: MonitoringInputs) -> cloudwatch.Dashboard:
    api = ["ApiName", "${ApiName}", "Stage", settings.api.stage_name]
    cdn = ["DistributionId", "${DistributionId}", "Region", "Global"]
    functions = [
        ("${LicenseApiFunctionName}", "licence API"),
        ("${UsageTrackingFunctionName}", "usage tracking"),
        ("us-east-1.${LicenseCheckFunctionName}", "edge check (us-east-1)"),
    ]
    widgets = [
        metric_widget("API requests and errors", [
            ["AWS/ApiGateway", "Count", *api], ["AWS/ApiGateway", "4XXError", *api],
            ["AWS/ApiGateway", "5XXError", *api],
        ]),
        metric_widget("API latency p99 (ms)", [["AWS/ApiGateway", "Latency", *api]], stat="p99"),
        metric_widget("Function errors", [
            ["AWS/Lambda", "Errors", "FunctionName", name, {"label": label}]
            for name, label in functions
        ]),
        metric_widget("Function duration p99 (ms)", [
            ["AWS/Lambda", "Duration", "FunctionName", name, {"label": label}]
            for name, label in functions
        ], stat="p99"),
        metric_widget("Downloads", [["AWS/CloudFront", "Requests", *cdn]]),
        metric_widget("CloudFront error rates (%)", [
            ["AWS/CloudFront", "4xxErrorRate", *cdn], ["AWS/CloudFront", "5xxErrorRate", *cdn],
        ], stat="Average"),
        metric_widget("DynamoDB throttles", [
            ["AWS/DynamoDB", f"{kind}ThrottleEvents", "TableName", f"${{{label}TableName}}"]
            for label in ("Licenses", "Analytics") for kind in ("Read", "Write")
        ]),
    ]
    # CloudFront metrics exist only in us-east-1, which is where this system runs. The body
    # names each input ${ParameterName}.
    return dashboard(stack, "Dashboard", widgets, **named(inputs, MonitoringInputs))
