"""The systems tap builds. Each turns settings into a stack tree: pure, no file or AWS I/O.

A system receives `Tools` that do its I/O on its behalf: a `FunctionPackager`
(it asks for a function by name and gets bytes with a hashed key) and a
`StackMaker` (it hands over the stacks it makes many of, each with what it
is made from, and gets the ones a build made before from the same settings,
or ones made now, in parallel when there are many).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tap import config
from tap.package import FunctionPackager
from tap.stackmaker import StackMaker
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
    stacks: StackMaker = field(default_factory=StackMaker)


Builder = Callable[[Any, Tools], SystemBuild]


def builder(system: str) -> Builder:
    """The build function of `system`, as tap.config.REGISTRY names it (KeyError if unknown)."""
    build: Builder = config.named(config.REGISTRY[system].build)
    return build
