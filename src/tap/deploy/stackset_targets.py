"""What `./deploy.sh stackset` is asked to do: targets, operation preferences and
per-account overrides, each checked and refused with what is allowed."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tap.errors import UserError

SELF_MANAGED, SERVICE_MANAGED = "SELF_MANAGED", "SERVICE_MANAGED"
ACCOUNT = re.compile(r"^\d{12}$")
ORG_UNIT = re.compile(r"^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$")
REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
AMOUNT = re.compile(r"^(\d+)(%?)$")


@dataclass(frozen=True)
class Targets:
    """Where instances go: accounts (self-managed) or OUs (service-managed), and regions."""

    accounts: tuple[str, ...] = ()
    org_units: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()

    @property
    def permission_model(self) -> str:
        return SERVICE_MANAGED if self.org_units else SELF_MANAGED

    def deployment(self, accounts: Iterable[str] = ()) -> dict[str, Any]:
        """The targets as the API takes them; `accounts` narrows OUs to those accounts."""
        chosen = list(accounts)
        if not self.org_units:
            return {"Accounts": chosen or list(self.accounts)}
        targets: dict[str, Any] = {"OrganizationalUnitIds": list(self.org_units)}
        if chosen:
            targets.update(Accounts=chosen, AccountFilterType="INTERSECTION")
        return {"DeploymentTargets": targets}


@dataclass(frozen=True)
class StackSetOptions:
    targets: Targets
    name: str | None = None
    max_concurrent: str | None = None
    failure_tolerance: str | None = None
    region_order: tuple[str, ...] = ()
    overrides_file: Path | None = None
    parameters: tuple[str, ...] = ()
    retain_stacks: bool = False
    yes: bool = False


def parse_list(text: str | None, pattern: re.Pattern[str], option: str, shape: str) -> tuple[str, ...]:
    items = tuple(item.strip() for item in (text or "").split(",") if item.strip())
    for item in items:
        if not pattern.match(item):
            raise UserError(f"{option}: {item!r} is not {shape}")
    if len(set(items)) != len(items):
        raise UserError(f"{option}: a value is given twice; allowed: each once")
    return items


def targets_of(accounts: str | None, org_units: str | None, regions: str | None) -> Targets:
    targets = Targets(
        accounts=parse_list(accounts, ACCOUNT, "--accounts", "a 12-digit account id"),
        org_units=parse_list(org_units, ORG_UNIT, "--org-units", "an OU id (ou-xxxx-yyyyyyyy) or root id (r-xxxx)"),
        regions=parse_list(regions, REGION, "--regions", "a region name such as eu-west-1"),
    )
    if bool(targets.accounts) == bool(targets.org_units):
        raise UserError("give the targets as --accounts A,B (self-managed: the bootstrap's StackSet roles) "
                        "or --org-units ou-... (service-managed: AWS Organizations), one of the two")
    if not targets.regions:
        raise UserError("--regions is required: the regions to deploy to, such as --regions eu-west-1,us-east-1")
    return targets


def operation_preferences(options: StackSetOptions) -> dict[str, Any]:
    """--max-concurrent, --failure-tolerance (a count or a percentage) and --region-order."""
    preferences: dict[str, Any] = {"RegionConcurrencyType": "SEQUENTIAL"}
    for option, value, count_key, percent_key in (
        ("--max-concurrent", options.max_concurrent, "MaxConcurrentCount", "MaxConcurrentPercentage"),
        ("--failure-tolerance", options.failure_tolerance, "FailureToleranceCount",
         "FailureTolerancePercentage"),
    ):
        if value is None:
            continue
        match = AMOUNT.match(value)
        if match is None or (match.group(2) and not 0 <= int(match.group(1)) <= 100):
            raise UserError(f"{option} {value!r}: allowed: a count such as 2, or a percentage such as 25%")
        number = int(match.group(1))
        if option == "--max-concurrent" and number == 0:
            raise UserError(f"{option} {value!r}: allowed: at least 1 (or 1%)")
        preferences[percent_key if match.group(2) else count_key] = number
    count = preferences.get("FailureToleranceCount")
    if count is not None and preferences.get("MaxConcurrentCount", 1) > count + 1:
        raise UserError(f"--max-concurrent {options.max_concurrent} is more than --failure-tolerance "
                        f"{options.failure_tolerance} + 1, which StackSets refuses; allowed: at most "
                        f"{count + 1}")
    if options.region_order:
        unknown = set(options.region_order) - set(options.targets.regions)
        if unknown or len(options.region_order) != len(options.targets.regions):
            raise UserError(f"--region-order {','.join(options.region_order)} must name each region of "
                            f"--regions once; allowed: an order of {','.join(options.targets.regions)}")
    preferences["RegionOrder"] = list(options.region_order or options.targets.regions)
    return preferences


def read_overrides(path: Path | None, declared: Mapping[str, Any], accounts: Iterable[str]) -> dict[str, dict[str, str]]:
    """Per-account parameter overrides: {"<account>": [{"ParameterKey": ..., "ParameterValue": ...}]}."""
    if path is None:
        return {}
    shape = '{"<account id>": [{"ParameterKey": "...", "ParameterValue": "..."}]}'
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UserError(f"--overrides: cannot read {path}: {error.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UserError(f"--overrides {path}: not valid JSON ({error}); allowed: {shape}") from None
    if not isinstance(data, dict):
        raise UserError(f"--overrides {path}: the top level is not an object; allowed: {shape}")
    known = set(accounts)
    found = {}
    for account, entries in data.items():
        if not ACCOUNT.match(account):
            raise UserError(f"--overrides {path}: {account!r} is not a 12-digit account id; allowed: {shape}")
        if known and account not in known:
            raise UserError(f"--overrides {path}: account {account} is not a target; allowed: "
                            f"{', '.join(sorted(known))}")
        values = _entries(entries, f"--overrides {path} [{account}]", shape)
        for name in values:
            if name not in declared:
                raise UserError(f"--overrides {path} [{account}]: the root stack has no parameter {name!r}; "
                                f"allowed: {', '.join(sorted(declared))}")
        found[account] = values
    return found


def _entries(entries: Any, label: str, shape: str) -> dict[str, str]:
    if not isinstance(entries, list) or not all(
            isinstance(entry, dict) and set(entry) == {"ParameterKey", "ParameterValue"}
            and all(isinstance(v, str) for v in entry.values()) for entry in entries):
        raise UserError(f"{label}: {json.dumps(entries)[:80]} is not a list of parameters; allowed: {shape}")
    return {entry["ParameterKey"]: entry["ParameterValue"] for entry in entries}


