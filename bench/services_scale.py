#!/usr/bin/env python3
"""How the microservices platform scales with the number of services.

For each N it writes a generated config/microservices/<env>.toml with N
services into a scratch folder, then builds it the way `python build.py`
does: load and validate, build the stack tree, emit (quotas are checked on
every template), then lint every template with a cold cache. Prints, per N:
seconds to emit, seconds to lint, templates, total resources, and the
largest template's resources and bytes (plus the most parameters and
outputs any template has). Asserts nothing; a quota crossed fails the run.

    python bench/services_scale.py                 # N = 1, 10, 100, 1000
    python bench/services_scale.py --counts 1 10   # some of them
    python bench/services_scale.py --no-lint       # emit only
    python bench/services_scale.py --lint-workers 1   # lint in this process only
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from tap import cpus, lint  # noqa: E402
from tap.build import Target, build_target, lint_targets  # noqa: E402
from tap.config.microservices import (  # noqa: E402
    DERIVED_PRIORITY_FIRST,
    TARGET_GROUPS_PER_LOAD_BALANCER,
    VPC_ORIGINS_QUOTA,
    ServiceSettings,
)
from tap.config.schema import parse  # noqa: E402
from tap.package import FunctionPackager  # noqa: E402
from tap.stackmaker import StackMaker  # noqa: E402
from tap.systems import Tools  # noqa: E402
from tap.systems.microservices.placement import balancer_of, derived_priority  # noqa: E402

COUNTS = (1, 10, 100, 1000)


def generated_service(number: int) -> dict[str, Any]:
    """A realistic service: its own path, repository, one platform secret and one of its own."""
    name = f"svc-{number:04d}"
    return {
        "name": name,
        "repository": f"example-org/{name}",
        "path_pattern": f"/{name}/*",
        "port": 8080,
        "cpu": 256,
        "memory": 512,
        "desired_count": 2,
        "min_capacity": 1,
        "max_capacity": 4,
        "health_check_path": "/health",
        "image_tag": f"{number:040x}",
        "environment": {"LOG_LEVEL": "info"},
        "secrets": {"DATABASE_CREDENTIALS": "database", "API_KEY": "api-key"},
    }


def balancers_needed(services: list[ServiceSettings]) -> int:
    """The fewest load balancers that keep each within AWS's default quotas (100 target
    groups, a hard quota, and 100 rules): what the build's error asks a user to set."""
    for count in range(1, VPC_ORIGINS_QUOTA + 1):
        held = Counter(balancer_of(service, count) for service in services)
        if max(held.values(), default=0) <= TARGET_GROUPS_PER_LOAD_BALANCER:
            return count
    raise ValueError(f"{len(services)} services need more than {VPC_ORIGINS_QUOTA} load balancers")


def generated_config(count: int) -> dict[str, Any]:
    """A config table with `count` services. Services whose name-derived listener priority
    collides with an earlier one get an explicit priority, as the build error asks a user to."""
    services = [generated_service(number) for number in range(1, count + 1)]
    taken: set[int] = set()
    explicit = iter(range(1, DERIVED_PRIORITY_FIRST))
    for table in services:
        priority = derived_priority(parse(ServiceSettings, table))
        if priority in taken:
            table["priority"] = next(explicit)
        taken.add(table.get("priority", priority))
    return {
        "region": "us-east-1",
        "tags": {"project": "tap", "system": "microservices", "environment": f"n{count}"},
        "network": {"cidr": "10.40.0.0/16", "az_count": 3, "nat": "per-az"},
        "load_balancer": {"count": balancers_needed([parse(ServiceSettings, table) for table in services])},
        "monitoring": {"alarm_email": "platform@example.com"},
        "services": services,
    }


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{key} = {_toml_value(item)}" for key, item in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(type(value))


def to_toml(table: dict[str, Any]) -> str:
    """Just enough TOML for generated_config: keys, tables, and arrays of tables."""
    lines = [f"{key} = {_toml_value(value)}" for key, value in table.items()
             if not isinstance(value, (dict, list)) or key == "tags"]
    for key, value in table.items():
        if isinstance(value, dict) and key != "tags":
            lines += ["", f"[{key}]"] + [f"{k} = {_toml_value(v)}" for k, v in value.items()]
    for item in table.get("services", []):
        lines += ["", "[[services]]"] + [f"{k} = {_toml_value(v)}" for k, v in item.items()]
    return "\n".join(lines) + "\n"


def measure(count: int, scratch: Path, with_lint: bool, workers: int | None) -> dict[str, Any]:
    config_dir = scratch / f"n{count}" / "config"
    (config_dir / "microservices").mkdir(parents=True)
    env = f"n{count}"
    (config_dir / "microservices" / f"{env}.toml").write_text(to_toml(generated_config(count)))
    target = Target("microservices", env)

    started = time.perf_counter()
    # Load, build (shards in a worker per CPU, as build.py makes them; no stack cache), emit, quotas.
    build_target(target, Tools(FunctionPackager(), StackMaker(workers=cpus.available())), config_dir)
    emit_seconds = time.perf_counter() - started

    lint_seconds = None
    if with_lint:
        lint.paths.CACHE_DIR = scratch / f"n{count}" / "cache"  # a cold cache
        started = time.perf_counter()
        linter = lint.Linter(target.region, workers=workers)
        lint_targets([target], scratch / "templates", linters={target.region: linter})
        lint_seconds = time.perf_counter() - started
        if target.findings:
            raise SystemExit(f"N={count}: cfn-lint found {len(target.findings)} problems, "
                             f"first: {target.findings[0]}")

    usages = [info.usage for info in target.emission.templates]
    largest = max(usages, key=lambda usage: (usage.resources, usage.bytes))
    return {
        "services": count,
        "emit s": f"{emit_seconds:.2f}",
        "lint s": "-" if lint_seconds is None else f"{lint_seconds:.1f}",
        "total s": f"{emit_seconds + (lint_seconds or 0):.1f}",
        "templates": str(len(usages)),
        "resources": f"{sum(usage.resources for usage in usages):,}",
        "largest: resources": str(largest.resources),
        "largest: bytes": f"{largest.bytes:,}",
        "max bytes": f"{max(usage.bytes for usage in usages):,}",
        "max params": str(max(usage.parameters for usage in usages)),
        "max outputs": str(max(usage.outputs for usage in usages)),
    }


def table(rows: list[dict[str, str]]) -> str:
    header = list(rows[0])
    widths = [max(len(column), *(len(str(row[column])) for row in rows)) for column in header]
    lines = ["  ".join(column.rjust(width) for column, width in zip(header, widths))]
    lines += ["  ".join(str(row[column]).rjust(width) for column, width in zip(header, widths))
              for row in rows]
    return "\n".join(lines)


def main() -> None:
    gc.disable()  # as build.py does
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", type=int, nargs="+", default=list(COUNTS))
    parser.add_argument("--no-lint", action="store_true", help="emit only")
    parser.add_argument("--lint-workers", type=int, default=None,
                        help="processes that lint (default: the CPUs available)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for count in args.counts:
            rows.append(measure(count, Path(scratch), with_lint=not args.no_lint,
                                workers=args.lint_workers))
            print(f"N={count} done", file=sys.stderr, flush=True)
    print(table(rows))


if __name__ == "__main__":
    main()
