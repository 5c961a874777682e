"""Security stack: who may talk to whom.

- load balancers: HTTP/HTTPS from the internet (ingress "internet"), or, for
  internal load balancers that CloudFront reaches as VPC origins, only the
  port CloudFront uses, from the VPC: CloudFront connects through network
  interfaces it places in the VPC's private subnets, and an internal load
  balancer has no address outside the VPC. Out only to the VPC on the ports
  services listen on.
- services: a group every service task carries (its outbound traffic: TLS
  to AWS APIs and the internet, PostgreSQL and Redis inside the VPC).
  Inbound, each service has its own group in its shard admitting only the
  load balancer on that service's port.
- database and cache: PostgreSQL 5432 and Redis 6379 from the services
  group only; nothing out.
"""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import GetAtt, ec2

from tap.blocks.elasticache import CACHE_PORT
from tap.blocks.lifecycle import suppress
from tap.blocks.rds import POSTGRES_PORT
from tap.blocks.security_groups import Rule, security_group
from tap.cfnvalue import CfnValue
from tap.config.microservices import LoadBalancerSettings
from tap.stacktree import Stack
from tap.wiring import declare, publish, wire

ANYWHERE = "0.0.0.0/0"
# Services listen on unprivileged ports (their containers drop every capability).
SERVICE_PORTS = (1024, 65535)


@dataclass(frozen=True)
class SecurityInputs:
    vpc_id: CfnValue = wire("VPC of the platform.", "AWS::EC2::VPC::Id")
    vpc_cidr: CfnValue = wire("CIDR block of the VPC.")


@dataclass(frozen=True)
class SecurityOutputs:
    load_balancer_security_group_id: CfnValue = wire("Security group of the load balancer.")
    services_security_group_id: CfnValue = wire(
        "Security group of every service task (outbound rules).")
    database_security_group_id: CfnValue = wire("Security group of the database.")
    cache_security_group_id: CfnValue = wire("Security group of the cache.")


def security_stack(settings: LoadBalancerSettings) -> Stack:
    stack = Stack("security", "tap microservices: security groups")
    inputs = declare(stack, SecurityInputs)
    load_balancer = add_load_balancer_group(stack, settings, inputs)
    services = add_services_group(stack, inputs)
    database = add_database_group(stack, inputs, services)
    cache = add_cache_group(stack, inputs, services)
    publish(stack, SecurityOutputs(
        load_balancer_security_group_id=GetAtt(load_balancer, "GroupId"),
        services_security_group_id=GetAtt(services, "GroupId"),
        database_security_group_id=GetAtt(database, "GroupId"),
        cache_security_group_id=GetAtt(cache, "GroupId"),
    ))
    return stack


def add_load_balancer_group(
    stack: Stack, settings: LoadBalancerSettings, inputs: SecurityInputs
) -> ec2.SecurityGroup:
    listener_ports = [443, 80] if settings.https else [80]
    if settings.ingress == "cloudfront":
        # Only the port CloudFront's VPC origin uses (HTTPS with a certificate, else HTTP).
        ingress = [Rule(f"CloudFront VPC origin to the load balancers on {listener_ports[0]}",
                        listener_ports[0], cidr=inputs.vpc_cidr)]
    else:
        ingress = [Rule(f"Internet to the load balancers on {port}", port, cidr=ANYWHERE)
                   for port in listener_ports]
    group = security_group(
        stack, "LoadBalancerSecurityGroup", "Load balancers: web traffic in, services out",
        vpc_id=inputs.vpc_id,
        ingress=ingress,
        egress=[Rule("Load balancer to services in the VPC", SERVICE_PORTS[0], SERVICE_PORTS[1],
                     cidr=inputs.vpc_cidr)],
    )
    if settings.ingress == "internet":
        suppress(
            group,
            CKV_AWS_260="A public load balancer: port 80 is open to the internet to redirect to "
            "HTTPS (with a certificate) or to serve HTTP (without one).",
        )
    return group


def add_services_group(stack: Stack, inputs: SecurityInputs) -> ec2.SecurityGroup:
    return security_group(
        stack, "ServicesSecurityGroup",
        "Service tasks: TLS out to AWS APIs and the internet, PostgreSQL and Redis in the VPC",
        vpc_id=inputs.vpc_id,
        egress=[
            Rule("TLS to AWS APIs (ECR, Secrets Manager, Logs) and the internet", 443, cidr=ANYWHERE),
            Rule("PostgreSQL in the VPC", POSTGRES_PORT, cidr=inputs.vpc_cidr),
            Rule("Redis in the VPC", CACHE_PORT, cidr=inputs.vpc_cidr),
        ],
    )


def add_database_group(stack: Stack, inputs: SecurityInputs, services: ec2.SecurityGroup) -> ec2.SecurityGroup:
    return security_group(
        stack, "DatabaseSecurityGroup", "PostgreSQL from service tasks only",
        vpc_id=inputs.vpc_id,
        ingress=[Rule("PostgreSQL from service tasks", POSTGRES_PORT, group=GetAtt(services, "GroupId"))],
    )


def add_cache_group(stack: Stack, inputs: SecurityInputs, services: ec2.SecurityGroup) -> ec2.SecurityGroup:
    return security_group(
        stack, "CacheSecurityGroup", "Redis from service tasks only",
        vpc_id=inputs.vpc_id,
        ingress=[Rule("Redis from service tasks", CACHE_PORT, group=GetAtt(services, "GroupId"))],
    )
