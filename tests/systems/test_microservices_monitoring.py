"""Microservices platform, monitoring stack: alarm topic, platform alarms, dashboard."""

from __future__ import annotations

import json

import pytest

from tests.helpers import only_resource, resources_of_type, statement_by_sid
from tests.systems.microservices import Built, config


@pytest.fixture(scope="module")
def monitoring(built) -> dict:
    return built.template("microservices/prod", "monitoring")


def alarms(template: dict) -> dict:
    return {logical_id: alarm["Properties"]
            for logical_id, alarm in resources_of_type(template, "AWS::CloudWatch::Alarm").items()}


def test_topic_is_encrypted_with_a_key_cloudwatch_may_use(monitoring):
    topic = only_resource(monitoring, "AWS::SNS::Topic")["Properties"]
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": ["AlarmTopicKey", "Arn"]}
    key = monitoring["Resources"]["AlarmTopicKey"]
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"
    cloudwatch = statement_by_sid(key["Properties"]["KeyPolicy"], "CloudWatchEncryptsAlarms")
    assert cloudwatch["Principal"] == {"Service": ["cloudwatch.amazonaws.com"]}


def test_topic_accepts_only_this_accounts_alarms_over_tls(monitoring):
    policy = only_resource(monitoring, "AWS::SNS::TopicPolicy")["Properties"]["PolicyDocument"]
    publish = statement_by_sid(policy, "CloudWatchPublishes")
    assert publish["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    assert statement_by_sid(policy, "DenyInsecureTransport")["Effect"] == "Deny"


def test_alarm_email_subscribes_when_configured(monitoring):
    subscription = only_resource(monitoring, "AWS::SNS::Subscription")["Properties"]
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", "platform-oncall@example.com")
    assert not resources_of_type(Built(config())["monitoring"], "AWS::SNS::Subscription")


def test_alarms_cover_the_load_balancer_database_and_every_cache_node(monitoring):
    found = alarms(monitoring)
    metrics = {(alarm["Namespace"], alarm["MetricName"]) for alarm in found.values()}
    assert metrics == {
        ("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count"), ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"),
        ("AWS/RDS", "CPUUtilization"), ("AWS/RDS", "FreeStorageSpace"), ("AWS/RDS", "DatabaseConnections"),
        ("AWS/ElastiCache", "EngineCPUUtilization"), ("AWS/ElastiCache", "Evictions"),
    }
    nodes = [alarm["Dimensions"][0]["Value"] for alarm in found.values()
             if alarm["MetricName"] == "Evictions"]
    assert nodes == [{"Fn::Join": ["-", [{"Ref": "CacheReplicationGroupId"}, f"{n:03d}"]]} for n in (1, 2, 3)]
    assert all(alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}] for alarm in found.values())


def test_thresholds_come_from_config(monitoring):
    assert alarms(monitoring)["DatabaseConnectionsAlarm"]["Threshold"] == 400


def test_one_dashboard_built_from_a_deterministic_substituted_body(monitoring):
    dashboard = only_resource(monitoring, "AWS::CloudWatch::Dashboard")["Properties"]["DashboardBody"]
    body, variables = dashboard["Fn::Sub"]
    assert set(variables) == {"LoadBalancer0", "Cluster", "Database", "Cache"}
    assert variables["LoadBalancer0"] == {"Fn::Select": [0, {"Ref": "LoadBalancerFullNames"}]}
    widgets = json.loads(body)["widgets"]
    assert len(widgets) == 6
    assert body == json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
    assert "${AWS::Region}" in body


def test_the_deploy_rolls_back_on_load_balancer_and_service_5xx(monitoring, built):
    joined = monitoring["Outputs"]["RollbackCompositeAlarmArns"]["Value"]["Fn::Join"]
    assert joined == [",", [{"Fn::GetAtt": ["LoadBalancers5xxAlarm", "Arn"]}]]
    assert "RollbackAlarmArns" not in monitoring["Outputs"]
    rule = monitoring["Resources"]["LoadBalancers5xxAlarm"]["Properties"]["AlarmRule"]
    assert rule == {"Fn::Join": [" OR ", [
        {"Fn::Sub": ['ALARM("${Name}")', {"Name": {"Ref": "LoadBalancer05xxAlarm"}}]},
        {"Fn::Sub": ['ALARM("${Name}")', {"Name": {"Ref": "LoadBalancer0Target5xxAlarm"}}]},
    ]]}
    root = built.template("microservices/prod", "root")
    assert root["Outputs"]["RollbackCompositeAlarmArns"]["Value"] == {
        "Fn::GetAtt": ["MonitoringStack", "Outputs.RollbackCompositeAlarmArns"]}


def test_every_load_balancer_has_its_5xx_alarms_in_the_one_rollback_trigger():
    template = Built(config(load_balancer={"count": 7}))["monitoring"]
    found = alarms(template)
    for number in range(7):
        for kind, metric in (("5xxAlarm", "HTTPCode_ELB_5XX_Count"), ("Target5xxAlarm", "HTTPCode_Target_5XX_Count")):
            alarm = found[f"LoadBalancer{number}{kind}"]
            assert alarm["MetricName"] == metric
            assert alarm["Dimensions"] == [{"Name": "LoadBalancer", "Value": {
                "Fn::Select": [number, {"Ref": "LoadBalancerFullNames"}]}}]
    members = template["Resources"]["LoadBalancers5xxAlarm"]["Properties"]["AlarmRule"]["Fn::Join"][1]
    assert len(members) == 14  # more than CloudFormation's five rollback triggers, in one composite alarm
