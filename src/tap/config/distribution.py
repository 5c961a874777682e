"""Settings of the software distribution platform (system A)."""

from __future__ import annotations

from dataclasses import dataclass

from tap.config import checks
from tap.config.common import SystemSettings
from tap.config.schema import Check, setting

# Lambda@Edge functions, CloudFront key groups and CLOUDFRONT-scope WAF web
# ACLs can only be created in us-east-1.
EDGE_REGION = "us-east-1"


@dataclass(frozen=True)
class StorageSettings:
    log_expiry_days: int = setting(
        365, check=checks.between(1, 3650), doc="Days before access-log objects are deleted."
    )
    noncurrent_version_expiry_days: int = setting(
        90, check=checks.between(1, 3650), doc="Days before replaced binary versions are deleted."
    )
    intelligent_tiering_after_days: int = setting(
        0, check=checks.between(0, 365), doc="Days before binaries move to Intelligent-Tiering."
    )
    abort_multipart_after_days: int = setting(
        7, check=checks.between(1, 365), doc="Days before incomplete multipart uploads are aborted."
    )


@dataclass(frozen=True)
class DistributionSettings(SystemSettings):
    region: str = setting(
        EDGE_REGION,
        check=Check(
            f"{EDGE_REGION} only: Lambda@Edge, CloudFront key groups and CLOUDFRONT-scope WAF "
            "exist only there",
            lambda region: region == EDGE_REGION,
        ),
    )
    storage: StorageSettings = setting(StorageSettings())
