"""Distribution platform, monitoring stack: topic, alarms, dashboard."""

from __future__ import annotations

import json

import pytest

from tests.helpers import only_resource, resources_of_type

ENVS = ["dev", "staging", "prod"]


@pytest.fixture(scope="module", params=ENVS)
def monitoring(request, built) -> dict:
    return built.template(f"distribution/{request.param}", "monitoring")


def alarms(template: dict) -> dict[str, dict]:
    return {lid: a["Properties"] for lid, a in resources_of_type(template, "AWS::CloudWatch::Alarm").items()}


def test_every_function_alarms_on_errors_throttles_and_duration(monitoring):
    found = alarms(monitoring)
    for function in ("LicenseCheck", "LicenseApi", "UsageTracking"):
        assert found[f"{function}ErrorsAlarm"]["MetricName"] == "Errors"
        assert found[f"{function}ThrottlesAlarm"]["MetricName"] == "Throttles"
        assert found[f"{function}DurationAlarm"]["ExtendedStatistic"] == "p99"


def test_regional_duration_threshold_is_a_share_of_the_timeout(monitoring):
    assert alarms(monitoring)["LicenseApiDurationAlarm"]["Threshold"] == 8000.0  # 80% of 10 s
    assert alarms(monitoring)["LicenseCheckDurationAlarm"]["Threshold"] == 4000.0  # 80% of 5 s


def test_edge_alarms_watch_the_replica_name(monitoring):
    dimensions = alarms(monitoring)["LicenseCheckErrorsAlarm"]["Dimensions"]
    assert dimensions == [{"Name": "FunctionName", "Value": {
        "Fn::Sub": ["us-east-1.${Name}", {"Name": {"Ref": "LicenseCheckFunctionName"}}]
    }}]


def test_api_alarms_on_5xx_4xx_and_latency(monitoring):
    found = alarms(monitoring)
    assert found["Api5xxAlarm"]["MetricName"] == "5XXError"
    assert found["Api4xxAlarm"]["MetricName"] == "4XXError"
    assert found["ApiLatencyAlarm"]["ExtendedStatistic"] == "p99"
    assert {"Name": "Stage", "Value": "v1"} in found["Api5xxAlarm"]["Dimensions"]


def test_cloudfront_5xx_rate_alarm_uses_the_global_region(monitoring):
    alarm = alarms(monitoring)["Cdn5xxRateAlarm"]
    assert alarm["Namespace"] == "AWS/CloudFront"
    assert {"Name": "Region", "Value": "Global"} in alarm["Dimensions"]
    assert alarm["Statistic"] == "Average"


def test_table_throttles_alarm_for_reads_and_writes_of_both_tables(monitoring):
    found = alarms(monitoring)
    for table in ("Licenses", "Analytics"):
        for kind in ("Read", "Write"):
            assert found[f"{table}{kind}ThrottleAlarm"]["MetricName"] == f"{kind}ThrottleEvents"


def test_every_alarm_notifies_the_topic_when_firing_and_clearing(monitoring):
    for alarm in alarms(monitoring).values():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
        assert alarm["OKActions"] == [{"Ref": "AlarmTopic"}]
        assert alarm["TreatMissingData"] == "notBreaching"


def test_topic_is_encrypted_with_a_key_cloudwatch_may_use(monitoring):
    topic = monitoring["Resources"]["AlarmTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": ["AlarmTopicKey", "Arn"]}
    key = monitoring["Resources"]["AlarmTopicKey"]
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"
    services = [s["Principal"].get("Service") for s in key["Properties"]["KeyPolicy"]["Statement"]]
    assert ["cloudwatch.amazonaws.com"] in services


def test_email_subscription_only_when_configured(built):
    dev = built.template("distribution/dev", "monitoring")
    prod = built.template("distribution/prod", "monitoring")
    assert resources_of_type(dev, "AWS::SNS::Subscription") == {}
    subscription = only_resource(prod, "AWS::SNS::Subscription")["Properties"]
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", "ops@example.com")


def test_one_dashboard_covering_api_functions_cdn_and_tables(monitoring):
    board = only_resource(monitoring, "AWS::CloudWatch::Dashboard")["Properties"]
    body_text, variables = board["DashboardBody"]["Fn::Sub"]
    body = json.loads(body_text)
    namespaces = {metric[0] for widget in body["widgets"] for metric in widget["properties"]["metrics"]}
    assert namespaces == {"AWS/ApiGateway", "AWS/Lambda", "AWS/CloudFront", "AWS/DynamoDB"}
    assert set(variables) == {
        "LicenseCheckFunctionName", "LicenseApiFunctionName", "UsageTrackingFunctionName",
        "ApiName", "DistributionId", "LicensesTableName", "AnalyticsTableName",
    }


def test_the_deploy_rolls_back_on_api_cdn_and_function_errors(monitoring, built):
    joined = monitoring["Outputs"]["RollbackAlarmArns"]["Value"]["Fn::Join"]
    assert joined[0] == ","
    assert [arn["Fn::GetAtt"] for arn in joined[1]] == [
        ["Api5xxAlarm", "Arn"], ["Cdn5xxRateAlarm", "Arn"], ["LicenseCheckErrorsAlarm", "Arn"],
        ["LicenseApiErrorsAlarm", "Arn"], ["UsageTrackingErrorsAlarm", "Arn"],
    ]
    root = built.template("distribution/dev", "root")
    assert root["Outputs"]["RollbackAlarmArns"]["Value"] == {
        "Fn::GetAtt": ["MonitoringStack", "Outputs.RollbackAlarmArns"]}
