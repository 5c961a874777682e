"""Settings every system has."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tap.config import checks
from tap.config.schema import internal, setting


@dataclass(frozen=True)
class SystemSettings:
    """Top-level keys shared by every system's config file."""

    env: str = internal()
    region: str = setting(
        "us-east-1",
        check=checks.aws_region,
        doc="Region the templates are linted for and deployed to by default.",
    )
    tags: Mapping[str, str] = setting(
        {}, check=checks.tags, doc="Tags applied to every stack, propagated to its resources."
    )
