"""The licence API's settings, read once per container from its environment."""

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    licenses_table: str
    signing_key_secret_arn: str
    signing_key_id: str
    download_domain: str
    download_path_prefix: str  # "" or "/something", never a trailing "/"
    signed_url_ttl_seconds: int
    operator_principals: str  # "account" and IAM role or user ARNs, comma-separated

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> "Settings":
        def required(name: str) -> str:
            value = environ.get(name, "")
            if not value:
                raise RuntimeError(f"environment variable {name} is not set")
            return value

        prefix = environ.get("DOWNLOAD_PATH_PREFIX", "").strip("/")
        return cls(
            licenses_table=required("LICENSES_TABLE"),
            signing_key_secret_arn=required("SIGNING_KEY_SECRET_ARN"),
            signing_key_id=required("SIGNING_KEY_ID"),
            download_domain=required("DOWNLOAD_DOMAIN"),
            download_path_prefix=f"/{prefix}" if prefix else "",
            signed_url_ttl_seconds=int(required("SIGNED_URL_TTL_SECONDS")),
            operator_principals=required("OPERATOR_PRINCIPALS"),
        )
