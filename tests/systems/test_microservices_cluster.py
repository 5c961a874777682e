"""Microservices platform, cluster stack: ECS cluster and Application Load Balancers."""

from __future__ import annotations

from tests.helpers import only_resource, resources_of_type
from tests.systems.microservices import Built, config

CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"


def https() -> dict:
    return Built(config(load_balancer={"certificate_arn": CERTIFICATE, "domain_name": "origin.example.com"}))[
        "cluster"]


def test_cluster_has_container_insights_and_both_fargate_capacity_providers(built):
    cluster = only_resource(built.template("microservices/dev", "cluster"), "AWS::ECS::Cluster")["Properties"]
    assert cluster["ClusterSettings"] == [{"Name": "containerInsights", "Value": "enabled"}]
    assert cluster["CapacityProviders"] == ["FARGATE", "FARGATE_SPOT"]
    assert cluster["DefaultCapacityProviderStrategy"] == [{"CapacityProvider": "FARGATE", "Weight": 1}]


def attributes(template: dict) -> dict:
    balancer = only_resource(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    return {item["Key"]: item["Value"] for item in balancer["Properties"]["LoadBalancerAttributes"]}


def test_load_balancer_logs_access_and_drops_invalid_headers(built):
    values = attributes(built.template("microservices/dev", "cluster"))
    assert values["access_logs.s3.enabled"] == "true"
    assert values["access_logs.s3.bucket"] == {"Ref": "LogsBucketName"}
    assert values["access_logs.s3.prefix"] == "alb"
    assert values["routing.http.drop_invalid_header_fields.enabled"] == "true"


def test_deletion_protection_follows_the_environment(built):
    assert attributes(built.template("microservices/prod", "cluster"))["deletion_protection.enabled"] == "true"
    assert attributes(built.template("microservices/dev", "cluster"))["deletion_protection.enabled"] == "false"


def test_without_a_certificate_one_http_listener_answers_404_by_default(built):
    template = built.template("microservices/dev", "cluster")
    (listener,) = resources_of_type(template, "AWS::ElasticLoadBalancingV2::Listener").values()
    assert (listener["Properties"]["Port"], listener["Properties"]["Protocol"]) == (80, "HTTP")
    assert listener["Properties"]["DefaultActions"][0]["FixedResponseConfig"]["StatusCode"] == "404"
    assert template["Outputs"]["LoadBalancerListenerArns"]["Value"] == {
        "Fn::Join": [",", [{"Ref": "LoadBalancer0HttpListener"}]]}


def test_with_a_certificate_https_uses_tls_1_2_and_http_redirects_to_it():
    template = https()
    listeners = resources_of_type(template, "AWS::ElasticLoadBalancingV2::Listener")
    secure = listeners["LoadBalancer0HttpsListener"]["Properties"]
    assert (secure["Port"], secure["Protocol"]) == (443, "HTTPS")
    assert secure["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert secure["Certificates"] == [{"CertificateArn": {"Ref": "LoadBalancerCertificateArn"}}]
    (redirect,) = listeners["LoadBalancer0HttpListener"]["Properties"]["DefaultActions"]
    assert redirect["Type"] == "redirect"
    assert redirect["RedirectConfig"]["Protocol"] == "HTTPS"
    assert redirect["RedirectConfig"]["StatusCode"] == "HTTP_301"
    assert template["Outputs"]["LoadBalancerListenerArns"]["Value"] == {
        "Fn::Join": [",", [{"Ref": "LoadBalancer0HttpsListener"}]]}


def test_behind_cloudfront_the_load_balancer_is_internal_in_the_private_subnets(built):
    for env in ("dev", "staging", "prod"):
        template = built.template(f"microservices/{env}", "cluster")
        balancer = only_resource(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")["Properties"]
        assert balancer["Scheme"] == "internal"
        assert balancer["Subnets"] == {"Ref": "PrivateSubnetIds"}
        assert balancer["SecurityGroups"] == [{"Ref": "LoadBalancerSecurityGroupId"}]
        assert "PublicSubnetIds" not in template["Parameters"]


def test_with_internet_ingress_the_load_balancer_is_public_in_the_public_subnets():
    template = Built(config(load_balancer={"ingress": "internet"}))["cluster"]
    balancer = only_resource(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")["Properties"]
    assert balancer["Scheme"] == "internet-facing"
    assert balancer["Subnets"] == {"Ref": "PublicSubnetIds"}


def test_each_of_several_load_balancers_has_its_listener_and_outputs():
    template = Built(config(load_balancer={"count": 3}))["cluster"]
    balancers = resources_of_type(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert sorted(balancers) == ["LoadBalancer0", "LoadBalancer1", "LoadBalancer2"]
    listeners = resources_of_type(template, "AWS::ElasticLoadBalancingV2::Listener")
    assert {listener["Properties"]["LoadBalancerArn"]["Ref"] for listener in listeners.values()} == set(balancers)
    # One list per value, in load balancer order: other stacks Fn::Select their item.
    outputs = {name: output["Value"]["Fn::Join"] for name, output in template["Outputs"].items()
               if name.startswith("LoadBalancer")}
    numbers = range(3)
    assert outputs == {
        "LoadBalancerArns": [",", [{"Ref": f"LoadBalancer{n}"} for n in numbers]],
        "LoadBalancerDnsNames": [",", [{"Fn::GetAtt": [f"LoadBalancer{n}", "DNSName"]} for n in numbers]],
        "LoadBalancerFullNames": [",", [{"Fn::GetAtt": [f"LoadBalancer{n}", "LoadBalancerFullName"]}
                                        for n in numbers]],
        "LoadBalancerListenerArns": [",", [{"Ref": f"LoadBalancer{n}HttpListener"} for n in numbers]],
    }
