"""Terminal output: one rich console, colours by stack/resource status, small tables."""

import os

from rich.console import Console
from rich.table import Table

# soft_wrap: a long line stays one line (in CI logs and for grep), the terminal wraps it.
# What the tool prints is mostly AWS's and the user's data, printed as it is: no emoji codes (a
# Secrets Manager ARN holds ":secret:", which rich would turn into an emoji) and no markup (a
# value holding "[...]" would lose it); a style goes in style=, or in a Text.
PLAIN = {"highlight": False, "soft_wrap": True, "emoji": False, "markup": False}
console = Console(**PLAIN)
errors = Console(**PLAIN, stderr=True)
if not console.is_terminal and "COLUMNS" not in os.environ:
    console.width = 160  # tables in CI logs and pipes: room for the long resource types


def status_style(status):
    if "FAILED" in status or "ROLLBACK" in status:
        return "red"
    if status.endswith("_IN_PROGRESS"):
        return "yellow"
    if status.endswith("_COMPLETE"):
        return "green"
    return ""


def table(*columns, title=None):
    grid = Table(*columns, title=title, title_justify="left", box=None, pad_edge=False)
    return grid


def fail(message):
    errors.print(f"error: {message}", style="red")
