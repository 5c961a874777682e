"""Following a stack operation: events of the root and every nested stack as they
happen, and, when it fails, the first event that is a cause rather than a consequence.

Nested stacks are found as they appear: an event in a stack about a resource of type
`AWS::CloudFormation::Stack` names the nested stack's id once CloudFormation has
created it. A stack is polled while its own status (as its parent reports it) is in
progress, and once more after, so no event is missed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO

from tap.deploy.stacks import (
    NESTED_STACK_TYPE,
    SUCCEEDED,
    Path,
    address,
    describe_existing,
)

# Reasons CloudFormation gives to resources that failed because something else did.
CONSEQUENCES = (
    "Resource creation cancelled", "Resource update cancelled", "Resource deletion cancelled",
    "Embedded stack", "The following resource(s) failed", "Stack creation was cancelled",
    "Update was cancelled",
)


# How many times a final status without any event of the root is looked at again before
# it is believed (the operation ended before `start` took its snapshot).
STALE_LOOKS = 10


def is_final(status: str) -> bool:
    return not status.endswith("_IN_PROGRESS")


@dataclass
class Event:
    path: Path
    logical_id: str
    resource_type: str
    status: str
    reason: str
    timestamp: datetime
    physical_id: str

    @property
    def address(self) -> str:
        return address(self.path, self.logical_id)

    @property
    def is_cause(self) -> bool:
        return (self.status.endswith("_FAILED") and self.resource_type != NESTED_STACK_TYPE
                and not any(self.reason.startswith(text) for text in CONSEQUENCES))


@dataclass
class Follower:
    """Polls the events of a stack tree; `start` before executing, `follow` after."""

    cfn: Any
    root_id: str
    out: TextIO
    poll_seconds: float = 2.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    expected: int = 0  # resources the operation touches, for the progress count
    events: list[Event] = field(default_factory=list)
    _paths: dict[str, Path] = field(default_factory=dict)
    _seen: set[str] = field(default_factory=set)
    _active: set[str] = field(default_factory=set)
    _closing: set[str] = field(default_factory=set)
    _completed: set[str] = field(default_factory=set)
    _shown: dict[str, str] = field(default_factory=dict)  # last status shown per address
    _started: float = 0.0
    _final_looks: int = 0

    def start(self, known_stacks: dict[Path, str] | None = None) -> None:
        """Remember what already happened, so only this operation's events are shown."""
        for path, stack_id in (known_stacks or {}).items():
            self._paths[stack_id] = path
        self._paths[self.root_id] = ()
        for stack_id in self._paths:
            page = self.cfn.describe_stack_events(StackName=stack_id)["StackEvents"]
            self._seen.update(raw["EventId"] for raw in page)
        self._active = {self.root_id}
        self._started = self.clock()

    def follow(self) -> str:
        """Print events until the root stack's operation ends; returns its final status.

        Right after an operation is started, DescribeStacks may still answer with the
        status before it (it is eventually consistent): a final status counts only once
        the root has reported an event of this operation."""
        while True:
            status = describe_existing(self.cfn, self.root_id)["StackStatus"]
            self._poll()
            if is_final(status) and self._root_moved():
                for _ in range(3):  # late events of stacks that finished with the root
                    if not (self._active or self._closing):
                        break
                    self._active.discard(self.root_id)
                    self._poll()
                return status
            self.sleep(self.poll_seconds)

    def _root_moved(self) -> bool:
        """The root stack has an event since `start`, or has been quiet too long to wait on."""
        self._final_looks += 1
        return any(event.path == () for event in self.events) or self._final_looks > STALE_LOOKS

    def root_cause(self) -> Event | None:
        causes = sorted((event for event in self.events if event.is_cause), key=lambda e: e.timestamp)
        return causes[0] if causes else None

    def _poll(self) -> None:
        """One look at every stack in progress, nested stacks found on the way included;
        the events are shown in the order they happened."""
        queue = sorted(self._active | self._closing)
        polled: set[str] = set()
        fresh: list[Event] = []
        while queue:
            stack_id = queue.pop(0)
            polled.add(stack_id)
            self._closing.discard(stack_id)
            fresh.extend(self._new_events(stack_id))
            queue += sorted((self._active | self._closing) - polled - set(queue))
        for event in sorted(fresh, key=lambda e: e.timestamp):
            self._show(event)

    def _new_events(self, stack_id: str) -> list[Event]:
        fresh = []
        for page in self.cfn.get_paginator("describe_stack_events").paginate(StackName=stack_id):
            unseen = [raw for raw in page["StackEvents"] if raw["EventId"] not in self._seen]
            fresh.extend(unseen)
            if len(unseen) < len(page["StackEvents"]):
                break  # newest first: the rest was seen before
        self._seen.update(raw["EventId"] for raw in fresh)
        events = []
        for raw in reversed(fresh):  # oldest first
            event = Event(
                path=self._paths[stack_id], logical_id=raw["LogicalResourceId"],
                resource_type=raw.get("ResourceType", ""), status=raw.get("ResourceStatus", ""),
                reason=raw.get("ResourceStatusReason", "") or "", timestamp=raw["Timestamp"],
                physical_id=raw.get("PhysicalResourceId", "") or "",
            )
            if event.physical_id == stack_id and stack_id != self.root_id:
                continue  # a nested stack's own status: its parent reports it as a resource
            self._track_nested(event)
            events.append(event)
        self.events.extend(events)
        return events

    def _track_nested(self, event: Event) -> None:
        if event.resource_type != NESTED_STACK_TYPE or not event.physical_id.startswith("arn:"):
            return
        if event.physical_id == self.root_id:
            return
        self._paths.setdefault(event.physical_id, (*event.path, event.logical_id))
        if is_final(event.status):
            self._active.discard(event.physical_id)
            self._closing.add(event.physical_id)
        else:
            self._active.add(event.physical_id)

    def _show(self, event: Event) -> None:
        if event.resource_type != NESTED_STACK_TYPE and event.status.endswith("_COMPLETE"):
            self._completed.add(event.address)
        if self._shown.get(event.address) == event.status:
            return  # CloudFormation repeats IN_PROGRESS ("Resource creation Initiated")
        self._shown[event.address] = event.status
        elapsed = int(self.clock() - self._started)
        done = f"{len(self._completed):>4}/{self.expected}" if self.expected else f"{len(self._completed):>4}"
        failed = event.status.endswith("_FAILED") and event.reason
        self.out.write(
            f"  {elapsed // 60:02d}:{elapsed % 60:02d} {done}  {event.status:<35} {event.address}  "
            f"{event.resource_type}{f'  {event.reason}' if failed else ''}\n"
        )
        self.out.flush()


def succeeded(status: str) -> bool:
    return status in SUCCEEDED


def explain_failure(status: str, cause: Event | None, target: str) -> str:
    """One line a person can act on; `target` names the stack as ./deploy.sh does."""
    if cause is None:
        return (f"the stack ended {status}; no resource reported a cause "
                f"(see `./deploy.sh events {target}`)")
    verb = cause.status.split("_")[0].lower()
    return (f"the stack ended {status}: {cause.address} ({cause.resource_type}) failed to {verb}: "
            f"{cause.reason}")
