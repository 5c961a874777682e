"""The systems tap builds. Each turns settings into a stack tree: pure, no file or AWS I/O.

A system receives a `FunctionPackager` rather than reading `functions/`
itself: it asks for a function by name and gets bytes with a hashed key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tap.package import FunctionPackager
from tap.stacktree import Stack


@dataclass(frozen=True)
class SystemBuild:
    """A system's stack tree plus text artefacts emitted beside its templates."""

    root: Stack
    files: Mapping[str, bytes] = field(default_factory=dict)


Builder = Callable[[Any, FunctionPackager], SystemBuild]


def builder(system: str) -> Builder:
    """The build function of `system` (a name from tap.config.SYSTEMS)."""
    if system == "distribution":
        from tap.systems.distribution import build as build_distribution

        return build_distribution
    if system == "microservices":
        from tap.systems.microservices import build as build_microservices

        return build_microservices
    raise KeyError(system)
