"""CloudFormation quotas, checked on every template at build time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_RESOURCES = 500
MAX_PARAMETERS = 200
MAX_OUTPUTS = 200
MAX_MAPPINGS = 200
MAX_TEMPLATE_BYTES = 1_000_000  # template body in S3: 1 MB
MAX_LOGICAL_ID = 255


@dataclass(frozen=True)
class Usage:
    """How much of each quota one template uses."""

    resources: int
    parameters: int
    outputs: int
    mappings: int
    bytes: int
    longest_logical_id: str

    @classmethod
    def of(cls, template: Mapping[str, Any], size: int) -> "Usage":
        """`template`: a rendered template, or its outline (sections by name)."""
        names = [
            name
            for section in ("Resources", "Parameters", "Outputs", "Mappings", "Conditions")
            for name in template.get(section, {})
        ]
        return cls(
            resources=len(template.get("Resources", {})),
            parameters=len(template.get("Parameters", {})),
            outputs=len(template.get("Outputs", {})),
            mappings=len(template.get("Mappings", {})),
            bytes=size,
            longest_logical_id=max(names, key=len, default=""),
        )

    def breaches(self) -> list[str]:
        """Each quota this template crosses, as 'what: used > limit'."""
        checks = [
            ("resources", self.resources, MAX_RESOURCES),
            ("parameters", self.parameters, MAX_PARAMETERS),
            ("outputs", self.outputs, MAX_OUTPUTS),
            ("mappings", self.mappings, MAX_MAPPINGS),
            ("bytes", self.bytes, MAX_TEMPLATE_BYTES),
            ("logical id length", len(self.longest_logical_id), MAX_LOGICAL_ID),
        ]
        return [f"{what}: {used} > {limit}" for what, used, limit in checks if used > limit]
