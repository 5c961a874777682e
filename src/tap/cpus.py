"""How many processes the build may run at once: the CPUs this process may use."""

from __future__ import annotations

import os


def available() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
