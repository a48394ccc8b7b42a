"""Plan rendering: Terraform-like text (jinja2) and JSON.

The symbol of each action comes from ``Action`` itself, so model and output cannot
disagree. Sensitive values never reach the template: :func:`shown` replaces them with
``(sensitive)`` before formatting, which keeps plans safe to paste into tickets and CI logs.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from collections.abc import Mapping
from typing import Any

import click
from jinja2 import Environment, PackageLoader, StrictUndefined

from .model import Action, Change, FieldDelta
from .plan import Plan

SENSITIVE = "(sensitive)"
_COLOURS = {Action.CREATE: "green", Action.UPDATE: "yellow", Action.DELETE: "red", Action.BLOCKED: "magenta"}
_HEADLINES = {
    Action.CREATE: "will be created",
    Action.UPDATE: "will be updated in-place",
    Action.DELETE: "will be deleted",
    Action.BLOCKED: "is blocked",
}


def shown(value: Any, sensitive: bool, field_type: str = "string") -> str:
    """One value as the plan shows it: masked, quoted, or ``null``; datetimes in ISO UTC."""
    if sensitive and value is not None:
        return SENSITIVE
    if value is None:
        return "null"
    if field_type == "datetime" and isinstance(value, int):
        return str(_iso(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _delta(change: Change, delta: FieldDelta) -> str:
    new = shown(delta.new, delta.sensitive, delta.type)
    if change.action is Action.CREATE:
        return new
    return f"{shown(delta.old, delta.sensitive, delta.type)} -> {new}"


def _headline(change: Change) -> str:
    text = _HEADLINES[change.action]
    if change.reason and change.action is not Action.CREATE:
        text += f": {change.reason}"
    return text


def _drift_counts(plan: Plan) -> str:
    counts: dict[str, int] = {}
    for change in plan.drifted:
        counts[change.address.kind] = counts.get(change.address.kind, 0) + 1
    return ", ".join(f"{kind} {n}" for kind, n in counts.items())


def endpoint_line(plan: Plan) -> str:
    """``Zoho: … → Moodle: …``: which systems a plan reads and writes, first thing shown."""
    zoho, moodle = plan.endpoints.get("zoho"), plan.endpoints.get("moodle")
    if not zoho or not moodle:
        return ""

    def one(end: dict[str, str], where: str) -> str:
        if end.get("backend") == "sandbox":
            return f"embedded sandbox ({end.get(where, '')})"
        return end.get(where, "?")

    return f"Zoho: {one(zoho, 'api')} → Moodle: {one(moodle, 'url')}"


def _environment(colour: bool) -> Environment:
    env = Environment(loader=PackageLoader("reconciler", "templates"), undefined=StrictUndefined,
                      keep_trailing_newline=True, autoescape=False)
    env.filters["paint"] = (lambda text, c: click.style(str(text), fg=None if c == "bold" else c, bold=c == "bold")) \
        if colour else (lambda text, c: str(text))
    env.globals.update(
        headline=_headline,
        delta=_delta,
        colour=lambda c: _COLOURS[c.action],
        width=lambda c: max((len(d.name) for d in c.deltas), default=0),
        drift_counts=_drift_counts,
        endpoint_line=endpoint_line,
    )
    return env


def render_text(plan: Plan, *, colour: bool = False) -> str:
    return _environment(colour).get_template("plan.txt.j2").render(plan=plan)


def render_json(plan: Plan, field_types: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """Machine-readable plan; sensitive values are masked here too, datetimes in ISO UTC.

    Works on a deep copy: the plan itself (and a saved plan file) keeps the real values it
    must write. ``field_types`` (kind → field → spec type) names the datetime fields of
    ``after`` that no delta describes, such as the ``compare = false`` riders of an update.
    """
    data = copy.deepcopy(plan.to_dict())
    for change in data["changes"]:
        types = _types_of(change, field_types)
        for delta in change["deltas"]:
            if delta["sensitive"]:
                delta["old"] = SENSITIVE if delta["old"] is not None else None
                delta["new"] = SENSITIVE if delta["new"] is not None else None
            elif delta["type"] == "datetime":
                delta["old"], delta["new"] = _iso(delta["old"]), _iso(delta["new"])
        if change["after"]:
            sensitive = {d["name"] for d in change["deltas"] if d["sensitive"]}
            for name, value in change["after"].items():
                if name in sensitive:
                    change["after"][name] = SENSITIVE
                elif types.get(name) == "datetime":
                    change["after"][name] = _iso(value)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _types_of(change: dict[str, Any], field_types: Mapping[str, Mapping[str, str]] | None) -> dict[str, str]:
    kind = change["address"].partition(".")[0]
    types = dict((field_types or {}).get(kind, {}))
    types.update({d["name"]: d["type"] for d in change["deltas"]})
    return types


def _iso(value: Any) -> Any:
    """Unix seconds → ``2026-07-08T03:16:14Z``; anything else (null, already text) as it is."""
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value
