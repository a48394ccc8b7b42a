"""What mzi says on stderr: human lines, or one JSON object per line (``--log-format json``).

stdout carries the plan; everything else — which configuration is in use, warnings, API
cost, progress events, errors — goes through :class:`Notices`, so a log shipper gets
every line as JSON with a level and an event name, and ``--log-level`` filters both
formats alike.

Logs never carry secrets or personal values: callers pass counts, kinds, addresses (Zoho
ids) and mzi's own messages; labels and field values stay in the plan, which masks the
sensitive ones, and in the run log.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from typing import Any, TextIO

import click

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}
FORMATS = ("text", "json")
_TEXT_COLOURS = {"warning": "yellow", "error": "red"}


class Notices:
    """The stderr channel of one command."""

    def __init__(self, fmt: str = "text", level: str = "info", stream: TextIO | None = None) -> None:
        self.format = fmt
        self.threshold = LEVELS[level]
        self._stream = stream

    @property
    def json(self) -> bool:
        return self.format == "json"

    def __call__(self, level: str, event: str, message: str, **fields: Any) -> None:
        """Say ``message`` at ``level``; in JSON, as ``event`` with ``fields`` beside it."""
        if LEVELS[level] < self.threshold:
            return
        stream = self._stream or sys.stderr
        if self.json:
            line = {"ts": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), "level": level,
                    "event": event, "message": message} | fields
            click.echo(json.dumps(line, ensure_ascii=False, default=str), file=stream)
            return
        colour = _TEXT_COLOURS.get(level)
        click.secho(message, fg=colour, file=stream) if colour else click.echo(message, file=stream)
