"""Settings of the microservices platform (system B)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal

from tap.config import checks
from tap.config.common import SystemSettings
from tap.config.schema import setting


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
class MicroservicesSettings(SystemSettings):
    network: NetworkSettings = setting(NetworkSettings())
