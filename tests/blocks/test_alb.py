"""Application Load Balancer: attributes, scheme, listeners, target groups and rules."""

from __future__ import annotations

import pytest
from troposphere import Ref

from tap.blocks.alb import (
    TLS_POLICY,
    application_load_balancer,
    forward_rule,
    full_name,
    ip_target_group,
    listeners,
)
from tap.stacktree import Stack
from tests.helpers import as_dict, only_resource, resources_of_type

NOT_FOUND = {
    "Type": "fixed-response",
    "FixedResponseConfig": {
        "StatusCode": "404", "ContentType": "text/plain", "MessageBody": "Not found",
    },
}


@pytest.fixture
def stack() -> Stack:
    return Stack("routing", "alb")


def balancer(stack: Stack, **options):
    arguments = dict(
        subnets=["subnet-a", "subnet-b"], security_groups=[Ref("BalancerGroup")],
        log_bucket="log-bucket", log_prefix="alb/", deletion_protection=False, internal=True,
    )
    return application_load_balancer(stack, "Balancer", **(arguments | options))


def attributes(stack: Stack) -> dict[str, str]:
    found = only_resource(as_dict(stack), "AWS::ElasticLoadBalancingV2::LoadBalancer")
    return {a["Key"]: a["Value"] for a in found["Properties"]["LoadBalancerAttributes"]}


def listener(template: dict, logical_id: str) -> dict:
    return template["Resources"][logical_id]["Properties"]


def test_access_logs_go_to_the_given_bucket_and_prefix(stack):
    balancer(stack)
    found = attributes(stack)
    assert found["access_logs.s3.enabled"] == "true"
    assert (found["access_logs.s3.bucket"], found["access_logs.s3.prefix"]) == ("log-bucket", "alb/")


def test_invalid_header_fields_are_dropped_against_request_smuggling(stack):
    balancer(stack)
    assert attributes(stack)["routing.http.drop_invalid_header_fields.enabled"] == "true"


def test_desync_mitigation_is_left_at_its_defensive_default(stack):
    """AWS's default mode is `defensive`; the block must not weaken it to `monitor`."""
    balancer(stack)
    assert "routing.http.desync_mitigation_mode" not in attributes(stack)


@pytest.mark.parametrize("protect, value", [(True, "true"), (False, "false")])
def test_deletion_protection_is_as_asked(stack, protect, value):
    balancer(stack, deletion_protection=protect)
    assert attributes(stack)["deletion_protection.enabled"] == value


def test_idle_timeout_defaults_to_60_seconds_and_can_be_changed(stack):
    balancer(stack)
    other = Stack("other", "alb")
    balancer(other, idle_timeout_seconds=120)
    assert attributes(stack)["idle_timeout.timeout_seconds"] == "60"
    assert attributes(other)["idle_timeout.timeout_seconds"] == "120"


def test_internal_balancer_has_private_addresses_only(stack):
    balancer(stack, internal=True)
    found = only_resource(as_dict(stack), "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert found["Properties"]["Scheme"] == "internal"


def test_non_internal_balancer_is_internet_facing(stack):
    balancer(stack, internal=False)
    found = only_resource(as_dict(stack), "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert found["Properties"]["Scheme"] == "internet-facing"


def test_balancer_is_an_ipv4_application_balancer_with_the_given_network(stack):
    balancer(stack)
    props = only_resource(as_dict(stack), "AWS::ElasticLoadBalancingV2::LoadBalancer")["Properties"]
    assert (props["Type"], props["IpAddressType"]) == ("application", "ipv4")
    assert props["Subnets"] == ["subnet-a", "subnet-b"]
    assert props["SecurityGroups"] == [{"Ref": "BalancerGroup"}]
    assert "Name" not in props  # CloudFormation names it (names are limited to 32 characters)


def test_tls_policy_is_aws_recommended_tls_1_3_policy_refusing_below_tls_1_2():
    """AWS: ELBSecurityPolicy-TLS13-1-2-2021-06 includes TLS 1.3 and is backwards compatible
    with TLS 1.2 only; CloudFormation's default when none is given (2016-08) allows TLS 1.0."""
    assert TLS_POLICY == "ELBSecurityPolicy-TLS13-1-2-2021-06"


def test_with_a_certificate_https_uses_the_tls_policy_and_answers_404(stack):
    lb = balancer(stack)
    returned = listeners(stack, lb, certificate_arn="cert-arn")
    template = as_dict(stack)
    https = listener(template, "BalancerHttpsListener")
    assert returned.title == "BalancerHttpsListener"
    assert (https["Port"], https["Protocol"], https["SslPolicy"]) == (443, "HTTPS", TLS_POLICY)
    assert https["Certificates"] == [{"CertificateArn": "cert-arn"}]
    assert https["LoadBalancerArn"] == {"Ref": "Balancer"}
    assert https["DefaultActions"] == [NOT_FOUND]


def test_with_a_certificate_plain_http_only_redirects_to_https(stack):
    listeners(stack, balancer(stack), certificate_arn="cert-arn")
    http = listener(as_dict(stack), "BalancerHttpListener")
    assert (http["Port"], http["Protocol"]) == (80, "HTTP")
    assert http["DefaultActions"] == [{
        "Type": "redirect",
        "RedirectConfig": {
            "Protocol": "HTTPS", "Port": "443", "Host": "#{host}", "Path": "/#{path}",
            "Query": "#{query}", "StatusCode": "HTTP_301",
        },
    }]
    assert len(resources_of_type(as_dict(stack), "AWS::ElasticLoadBalancingV2::Listener")) == 2


def test_without_a_certificate_one_http_listener_answers_404_and_says_why(stack):
    returned = listeners(stack, balancer(stack), certificate_arn=None)
    template = as_dict(stack)
    found = resources_of_type(template, "AWS::ElasticLoadBalancingV2::Listener")
    assert list(found) == ["BalancerHttpListener"] and returned.title == "BalancerHttpListener"
    http = found["BalancerHttpListener"]
    assert (http["Properties"]["Protocol"], http["Properties"]["DefaultActions"]) == ("HTTP", [NOT_FOUND])
    skipped = {skip["id"]: skip["comment"] for skip in http["Metadata"]["checkov"]["skip"]}
    assert sorted(skipped) == ["CKV_AWS_103", "CKV_AWS_2"]
    assert all(comment.strip() for comment in skipped.values())


def test_target_group_sends_to_task_ips_with_health_checks_on_the_given_path(stack):
    ip_target_group(stack, "ApiTargets", vpc_id="vpc-1", port=8080, health_check_path="/health")
    props = only_resource(as_dict(stack), "AWS::ElasticLoadBalancingV2::TargetGroup")["Properties"]
    assert (props["TargetType"], props["Protocol"], props["Port"], props["VpcId"]) == (
        "ip", "HTTP", 8080, "vpc-1"
    )
    assert (props["HealthCheckEnabled"], props["HealthCheckPath"]) == (True, "/health")
    assert props["Matcher"] == {"HttpCode": "200-399"}
    assert props["TargetGroupAttributes"] == [
        {"Key": "deregistration_delay.timeout_seconds", "Value": "30"}
    ]


def test_forward_rule_on_a_path_pattern(stack):
    group = ip_target_group(stack, "ApiTargets", vpc_id="v", port=80, health_check_path="/")
    forward_rule(stack, "ApiRule", listener_arn=Ref("Listener"), priority=10, target_group=group,
                 path_pattern="/api/*")
    props = only_resource(as_dict(stack), "AWS::ElasticLoadBalancingV2::ListenerRule")["Properties"]
    assert props["Conditions"] == [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}]
    assert props["Actions"] == [{"Type": "forward", "TargetGroupArn": {"Ref": "ApiTargets"}}]
    assert (props["Priority"], props["ListenerArn"]) == (10, {"Ref": "Listener"})


def test_forward_rule_on_a_host(stack):
    group = ip_target_group(stack, "ApiTargets", vpc_id="v", port=80, health_check_path="/")
    forward_rule(stack, "ApiRule", listener_arn="l", priority=1, target_group=group,
                 host="api.example.com")
    props = only_resource(as_dict(stack), "AWS::ElasticLoadBalancingV2::ListenerRule")["Properties"]
    assert props["Conditions"] == [
        {"Field": "host-header", "HostHeaderConfig": {"Values": ["api.example.com"]}}
    ]


@pytest.mark.parametrize("match", [{}, {"path_pattern": "/a/*", "host": "a.example.com"}])
def test_forward_rule_refuses_neither_or_both_of_path_and_host(stack, match):
    group = ip_target_group(stack, "ApiTargets", vpc_id="v", port=80, health_check_path="/")
    with pytest.raises(ValueError, match="exactly one"):
        forward_rule(stack, "ApiRule", listener_arn="l", priority=1, target_group=group, **match)
    assert resources_of_type(as_dict(stack), "AWS::ElasticLoadBalancingV2::ListenerRule") == {}


def test_full_name_is_the_metric_dimension_attribute(stack):
    assert full_name(balancer(stack)).to_dict() == {"Fn::GetAtt": ["Balancer", "LoadBalancerFullName"]}
