"""Settings of the microservices platform (system B): the schema of its config files.

Services are a list of `[[services]]` tables. Where a service lives (its
shard, load balancer and listener-rule priority) is not a setting but a
function of the service's own settings, in
`tap.systems.microservices.placement`; so are the checks that depend on it
(load balancer quotas, unique priorities), which the system's build runs.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Optional

from tap.config import checks
from tap.config.common import SystemSettings
from tap.config.schema import Check, Invalid, setting, show

# --- limits the schema checks settings against --------------------------------
# Placement (tap.systems.microservices.placement) uses the same numbers: they live
# here because config must not import a system.

# Services are spread over this many shards by a hash of their name. The
# number is part of every deployed service's identity: changing it would move
# services between nested stacks (delete and recreate them), so it never
# changes. 128 shards keep about 8 services per shard at 1,000 services and
# leave room for several thousand before a shard fills up.
SHARD_COUNT = 128

# Listener-rule priorities derived from a name fall in this range; explicit
# priorities below it are never derived, so they are free for rules that
# must be evaluated before the others (overlapping path patterns).
DERIVED_PRIORITY_FIRST = 1000
PRIORITY_LAST = 50000  # the highest priority an ALB listener rule may have

# "Target groups per Application Load Balancer": 100, and AWS does not raise it.
TARGET_GROUPS_PER_LOAD_BALANCER = 100
# "VPC origins per account" (CloudFront, adjustable): one per load balancer, and the
# account's other platforms share it.
VPC_ORIGINS_QUOTA = 25


# --- Fargate -----------------------------------------------------------------

# Task sizes Fargate accepts: cpu units -> allowed memory (MiB).
FARGATE_MEMORY = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}


def _memory_choices(cpu: int) -> str:
    memory = FARGATE_MEMORY[cpu]
    if len(memory) <= 3:
        return ", ".join(map(str, memory))
    return f"{memory[0]} to {memory[-1]} in steps of {memory[1] - memory[0]}"


# Environment variables the platform sets on every service container.
PLATFORM_ENVIRONMENT = (
    "CACHE_HOST", "CACHE_PORT", "DATABASE_HOST", "DATABASE_NAME", "DATABASE_PORT", "PORT",
)

# Secret references that name the platform's own credentials rather than a
# secret of the service: the RDS-managed master credentials (a JSON document
# with username and password) and the cache AUTH token.
PLATFORM_SECRETS = ("database", "cache")

_SERVICE_NAME = r"[a-z][a-z0-9]*(-[a-z0-9]+)*"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SECRET_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")

_IMAGE_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
# The image tag a service is given while its repository holds no image: it runs no task.
NO_IMAGE = "no-image-yet"
_PATH_PATTERN = re.compile(r"/[A-Za-z0-9_\-.$/~\"'@:+&*?]{0,127}")
_HOST = re.compile(r"(?=.{1,128}$)(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def secret_kind(reference: str) -> Literal["platform", "arn", "created"]:
    """How a service's secret reference is resolved (see ServiceSettings.secrets)."""
    if reference in PLATFORM_SECRETS:
        return "platform"
    if reference.startswith("arn:"):
        return "arn"
    return "created"


def _valid_secret_reference(reference: str) -> bool:
    kind = secret_kind(reference)
    if kind == "arn":
        return checks.secret_arn.test(reference)
    return kind == "platform" or (_SECRET_NAME.fullmatch(reference) is not None and len(reference) <= 40)


def _valid_secrets(secrets: Mapping[str, str]) -> bool:
    return all(
        _ENV_NAME.fullmatch(name) and _valid_secret_reference(reference)
        for name, reference in secrets.items()
    )


def _valid_environment(environment: Mapping[str, str]) -> bool:
    return all(_ENV_NAME.fullmatch(name) for name in environment)


# --- settings ------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkSettings:
    cidr: str = setting("10.0.0.0/16", check=checks.ipv4_cidr(16, 22), doc="VPC CIDR block.")
    az_count: int = setting(2, check=checks.between(2, 3), doc="Availability zones to span.")
    nat: Literal["per-az", "single"] = setting(
        "per-az", doc="One NAT gateway per AZ (resilient) or a single one (cheaper, for dev)."
    )
    flow_log_retention_days: int = setting(90, check=checks.log_retention)

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.cidr)


@dataclass(frozen=True)
class LoadBalancerSettings:
    certificate_arn: Optional[str] = setting(
        None, check=checks.acm_certificate_arn,
        doc="ACM certificate (in the platform's region) for an HTTPS listener; HTTP redirects "
        "to it. Without one the load balancer listens on HTTP only.",
    )
    domain_name: Optional[str] = setting(
        None, check=checks.dns_name,
        doc="The name CloudFront connects to the load balancer by over HTTPS, covered by "
        "certificate_arn. With count > 1, load balancer k is lb<k>.<domain_name>, so the "
        "certificate must cover *.<domain_name>.",
    )
    ingress: Literal["cloudfront", "internet"] = setting(
        "cloudfront",
        doc="Who may connect to the load balancers: only this platform's CloudFront "
        "distribution (internal load balancers in the private subnets, reached as CloudFront "
        "VPC origins) or anyone (internet-facing, in the public subnets).",
    )
    count: int = setting(
        1, check=checks.between(1, VPC_ORIGINS_QUOTA),
        doc="Load balancers the services are spread over. A load balancer holds at most "
        f"{TARGET_GROUPS_PER_LOAD_BALANCER} services (AWS's 'Target groups per Application Load "
        "Balancer' quota, which cannot be raised). A service's load balancer is a hash of its "
        "routing key (its host, or the first segment of its path_pattern) modulo count, so "
        "adding or removing services never moves another one; changing count moves services.",
    )
    deletion_protection: bool = setting(False, doc="Refuse to delete the load balancer.")
    idle_timeout_seconds: int = setting(60, check=checks.between(1, 4000))
    log_expiry_days: int = setting(
        90, check=checks.between(1, 3650), doc="Days before load balancer access logs are deleted."
    )
    rules_quota: int = setting(
        100, check=checks.between(1, 10000),
        doc="The account's 'Rules per Application Load Balancer' quota (AWS default 100, "
        "adjustable): each service takes one listener rule on its load balancer.",
    )

    def validate(self) -> None:
        checks.require(
            (self.certificate_arn is None) == (self.domain_name is None),
            "domain_name" if self.certificate_arn else "certificate_arn",
            self.domain_name if self.certificate_arn else self.certificate_arn,
            "is set without its partner",
            "certificate_arn and domain_name together (CloudFront reaches the load balancer over "
            "HTTPS by a name the certificate covers), or neither",
        )

    @property
    def https(self) -> bool:
        return self.certificate_arn is not None

    def origin_domain_name(self, balancer: int) -> str | None:
        """The name CloudFront reaches load balancer `balancer` by over HTTPS."""
        if self.domain_name is None:
            return None
        return self.domain_name if self.count == 1 else f"lb{balancer}.{self.domain_name}"


@dataclass(frozen=True)
class ClusterSettings:
    container_insights: Literal["enabled", "enhanced"] = setting(
        "enabled", doc="Container Insights level of the ECS cluster."
    )


@dataclass(frozen=True)
class DatabaseSettings:
    engine_version: str = setting(
        "17.6",
        check=checks.matches(r"1[3-8]\.\d{1,2}", "a PostgreSQL version from 13 to 18 with its minor "
                             "version, such as 17.6"),
    )
    instance_class: str = setting(
        "db.t4g.micro", check=checks.matches(r"db\.[a-z0-9]+\.[a-z0-9]+", "an RDS class such as db.t4g.micro")
    )
    allocated_storage_gb: int = setting(20, check=checks.between(20, 65536))
    max_allocated_storage_gb: int = setting(
        100, check=checks.between(20, 65536), doc="Storage autoscaling ceiling."
    )
    multi_az: bool = setting(False, doc="A synchronous standby in another AZ (prod).")
    deletion_protection: bool = setting(False, doc="Refuse to delete the instance (prod).")
    backup_retention_days: int = setting(7, check=checks.between(1, 35))
    database_name: str = setting(
        "app", check=checks.matches(r"[a-z][a-z0-9_]{0,62}", "lower-case letters, digits and '_', "
                                    "starting with a letter, at most 63 characters"),
    )
    master_username: str = setting(
        "platform_admin",
        check=checks.matches(r"[a-z][a-z0-9_]{0,15}", "lower-case letters, digits and '_', starting "
                             "with a letter, at most 16 characters"),
    )
    performance_insights_retention_days: int = setting(
        7,
        check=Check(
            "7, 731, or a multiple of 31 up to 713 (days Performance Insights accepts)",
            lambda days: days in (7, 731) or (days % 31 == 0 and 31 <= days <= 713),
        ),
    )

    def validate(self) -> None:
        checks.require(
            self.max_allocated_storage_gb >= self.allocated_storage_gb, "max_allocated_storage_gb",
            self.max_allocated_storage_gb, f"is below allocated_storage_gb ({self.allocated_storage_gb})",
            "a number at least allocated_storage_gb",
        )
        checks.require(
            self.master_username not in ("postgres", "rdsadmin", "admin"), "master_username",
            self.master_username, "is reserved", "a name other than postgres, rdsadmin and admin",
        )

    @property
    def major_version(self) -> str:
        return self.engine_version.split(".")[0]


# ElastiCache engine versions and the parameter group family of each.
CACHE_VERSIONS = {
    "redis": {"6.2": "redis6.x", "7.0": "redis7", "7.1": "redis7"},
    "valkey": {"7.2": "valkey7", "8.0": "valkey8"},
}


@dataclass(frozen=True)
class CacheSettings:
    engine: Literal["valkey", "redis"] = setting("valkey")
    engine_version: str = setting("8.0")
    node_type: str = setting(
        "cache.t4g.micro",
        check=checks.matches(r"cache\.[a-z0-9]+\.[a-z0-9]+", "a node type such as cache.t4g.micro"),
    )
    node_count: int = setting(
        2, check=checks.between(2, 6),
        doc="Primary plus replicas; at least 2 for automatic failover across AZs.",
    )
    snapshot_retention_days: int = setting(7, check=checks.between(1, 35))
    log_retention_days: int = setting(30, check=checks.log_retention, doc="Slow-log retention.")

    def validate(self) -> None:
        versions = CACHE_VERSIONS[self.engine]
        checks.require(
            self.engine_version in versions, "engine_version", self.engine_version,
            f"is not a supported {self.engine} version", "one of " + ", ".join(versions),
        )

    @property
    def parameter_group_family(self) -> str:
        return CACHE_VERSIONS[self.engine][self.engine_version]


@dataclass(frozen=True)
class CdnSettings:
    aliases: tuple[str, ...] = setting([], check=checks.each(checks.dns_name))
    certificate_arn: Optional[str] = setting(
        None, check=checks.cloudfront_certificate_arn,
        doc="ACM certificate in us-east-1 (CloudFront reads certificates only there) for aliases.",
    )
    price_class: Literal["PriceClass_100", "PriceClass_200", "PriceClass_All"] = setting(
        "PriceClass_100"
    )
    web_acl_arn: Optional[str] = setting(
        None, check=checks.cloudfront_web_acl_arn, doc="A CLOUDFRONT-scope WAF web ACL to attach.",
    )
    log_expiry_days: int = setting(90, check=checks.between(1, 3650))
    forward_host_header: bool = setting(
        False,
        doc="Forward the viewer's Host header to the load balancer (needed when services route "
        "by host). Off: the load balancer sees its own name, which its certificate covers.",
    )

    def validate(self) -> None:
        checks.require(
            bool(self.aliases) == (self.certificate_arn is not None),
            "certificate_arn" if self.aliases else "aliases",
            self.certificate_arn if self.aliases else list(self.aliases),
            "is needed together with its partner",
            "aliases and certificate_arn together (CloudFront serves an alias only with a "
            "certificate covering it), or neither",
        )


@dataclass(frozen=True)
class PipelineSettings:
    connection_arn: Optional[str] = setting(
        None, check=checks.connection_arn,
        doc="An existing GitHub connection. Empty: the platform creates one (complete it once "
        "in the console).",
    )
    connection_name: Optional[str] = setting(
        None,
        check=checks.matches(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}", "1-32 letters, digits, '.', '_', '-'"),
        doc="Name of the connection the platform creates (CodeConnections requires a name). "
        "Default: tap-<env>-github.",
    )
    create_oidc_provider: bool = setting(
        True,
        doc="Create the account's GitHub OIDC provider. An account has at most one provider "
        "for token.actions.githubusercontent.com: set false where it already exists.",
    )
    build_image: str = setting(
        "aws/codebuild/amazonlinux-x86_64-standard:5.0",
        check=checks.matches(r"aws/codebuild/[a-z0-9._/-]+:[0-9.]+", "a CodeBuild curated image"),
    )
    build_compute_type: Literal[
        "BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_MEDIUM", "BUILD_GENERAL1_LARGE"
    ] = setting("BUILD_GENERAL1_SMALL")
    build_timeout_minutes: int = setting(30, check=checks.between(5, 480))
    log_retention_days: int = setting(30, check=checks.log_retention)


@dataclass(frozen=True)
class MonitoringSettings:
    alarm_email: Optional[str] = setting(None, check=checks.email)
    service_cpu_alarm_percent: int = setting(90, check=checks.between(1, 100))
    service_memory_alarm_percent: int = setting(90, check=checks.between(1, 100))
    database_cpu_alarm_percent: int = setting(80, check=checks.between(1, 100))
    database_free_storage_alarm_gb: int = setting(5, check=checks.between(1, 1000))
    database_connections_alarm: int = setting(100, check=checks.between(1, 100000))
    cache_cpu_alarm_percent: int = setting(80, check=checks.between(1, 100))


@dataclass(frozen=True)
class ServiceSettings:
    name: str = setting(
        check=checks.matches(
            r"(?=.{1,32}$)" + _SERVICE_NAME,
            "lower-case words of letters and digits joined by '-', starting with a letter, "
            "at most 32 characters",
        ),
        doc="Stable identity of the service: its nested stack, logical ids and default "
        "listener priority derive from it. Renaming a service replaces it.",
    )
    repository: str = setting(
        check=checks.matches(
            r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}",
            "a GitHub repository as owner/name, such as example-org/orders",
        ),
    )
    branch: str = setting(
        "main",
        check=checks.matches(
            r"(?!.*\.\.)(?!/)(?!.*//)[A-Za-z0-9._/-]{1,200}(?<![/.])",
            "a branch name of letters, digits, '.', '_', '-' and '/'",
        ),
    )
    port: int = setting(
        8080, check=checks.between(1024, 65535),
        doc="Container port. Containers drop every Linux capability, so they cannot bind "
        "ports below 1024.",
    )
    cpu: int = setting(
        256,
        check=Check("one of " + ", ".join(map(str, FARGATE_MEMORY)) + " (Fargate CPU units)",
                    lambda cpu: cpu in FARGATE_MEMORY),
    )
    memory: int = setting(512, doc="MiB; must suit cpu (Fargate task sizes).")
    desired_count: int = setting(2, check=checks.between(0, 1000))
    min_capacity: int = setting(1, check=checks.between(0, 1000))
    max_capacity: int = setting(4, check=checks.between(1, 1000))
    cpu_target: int = setting(
        70, check=checks.between(10, 95), doc="Target average CPU % for autoscaling."
    )
    health_check_path: str = setting(
        "/health",
        check=Check("a path starting with '/' of at most 1024 URL characters",
                    lambda path: re.fullmatch(r"/[A-Za-z0-9_\-.~/?=&%:@+]{0,1023}", path) is not None),
    )
    path_pattern: Optional[str] = setting(
        None,
        check=Check(
            "an ALB path pattern starting with '/', at most 128 characters of letters, digits "
            "and _-.$/~\"'@:+&*?, such as /orders/*",
            lambda pattern: _PATH_PATTERN.fullmatch(pattern) is not None,
        ),
    )
    host: Optional[str] = setting(
        None,
        check=Check("a lower-case host name, optionally starting with '*.', such as orders.example.com",
                    lambda host: _HOST.fullmatch(host) is not None),
    )
    priority: Optional[int] = setting(
        None, check=checks.between(1, PRIORITY_LAST),
        doc="Listener-rule priority (lower is evaluated first). Default: derived from the name "
        f"({DERIVED_PRIORITY_FIRST}-{PRIORITY_LAST}).",
    )
    environment: Mapping[str, str] = setting(
        {},
        check=Check("a table of environment variable names (letters, digits, '_') to values",
                    _valid_environment),
    )
    secrets: Mapping[str, str] = setting(
        {},
        check=Check(
            "a table of environment variable names to secret references: a secret name "
            "(lower-case words joined by '-', created by the platform for this service), a "
            "complete Secrets Manager secret ARN, \"database\" (the RDS master credentials) or "
            "\"cache\" (the cache AUTH token)",
            _valid_secrets,
        ),
    )
    image_tag: Optional[str] = setting(
        None,
        check=Check(
            f"an image tag of letters, digits, '_', '.', '-' (at most 128), other than latest "
            f"and {NO_IMAGE}, such as the commit SHA the pipeline pushed",
            lambda tag: _IMAGE_TAG.fullmatch(tag) is not None and tag not in ("latest", NO_IMAGE),
        ),
        doc="The image a first deploy runs once its repository holds it. `./deploy.sh` runs "
        "the newer pushed of this and the image running now; while the repository holds "
        "neither, the service runs no task and has no autoscaling.",
    )
    test_command: str = setting(
        "make test",
        check=Check("one line of shell, at most 1000 characters",
                    lambda command: 0 < len(command) <= 1000 and "\n" not in command),
        doc="Runs the service's tests in CodeBuild before the image is built.",
    )
    log_retention_days: int = setting(14, check=checks.log_retention)
    keep_images: int = setting(
        30, check=checks.between(1, 1000), doc="ECR keeps this many most recent images."
    )
    capacity: Literal["FARGATE", "FARGATE_SPOT"] = setting(
        "FARGATE", doc="Capacity provider of the tasks (Spot is cheaper and interruptible)."
    )
    read_only_root_filesystem: bool = setting(
        True, doc="Mount the container's root read-only (a writable /tmp is provided)."
    )
    shard: Optional[int] = setting(
        None, check=checks.between(0, SHARD_COUNT - 1),
        doc="Pin the service to this shard (nested stack). Default: derived from the name.",
    )

    def validate(self) -> None:
        checks.require(
            self.memory in FARGATE_MEMORY[self.cpu], "memory", self.memory,
            f"does not suit cpu = {self.cpu}",
            f"for cpu {self.cpu}: {_memory_choices(self.cpu)} (Fargate task sizes)",
        )
        checks.require(
            self.min_capacity <= self.max_capacity, "min_capacity", self.min_capacity,
            f"is above max_capacity ({self.max_capacity})", "min_capacity <= max_capacity",
        )
        checks.require(
            self.min_capacity <= self.desired_count <= self.max_capacity, "desired_count",
            self.desired_count, f"is outside min_capacity..max_capacity "
            f"({self.min_capacity}..{self.max_capacity})",
            "min_capacity <= desired_count <= max_capacity",
        )
        checks.require(
            (self.path_pattern is None) != (self.host is None),
            "path_pattern", self.path_pattern,
            "and host are both set" if self.host else "is missing and so is host",
            "exactly one of path_pattern and host (the listener rule routes by one of them)",
        )
        for name in self.environment:
            checks.require(
                name not in PLATFORM_ENVIRONMENT, f"environment.{name}", self.environment[name],
                "is set by the platform", "names other than " + ", ".join(PLATFORM_ENVIRONMENT),
            )
        for name in self.secrets:
            checks.require(
                name not in self.environment and name not in PLATFORM_ENVIRONMENT,
                f"secrets.{name}", self.secrets[name],
                "names a variable that is also a plain environment variable",
                "a name not used in environment nor set by the platform",
            )

    @property
    def created_secrets(self) -> tuple[str, ...]:
        """Names of the secrets the platform creates for this service, sorted, unique."""
        return tuple(sorted({ref for ref in self.secrets.values() if secret_kind(ref) == "created"}))


@dataclass(frozen=True)
class MicroservicesSettings(SystemSettings):
    network: NetworkSettings = setting(NetworkSettings())
    load_balancer: LoadBalancerSettings = setting(LoadBalancerSettings())
    cluster: ClusterSettings = setting(ClusterSettings())
    database: DatabaseSettings = setting(DatabaseSettings())
    cache: CacheSettings = setting(CacheSettings())
    cdn: CdnSettings = setting(CdnSettings())
    pipeline: PipelineSettings = setting(PipelineSettings())
    monitoring: MonitoringSettings = setting(MonitoringSettings())
    services: tuple[ServiceSettings, ...] = setting([], doc="One [[services]] table per service.")

    def validate(self) -> None:
        # Checks that depend on where services are placed (load balancer quotas, unique
        # listener priorities) run in tap.systems.microservices.placement.check_placement.
        self._host_routing_reaches_the_load_balancer()
        self._unique("name", lambda s: s.name.replace("-", ""), "another service's name "
                     "(names must differ in more than '-': logical ids drop it)")
        self._unique("path_pattern", lambda s: s.path_pattern, "another service's path_pattern")
        self._unique("host", lambda s: s.host, "another service's host")

    def _host_routing_reaches_the_load_balancer(self) -> None:
        for index, service in enumerate(self.services):
            checks.require(
                service.host is None or self.cdn.forward_host_header,
                f"services[{index}].host", service.host,
                "cannot match: CloudFront replaces the Host header unless told to forward it",
                "host routing with cdn.forward_host_header = true, or a path_pattern",
            )
        if self.cdn.forward_host_header and self.load_balancer.https:
            checks.require(
                bool(self.cdn.aliases), "cdn.forward_host_header", True,
                "sends CloudFront's own *.cloudfront.net name to the load balancer, which its "
                "certificate does not cover",
                "forward_host_header with cdn.aliases that load_balancer.certificate_arn covers",
            )

    def _unique(self, key: str, value_of, clash: str) -> None:
        seen: dict = {}
        for index, service in enumerate(self.services):
            value = value_of(service)
            if value is None:
                continue
            if value in seen:
                other = seen[value]
                raise Invalid(
                    f"{show(getattr(service, key))} is also {clash} "
                    f"(services[{other}], {self.services[other].name!r})",
                    f"a {key} no other service uses",
                    key=f"services[{index}].{key}",
                )
            seen[value] = index
