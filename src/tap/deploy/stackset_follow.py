"""Following StackSet operations: a line per instance whenever its status changes
(with the status reason the console hides), a final table, and the exit."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tap.deploy.commands import Console, Workspace
from tap.errors import DeployFailed

FINAL_OPERATION = ("SUCCEEDED", "FAILED", "STOPPED")


@dataclass
class InstanceRow:
    account: str
    region: str
    status: str
    reason: str = ""


class OperationFollower:
    """Polls one operation to its end, printing a row whenever an instance's status changes."""

    def __init__(self, cfn: Any, name: str, console: Console, workspace: Workspace):
        self.cfn, self.name, self.console, self.workspace = cfn, name, console, workspace
        self.rows: dict[tuple[str, str], InstanceRow] = {}

    def follow(self, operation_id: str, what: str) -> dict[str, Any]:
        self.console.say(f"\n{what}: operation {operation_id}")
        while True:
            operation = self.cfn.describe_stack_set_operation(
                StackSetName=self.name, OperationId=operation_id)["StackSetOperation"]
            self._show(self._results(operation_id))
            if operation["Status"] in FINAL_OPERATION:
                self._show(self._results(operation_id))
                return operation
            self.workspace.sleep(self.workspace.poll_seconds)

    def _results(self, operation_id: str) -> list[InstanceRow]:
        rows = []
        paginator = self.cfn.get_paginator("list_stack_set_operation_results")
        for page in paginator.paginate(StackSetName=self.name, OperationId=operation_id):
            rows += [InstanceRow(each["Account"], each["Region"], each["Status"], each.get("StatusReason", ""))
                     for each in page["Summaries"]]
        return rows

    def _show(self, rows: list[InstanceRow]) -> None:
        for row in rows:
            key = (row.account, row.region)
            if self.rows.get(key) != row:
                self.rows[key] = row
                reason = f"  {row.reason}" if row.reason else ""
                self.console.say(f"  {row.account}  {row.region:<14} {row.status}{reason}")

    @property
    def failed(self) -> list[InstanceRow]:
        return [row for row in self.rows.values() if row.status == "FAILED"]


def table(rows: Iterable[InstanceRow]) -> str:
    rows = sorted(rows, key=lambda row: (row.region, row.account))
    lines = [f"{'account':<12}  {'region':<14}  {'status':<10}  reason"]
    lines += [f"{row.account:<12}  {row.region:<14}  {row.status:<10}  {row.reason}".rstrip() for row in rows]
    return "\n".join(lines)


def run_operation(follower: OperationFollower, start: Any, what: str) -> dict[str, Any]:
    operation_id = start()["OperationId"]
    return follower.follow(operation_id, what)


def finish(console: Console, follower: OperationFollower, operations: list[dict[str, Any]]) -> int:
    if follower.rows:
        console.say("\n" + table(follower.rows.values()))
    failed = follower.failed
    stopped = [op for op in operations if op["Status"] != "SUCCEEDED"]
    if failed or stopped:
        reasons = "; ".join(f"{row.account} {row.region}: {row.reason or row.status}" for row in failed)
        status = ", ".join(f"{op['Action']} {op['Status']}" + (f" ({op['StatusReason']})" if op.get("StatusReason")
                                                                 else "") for op in stopped)
        raise DeployFailed(f"StackSet {follower.name}: {status or 'instances failed'}"
                           + (f"; failed instances: {reasons}" if reasons else ""))
    console.say(f"\nStackSet {follower.name}: every operation succeeded")
    return 0


