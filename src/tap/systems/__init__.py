"""The systems tap builds. Each turns settings into a stack tree: pure, no file or AWS I/O.

A system receives a `FunctionPackager` rather than reading `functions/`
itself: it asks for a function by name and gets bytes with a hashed key.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tap import config
from tap.package import FunctionPackager
from tap.stacktree import Stack


@dataclass(frozen=True)
class SystemBuild:
    """A system's stack tree plus text artefacts emitted beside its templates."""

    root: Stack
    files: Mapping[str, bytes] = field(default_factory=dict)


Builder = Callable[[Any, FunctionPackager], SystemBuild]


def builder(system: str) -> Builder:
    """The build function of `system`, as tap.config.REGISTRY names it (KeyError if unknown)."""
    module, function = config.REGISTRY[system].build.split(":")
    build: Builder = getattr(importlib.import_module(module), function)
    return build
