"""The systems tap builds. Each turns settings into a stack tree: pure, no file or AWS I/O.

A system receives `Tools` that do its I/O on its behalf: a `FunctionPackager`
(it asks for a function by name and gets bytes with a hashed key) and a
`StackCache` (it asks for a stack by what makes it, and gets the one a build
made before from the same settings, or a new one).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tap import config
from tap.package import FunctionPackager
from tap.stackcache import StackCache
from tap.stacktree import Stack


@dataclass(frozen=True)
class SystemBuild:
    """A system's stack tree plus text artefacts emitted beside its templates."""

    root: Stack
    files: Mapping[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class Tools:
    """What a system uses besides its settings."""

    package: FunctionPackager = field(default_factory=FunctionPackager)
    stacks: StackCache = field(default_factory=StackCache)


Builder = Callable[[Any, Tools], SystemBuild]


def builder(system: str) -> Builder:
    """The build function of `system`, as tap.config.REGISTRY names it (KeyError if unknown)."""
    module, function = config.REGISTRY[system].build.split(":")
    build: Builder = getattr(importlib.import_module(module), function)
    return build
