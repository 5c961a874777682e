"""Application Load Balancer: the load balancer, its listeners, target groups and rules.

Secure defaults:
- access logs to the given bucket; invalid header fields dropped; HTTP
  desync mitigation left at its defensive default; deletion protection as
  asked.
- with a certificate: an HTTPS listener with a TLS 1.2+ policy
  (ELBSecurityPolicy-TLS13-1-2-2021-06) and an HTTP listener that only
  redirects to HTTPS; without one: an HTTP listener. Either way requests no
  rule matches get a fixed 404, never a default backend.
- target groups send to task IPs over HTTP inside the VPC, with health
  checks on the service's own path and a short deregistration delay.
"""

from __future__ import annotations

from troposphere import GetAtt, Ref
from troposphere import elasticloadbalancingv2 as elbv2

from tap.blocks.lifecycle import suppress
from tap.cfnvalue import CfnValue
from tap.stacktree import Stack

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


def application_load_balancer(
    stack: Stack,
    logical_id: str,
    *,
    subnets: CfnValue,
    security_groups: list[CfnValue],
    log_bucket: CfnValue,
    log_prefix: str,
    deletion_protection: bool,
    internal: bool,
    idle_timeout_seconds: int = 60,
) -> elbv2.LoadBalancer:
    """An ALB; `internal` ones have private addresses only (reached from the VPC, or by
    CloudFront as a VPC origin)."""
    attributes = {
        "access_logs.s3.enabled": "true",
        "access_logs.s3.bucket": log_bucket,
        "access_logs.s3.prefix": log_prefix,
        "deletion_protection.enabled": str(deletion_protection).lower(),
        "idle_timeout.timeout_seconds": str(idle_timeout_seconds),
        "routing.http.drop_invalid_header_fields.enabled": "true",
    }
    balancer = elbv2.LoadBalancer(
        logical_id,
        Type="application",
        Scheme="internal" if internal else "internet-facing",
        IpAddressType="ipv4",
        Subnets=subnets,
        SecurityGroups=security_groups,
        LoadBalancerAttributes=[
            elbv2.LoadBalancerAttributes(Key=key, Value=value)
            for key, value in sorted(attributes.items())
        ],
    )
    return stack.add(balancer)


def _not_found() -> elbv2.Action:
    return elbv2.Action(
        Type="fixed-response",
        FixedResponseConfig=elbv2.FixedResponseConfig(
            StatusCode="404", ContentType="text/plain", MessageBody="Not found"
        ),
    )


def listeners(
    stack: Stack, balancer: elbv2.LoadBalancer, *, certificate_arn: CfnValue | None
) -> elbv2.Listener:
    """Add the listeners (logical ids start with the balancer's); returns the one service
    rules attach to."""
    if certificate_arn is None:
        http = elbv2.Listener(
            f"{balancer.title}HttpListener",
            LoadBalancerArn=Ref(balancer),
            Port=80,
            Protocol="HTTP",
            DefaultActions=[_not_found()],
        )
        suppress(
            http,
            CKV_AWS_2="No certificate is configured (load_balancer.certificate_arn), so the hop "
            "from CloudFront to this listener is plain HTTP: viewer TLS ends at CloudFront. Set "
            "a certificate (and domain_name) to encrypt that hop too.",
            CKV_AWS_103="As CKV_AWS_2: an HTTP listener has no TLS policy.",
        )
        return stack.add(http)
    https = stack.add(
        elbv2.Listener(
            f"{balancer.title}HttpsListener",
            LoadBalancerArn=Ref(balancer),
            Port=443,
            Protocol="HTTPS",
            SslPolicy=TLS_POLICY,
            Certificates=[elbv2.Certificate(CertificateArn=certificate_arn)],
            DefaultActions=[_not_found()],
        )
    )
    stack.add(
        elbv2.Listener(
            f"{balancer.title}HttpListener",
            LoadBalancerArn=Ref(balancer),
            Port=80,
            Protocol="HTTP",
            DefaultActions=[
                elbv2.Action(
                    Type="redirect",
                    RedirectConfig=elbv2.RedirectConfig(
                        Protocol="HTTPS", Port="443", Host="#{host}", Path="/#{path}",
                        Query="#{query}", StatusCode="HTTP_301",
                    ),
                )
            ],
        )
    )
    return https


def ip_target_group(
    stack: Stack, logical_id: str, *, vpc_id: CfnValue, port: int, health_check_path: str
) -> elbv2.TargetGroup:
    group = elbv2.TargetGroup(
        logical_id,
        TargetType="ip",
        Protocol="HTTP",
        ProtocolVersion="HTTP1",
        Port=port,
        VpcId=vpc_id,
        HealthCheckEnabled=True,
        HealthCheckProtocol="HTTP",
        HealthCheckPath=health_check_path,
        HealthCheckIntervalSeconds=15,
        HealthyThresholdCount=2,
        UnhealthyThresholdCount=3,
        Matcher=elbv2.Matcher(HttpCode="200-399"),
        TargetGroupAttributes=[
            elbv2.TargetGroupAttribute(Key="deregistration_delay.timeout_seconds", Value="30"),
        ],
    )
    return stack.add(group)


def forward_rule(
    stack: Stack,
    logical_id: str,
    *,
    listener_arn: CfnValue,
    priority: int,
    target_group: elbv2.TargetGroup,
    path_pattern: str | None = None,
    host: str | None = None,
) -> elbv2.ListenerRule:
    """Forward requests matching `path_pattern` or `host` (exactly one) to `target_group`."""
    if (path_pattern is None) == (host is None):
        raise ValueError("a forward rule matches a path pattern or a host, exactly one")
    if path_pattern is not None:
        condition = elbv2.Condition(
            Field="path-pattern", PathPatternConfig=elbv2.PathPatternConfig(Values=[path_pattern])
        )
    else:
        condition = elbv2.Condition(
            Field="host-header", HostHeaderConfig=elbv2.HostHeaderConfig(Values=[host])
        )
    return stack.add(
        elbv2.ListenerRule(
            logical_id,
            ListenerArn=listener_arn,
            Priority=priority,
            Conditions=[condition],
            Actions=[elbv2.ListenerRuleAction(Type="forward", TargetGroupArn=Ref(target_group))],
        )
    )


def full_name(balancer: elbv2.LoadBalancer) -> GetAtt:
    """The `app/<name>/<id>` form CloudWatch metrics use as the LoadBalancer dimension."""
    return GetAtt(balancer, "LoadBalancerFullName")
