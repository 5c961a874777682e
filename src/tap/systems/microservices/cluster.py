"""Cluster stack: the ECS cluster and the Application Load Balancer in front of every service.

Service rules attach to one listener: HTTPS when a certificate is
configured (HTTP then only redirects), HTTP otherwise. The load balancer's
access logs go to the logs bucket of the storage stack, whose policy
already admits the ELB log-delivery service (the load balancer checks that
it can write when it is created).
"""

from __future__ import annotations

from troposphere import GetAtt, Ref

from tap.blocks.alb import application_load_balancer, full_name, listeners
from tap.blocks.ecs import fargate_cluster
from tap.config.microservices import MicroservicesSettings
from tap.stacktree import Stack
from tap.systems.microservices.accounts import AccountInputs
from tap.systems.microservices.storage import LOAD_BALANCER_LOG_PREFIX
from tap.systems.microservices.wiring import declare, subnets_and_group


def cluster_stack(settings: MicroservicesSettings) -> Stack:
    stack = Stack("cluster", "tap microservices: ECS cluster and load balancer")
    subnets, security_group = subnets_and_group(
        stack, "PublicSubnetIds", "LoadBalancerSecurityGroupId", "web traffic to the load balancer"
    )
    log_bucket = stack.parameter("LogsBucketName", Description="Bucket receiving access logs.")
    cluster = fargate_cluster(
        stack, "Cluster", container_insights=settings.cluster.container_insights
    )
    balancer = application_load_balancer(
        stack, "LoadBalancer",
        subnets=subnets,
        security_groups=[security_group],
        log_bucket=Ref(log_bucket),
        log_prefix=LOAD_BALANCER_LOG_PREFIX,
        deletion_protection=settings.load_balancer.deletion_protection,
        idle_timeout_seconds=settings.load_balancer.idle_timeout_seconds,
    )
    accounts = declare(stack, AccountInputs)
    listener = listeners(
        stack, balancer,
        certificate_arn=accounts.load_balancer_certificate_arn if settings.load_balancer.https else None,
    )

    stack.output("ClusterName", Ref(cluster), "ECS cluster of the services.")
    stack.output("ClusterArn", GetAtt(cluster, "Arn"), "ARN of the ECS cluster.")
    stack.output("LoadBalancerDnsName", GetAtt(balancer, "DNSName"), "DNS name of the load balancer.")
    stack.output("LoadBalancerFullName", full_name(balancer),
                 "The load balancer as CloudWatch names it (app/<name>/<id>).")
    stack.output("ListenerArn", Ref(listener), "Listener the services' routing rules attach to.")
    return stack
