"""Follow a stack operation: print each new event, keep the resources in progress on screen."""

import time
from datetime import UTC, datetime

from rich.live import Live
from rich.text import Text

from flask_fargate.errors import Abort
from flask_fargate.ui import console, status_style

POLL_SECONDS = 5


def is_settled(status):
    """True once a stack operation has ended (REVIEW_IN_PROGRESS means no operation is running)."""
    return not status.endswith("_IN_PROGRESS") or status == "REVIEW_IN_PROGRESS"


def elapsed(since):
    seconds = int((datetime.now(UTC) - since).total_seconds())
    return f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class StackWatcher:
    """Polls one stack's events and status until its current operation ends.

    `on_poll(watcher)` is called after every poll; it may read `in_progress` (logical id to
    (type, time started), from the events so far).
    """

    def __init__(self, cloudformation, stack_id, on_poll=None):
        self.cloudformation = cloudformation
        self.stack_id = stack_id
        self.on_poll = on_poll
        self.seen = set()
        self.events = []
        self.in_progress = {}
        self.status = "?"
        self.started = datetime.now(UTC)
        newest = self._newest_first(limit=1)
        self.seen.update(event["EventId"] for event in newest)
        self._seed_in_progress()

    def _seed_in_progress(self):
        """Resources already in progress when watching starts (following an earlier run's work)."""
        described = self.cloudformation.describe_stack_resources(StackName=self.stack_id)
        for resource in described["StackResources"]:
            if resource["ResourceStatus"].endswith("_IN_PROGRESS"):
                self.in_progress[resource["LogicalResourceId"]] = (
                    resource["ResourceType"],
                    resource["Timestamp"],
                )

    def _newest_first(self, limit=None):
        """Events not seen yet, newest first (AWS's order): up to the first one already seen."""
        fresh = []
        pages = self.cloudformation.get_paginator("describe_stack_events").paginate(
            StackName=self.stack_id
        )
        for page in pages:
            for event in page["StackEvents"]:
                if event["EventId"] in self.seen or (limit and len(fresh) >= limit):
                    return fresh
                fresh.append(event)
        return fresh

    def poll(self):
        """Print the events since the last poll and return the stack's status."""
        for event in reversed(self._newest_first()):
            self.seen.add(event["EventId"])
            self.events.append(event)
            self._record(event)
            console.print(event_line(event))
        stack = self.cloudformation.describe_stacks(StackName=self.stack_id)["Stacks"][0]
        self.status = stack["StackStatus"]
        if self.on_poll:
            self.on_poll(self)
        return stack

    def _record(self, event):
        if event["ResourceType"] == "AWS::CloudFormation::Stack":
            return
        logical_id = event["LogicalResourceId"]
        if event["ResourceStatus"].endswith("_IN_PROGRESS"):
            self.in_progress[logical_id] = (event["ResourceType"], event["Timestamp"])
        else:
            self.in_progress.pop(logical_id, None)

    def __rich__(self):
        lines = Text(f"{self.status} · {elapsed(self.started)}", style="bold")
        for logical_id, (resource_type, since) in sorted(self.in_progress.items()):
            lines.append(f"\n  … {logical_id} ({resource_type}) {elapsed(since)}", style="yellow")
        return lines

    def wait(self, operation):
        """Poll until the stack settles and return it; Ctrl-C stops watching, not the operation."""
        try:
            with Live(self, console=console, transient=True, refresh_per_second=2):
                while True:
                    stack = self.poll()
                    if is_settled(stack["StackStatus"]):
                        return stack
                    time.sleep(POLL_SECONDS)
        except KeyboardInterrupt:
            raise Abort(
                f"Stopped watching. {operation} keeps running in AWS; `make status` "
                "(flask-fargate status) shows where it is, and `make deploy` carries on "
                "from there.",
                130,
            ) from None


def event_line(event):
    when = event["Timestamp"].astimezone().strftime("%H:%M:%S")
    status = event["ResourceStatus"]
    line = Text(f"{when}  ")
    line.append(f"{event['LogicalResourceId']:<28} ", style="bold")
    line.append(f"{status:<28}", style=status_style(status))
    if event.get("ResourceStatusReason"):
        line.append(f" {event['ResourceStatusReason']}", style="dim")
    return line


def all_events(cloudformation, stack_id):
    """The stack's events, newest first."""
    pages = cloudformation.get_paginator("describe_stack_events").paginate(StackName=stack_id)
    return [event for page in pages for event in page["StackEvents"]]


def last_operation(events):
    """The events (newest first) of the stack's latest operation: back to its user's request."""
    latest = []
    for event in events:
        latest.append(event)
        own = event["ResourceType"] == "AWS::CloudFormation::Stack"
        if own and event.get("ResourceStatusReason") == "User Initiated":
            break
    return latest


def first_failure(events):
    """The first resource that failed among `events`, as 'LogicalId (Type): reason', or None.

    CloudFormation cancels the siblings of a failed resource; those events say "cancelled" and
    are not the cause, so they come last in the choice. When no resource failed, the reason is
    on the stack's own event: an export still in use fails no resource, the stack goes straight
    to UPDATE_ROLLBACK_IN_PROGRESS with it (serverless/serverless#3935).
    """
    failed = [
        event
        for event in events
        if event["ResourceStatus"].endswith("_FAILED")
        and event["ResourceType"] != "AWS::CloudFormation::Stack"
    ]
    if not failed:
        return stack_failure(events)
    failed.sort(key=lambda e: ("cancelled" in e.get("ResourceStatusReason", ""), e["Timestamp"]))
    event = failed[0]
    reason = event.get("ResourceStatusReason", "no reason given")
    return f"{event['LogicalResourceId']} ({event['ResourceType']}): {reason}"


def stack_failure(events):
    """The earliest reason the stack's own events give for failing or rolling back, or None."""
    own = sorted(
        (
            event
            for event in events
            if event["ResourceType"] == "AWS::CloudFormation::Stack"
            and (
                event["ResourceStatus"].endswith("_FAILED")
                or event["ResourceStatus"].endswith("ROLLBACK_IN_PROGRESS")
            )
            and event.get("ResourceStatusReason", "User Initiated") != "User Initiated"
        ),
        key=lambda event: event["Timestamp"],
    )
    return f"{own[0]['LogicalResourceId']}: {own[0]['ResourceStatusReason']}" if own else None
