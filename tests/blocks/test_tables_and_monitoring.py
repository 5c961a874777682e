"""table() and the monitoring blocks: their secure defaults."""

from __future__ import annotations

import json

import pytest

from tap.blocks.monitoring import alarm, alarm_topic, dashboard, metric_widget
from tap.blocks.tables import Index, Key, table
from tap.stacktree import Stack
from tests.helpers import as_dict, only_resource, statement_by_sid


def test_table_defaults():
    stack = Stack.root("root", "t")
    table(stack, "Things", Key("id"))
    resource = only_resource(as_dict(stack), "AWS::DynamoDB::Table")
    props = resource["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["DeletionProtectionEnabled"] is True
    assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert "TableName" not in props and "TimeToLiveSpecification" not in props


def test_table_declares_each_key_attribute_once():
    stack = Stack.root("root", "t")
    table(stack, "Things", Key("id"), sort=Key("at"),
          indexes=(Index("byOwner", Key("owner"), Key("at")),))
    props = only_resource(as_dict(stack), "AWS::DynamoDB::Table")["Properties"]
    assert props["AttributeDefinitions"] == [
        {"AttributeName": "at", "AttributeType": "S"},
        {"AttributeName": "id", "AttributeType": "S"},
        {"AttributeName": "owner", "AttributeType": "S"},
    ]
    (index,) = props["GlobalSecondaryIndexes"]
    assert index["Projection"] == {"ProjectionType": "ALL"}


def test_a_key_with_two_types_is_rejected():
    with pytest.raises(ValueError, match="declared as two types"):
        table(Stack.root("root", "t"), "Things", Key("id"), indexes=(Index("x", Key("id", "N")),))


def test_alarm_topic_denies_plain_http_and_admits_only_this_accounts_cloudwatch():
    stack = Stack.root("root", "t")
    alarm_topic(stack, "Alarms")
    template = as_dict(stack)
    policy = only_resource(template, "AWS::SNS::TopicPolicy")["Properties"]["PolicyDocument"]
    publish = statement_by_sid(policy, "CloudWatchPublishes")
    assert publish["Principal"] == {"Service": ["cloudwatch.amazonaws.com"]}
    assert publish["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    assert statement_by_sid(policy, "DenyInsecureTransport")["Effect"] == "Deny"
    assert "Subscription" not in str(template["Resources"])


def test_alarm_uses_percentiles_as_extended_statistics():
    stack = Stack.root("root", "t")
    topic = alarm_topic(stack, "Alarms", email="ops@example.com")
    alarm(stack, "Slow", notify=topic.arn, description="d", namespace="N", metric="M",
          dimensions={"B": "2", "A": "1"}, threshold=5, statistic="p99")
    props = as_dict(stack)["Resources"]["Slow"]["Properties"]
    assert props["ExtendedStatistic"] == "p99" and "Statistic" not in props
    assert [d["Name"] for d in props["Dimensions"]] == ["A", "B"]


def test_metric_widget_is_placed_only_when_asked():
    assert "x" not in metric_widget("Errors", [["AWS/Lambda", "Errors"]])
    placed = metric_widget("Errors", [["AWS/Lambda", "Errors"]], at=(12, 6))
    assert (placed["x"], placed["y"]) == (12, 6)


def test_dashboard_body_is_sorted_json_filled_by_sub():
    stack = Stack("monitoring", "m")
    dashboard(stack, "Board", [metric_widget("Calls", [["AWS/Lambda", "Invocations", "FunctionName", "${Fn}"]])],
              Fn="name")
    body = only_resource(as_dict(stack), "AWS::CloudWatch::Dashboard")["Properties"]["DashboardBody"]["Fn::Sub"]
    assert body[1] == {"Fn": "name"}
    assert body[0] == json.dumps(json.loads(body[0]), sort_keys=True, separators=(",", ":"))
