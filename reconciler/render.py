"""Plan rendering: Terraform-like text, JSON, and markdown for review comments (jinja2).

The symbol of each action comes from ``Action`` itself, so model and output cannot
disagree. Sensitive values never reach the template: :func:`shown` replaces them with
``(sensitive)`` before formatting, which keeps plans safe to paste into tickets and CI logs.

Right-to-left text (Arabic names) sits inside Latin lines: without help, a terminal or a
browser that applies the Unicode bidi algorithm reorders the parentheses and ids next to
it. :func:`isolate_rtl` wraps each right-to-left run in FSI … PDI (Unicode's isolates), so
the run reads right to left as a unit and the line around it keeps its order; terminals
without bidi support draw the marks as nothing.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import click
import orjson
from jinja2 import Environment, PackageLoader, StrictUndefined

from .model import Action, Change, FieldDelta
from .plan import Plan

SENSITIVE = "(sensitive)"
#: the version of the JSON view's shape (``docs/plan-schema.json``): bumped on any change
#: a consumer would notice — a key removed, renamed or retyped; new keys do not bump it
JSON_SCHEMA_VERSION = 1
#: plans with more changes than this open with a table of counts per kind
TABLE_ABOVE = 20
#: changes per kind shown in the markdown view; the rest are counted
MARKDOWN_PER_KIND = 25
#: GitHub refuses a comment over 65,536 characters: the markdown view shows fewer changes per kind to stay under
MARKDOWN_MAX_CHARS = 60_000
FSI, PDI = "\u2068", "\u2069"
_RTL_CLASSES = frozenset({"R", "AL"})
#: the first right-to-left character (U+05BE, Hebrew maqaf): text with nothing from here on —
#: nearly every line of a plan — has no right-to-left run, found without a look-up per character
RTL_FIRST = "\u05be"
_MAYBE_RTL = re.compile(f"[{RTL_FIRST}-\U0010ffff]")
_BACKTICKS = re.compile("`+")
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
        return _SORTED.encode(value)
    if isinstance(value, str):
        return _TEXT.encode(value)
    return str(value)


#: ``json.dumps(…, ensure_ascii=False[, sort_keys=True])``, each encoder built once, not per value shown
_TEXT = json.JSONEncoder(ensure_ascii=False)
_SORTED = json.JSONEncoder(ensure_ascii=False, sort_keys=True)


def isolate_rtl(text: str) -> str:
    """Each right-to-left run of ``text`` wrapped in FSI … PDI.

    A run spans from a right-to-left letter to the last one before a left-to-right letter
    (or the end of the line), so spaces and digits between Arabic words stay inside it and
    the Latin text around it keeps its place.
    """
    if _MAYBE_RTL.search(text) is None or not any(unicodedata.bidirectional(ch) in _RTL_CLASSES for ch in text):
        return text
    out: list[str] = []
    start: int | None = None  # where the open run began
    last = -1  # the last right-to-left character of the open run
    for index, ch in enumerate(text):
        kind = unicodedata.bidirectional(ch)
        if kind in _RTL_CLASSES:
            if start is None:
                start = index
            last = index
        elif start is not None and (kind in ("L", "B") or ch in (FSI, PDI)):
            out.append(FSI + text[start:last + 1] + PDI + text[last + 1:index])
            start = None
        if start is None and (kind not in _RTL_CLASSES):
            out.append(ch)
    if start is not None:
        out.append(FSI + text[start:last + 1] + PDI + text[last + 1:])
    return "".join(out)


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


@dataclass(frozen=True)
class KindCounts:
    """One row of the per-kind table: what a plan does to one kind."""

    kind: str
    create: int = 0
    update: int = 0
    delete: int = 0
    blocked: int = 0
    drift: int = 0

    @property
    def total(self) -> int:
        return self.create + self.update + self.delete + self.blocked

    def to_dict(self) -> dict[str, int]:
        return {"create": self.create, "update": self.update, "delete": self.delete, "blocked": self.blocked,
                "drift": self.drift}


def counts_by_kind(plan: Plan) -> list[KindCounts]:
    """Per kind, in plan order (parents first): the counts the summary table and JSON show."""
    rows: dict[str, dict[str, int]] = {}
    for change in plan.changes:
        row = rows.setdefault(change.address.kind, {})
        row[change.action.verb] = row.get(change.action.verb, 0) + 1
        if change.drift:
            row["drift"] = row.get("drift", 0) + 1
    return [KindCounts(kind, **counts) for kind, counts in rows.items()]


def summary_table(plan: Plan) -> str:
    """A fixed-width table of counts per kind, with a total row."""
    rows = counts_by_kind(plan)
    if not rows:
        return ""
    columns = ("create", "update", "delete", "blocked", "drift")
    width = max(len("total"), *(len(r.kind) for r in rows))
    lines = ["  " + "kind".ljust(width) + "".join(f"{c:>9}" for c in columns)]
    for row in rows:
        lines.append("  " + row.kind.ljust(width) + "".join(f"{getattr(row, c):>9,}" for c in columns))
    totals = [sum(getattr(r, c) for r in rows) for c in columns]
    lines.append("  " + "total".ljust(width) + "".join(f"{n:>9,}" for n in totals))
    return "\n".join(lines) + "\n"


def _words(text: str) -> set[str]:
    return {w for w in "".join(ch.lower() if ch.isalnum() else " " for ch in text).split() if w}


def helpful_labels(field_labels: Mapping[str, Mapping[str, str]] | None) -> dict[str, dict[str, str]]:
    """The Zoho display labels worth showing beside a column: those whose words are not
    already in the column's name (``Student Moodle ID`` beside ``moodle_user_id``; not
    ``City`` beside ``city``, ``Birth Date`` beside ``date_of_birth``, ``Last Name`` beside
    ``lastname``)."""
    helpful: dict[str, dict[str, str]] = {}
    for kind, labels in (field_labels or {}).items():
        for column, label in labels.items():
            said = _words(label) <= _words(column) or "".join(ch.lower() for ch in label if ch.isalnum()) in column.replace("_", "")
            if label and not said:
                helpful.setdefault(kind, {})[column] = label
    return helpful


@functools.lru_cache(maxsize=2)
def _environment(colour: bool) -> Environment:
    """The jinja environment of the plan views, with their templates compiled once per
    process (per ``colour``): building it per render cost more than a small plan's lines."""
    env = Environment(loader=PackageLoader("reconciler", "templates"), undefined=StrictUndefined,
                      keep_trailing_newline=True, autoescape=False)
    env.filters["paint"] = (lambda text, c: click.style(str(text), fg=None if c == "bold" else c, bold=c == "bold")) \
        if colour else (lambda text, c: str(text))
    env.filters["bidi"] = isolate_rtl
    env.globals.update(
        headline=_headline,
        delta=_delta,
        colour=lambda c: _COLOURS[c.action],
        width=lambda c: max((len(d.name) for d in c.deltas), default=0),
        drift_counts=_drift_counts,
        endpoint_line=endpoint_line,
        summary_table=summary_table,
        table_above=TABLE_ABOVE,
    )
    return env


def _zoho_label(field_labels: Mapping[str, Mapping[str, str]] | None) -> Callable[[Change, FieldDelta], str]:
    """The template's ``zoho_label(c, d)`` for one render: beside the fields of updates and
    deletes, where one field is looked into; a create lists them all."""
    labels = helpful_labels(field_labels)
    return lambda c, d: "" if c.action is Action.CREATE else labels.get(c.address.kind, {}).get(d.name, "")


_COMPACT_NOTE = "(compact: one line per blocked record; run without --compact, or with --kind KIND, for every change)\n"


def _painter(colour: bool) -> Callable[[str, str], str]:
    """``paint(text, colour)``: click's ANSI styling, ``bold`` as weight; plain text without colour."""
    if not colour:
        return lambda text, c: text
    return lambda text, c: click.style(text, fg=None if c == "bold" else c, bold=c == "bold")


def _named(change: Change) -> str:
    """``address`` and, when the label says more than the key, `` (label)``."""
    label = change.label
    if label and label != change.address.key:
        return f"{change.address} ({isolate_rtl(label)})"
    return str(change.address)


def _preamble(plan: Plan, paint: Callable[[str, str], str]) -> list[str]:
    """The lines before the changes: endpoints, targets, warnings, drift."""
    out: list[str] = []
    endpoints = endpoint_line(plan)
    if endpoints:
        out.append(endpoints + "\n")
    if plan.targets:
        out.append("Targeted: " + ", ".join(str(t) for t in plan.targets) + "\n")
    for warning in plan.warnings:
        out.append(f"{paint('Warning:', 'yellow')} {warning}\n")
    if plan.drifted:
        out.append(f"\n{paint('Drift:', 'yellow')} {len(plan.drifted)} record(s) were edited in Moodle since the "
                   f"last sync ({_drift_counts(plan)}); the updates marked \"(drift)\" below put Zoho's values back.\n")
    return out


def _change_lines(change: Change, paint: Callable[[str, str], str], labels: Mapping[str, str]) -> str:
    """One change as the full view shows it: the headline comment, the action, a line per field."""
    symbol = paint(change.action.value, _COLOURS[change.action])
    parts = [f"\n  # {_named(change)} {isolate_rtl(_headline(change))}\n  {symbol} {change.address}"]
    deltas = change.deltas
    if deltas:
        width = max(len(d.name) for d in deltas)
        creating = change.action is Action.CREATE
        for d in deltas:
            line = f"\n      {symbol} {d.name.ljust(width)} = {isolate_rtl(_delta(change, d))}"
            label = "" if creating else labels.get(d.name, "")
            if label:
                line += "  " + paint("# Zoho: " + label, "bright_black")
            parts.append(line)
    parts.append("\n")
    return "".join(parts)


def render_text(plan: Plan, *, colour: bool = False, compact: bool = False,
                field_labels: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """The Terraform-like plan. ``compact``: the per-kind table and the blocked records only
    (a plan of thousands of changes in a screenful); ``field_labels`` (kind → column → Zoho
    display label) adds the Zoho label beside a column whose name does not already say it.

    Plain Python rather than a template: a jinja loop over thousands of changes cost about
    60 µs per change (filters and globals called through the template's context), four
    times this; the output is byte for byte what the ``plan.txt.j2`` template it replaced rendered."""
    paint = _painter(colour)
    out = _preamble(plan, paint)
    changes = plan.changes
    if compact or len(changes) > TABLE_ABOVE:
        out.append("\n" + summary_table(plan))
    if compact:
        for c in changes:
            if c.action is Action.BLOCKED:
                out.append(f"\n  {paint(c.action.value, _COLOURS[c.action])} {_named(c)} {isolate_rtl(_headline(c))}")
        out.append("\n")
        if changes:
            out.append(_COMPACT_NOTE)
    elif changes:
        helpful = helpful_labels(field_labels)
        out.append("\nmzi will perform the following actions:\n")
        for c in changes:
            out.append(_change_lines(c, paint, helpful.get(c.address.kind, _NO_LABELS)))
        out.append("\n")
    out.append(paint(plan.summary.line, "bold") + "\n")
    return "".join(out)


_NO_LABELS: Mapping[str, str] = {}


def render_markdown(plan: Plan, field_labels: Mapping[str, Mapping[str, str]] | None = None,
                    per_kind: int = MARKDOWN_PER_KIND, max_chars: int = MARKDOWN_MAX_CHARS) -> str:
    """The plan for a pull request or issue comment: the summary and the per-kind table,
    then one collapsible ``diff`` block per kind — at most ``per_kind`` changes each, fewer
    when the comment would pass ``max_chars``; updates with their fields, creates and
    deletes one line each — sensitive values masked as in the text view."""
    template, zoho_label = _environment(False).get_template("plan.md.j2"), _zoho_label(field_labels)
    groups: dict[str, list[Change]] = {}
    for change in plan.changes:
        groups.setdefault(change.address.kind, []).append(change)
    fence, counts = _fence(plan), counts_by_kind(plan)
    while True:
        text = template.render(plan=plan, groups=groups, counts=counts, per_kind=per_kind, fence=fence,
                               zoho_label=zoho_label)
        if len(text) <= max_chars or per_kind == 0:
            return text
        per_kind //= 2


def _fence(plan: Plan) -> str:
    """A code fence longer than any run of backticks in the values, so none can close it."""
    longest = 0
    for change in plan.changes:
        for text in [change.label, change.reason] + [str(d.new) + str(d.old) for d in change.deltas]:
            if "`" in text:
                longest = max(longest, *(len(run) for run in _BACKTICKS.findall(text)))
    return "`" * max(3, longest + 1)


def render_json(plan: Plan, field_types: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """Machine-readable plan; sensitive values are masked here too, datetimes in ISO UTC.

    The plan itself (and a saved plan file) keeps the real values it must write: the
    masking replaces values only in the dicts ``to_dict`` made for this render (each
    change's, its ``after`` and its deltas), never in the plan's own. ``field_types``
    (kind → field → spec type) names the datetime fields of ``after`` that no delta
    describes, such as the ``compare = false`` riders of an update.
    """
    data = {"schema_version": JSON_SCHEMA_VERSION} | plan.to_dict()
    data["by_kind"] = {row.kind: row.to_dict() for row in counts_by_kind(plan)}
    floats = _has_float(data["endpoints"]) or _has_float(data["targets"]) or _has_float(data["warnings"])
    for change in data["changes"]:
        types = _types_of(change, field_types)
        for delta in change["deltas"]:
            if delta["sensitive"]:
                delta["old"] = SENSITIVE if delta["old"] is not None else None
                delta["new"] = SENSITIVE if delta["new"] is not None else None
            elif delta["type"] == "datetime":
                delta["old"], delta["new"] = _iso(delta["old"]), _iso(delta["new"])
            floats = floats or _has_float(delta["old"]) or _has_float(delta["new"])
        if change["after"]:
            sensitive = {d["name"] for d in change["deltas"] if d["sensitive"]}
            for name, value in change["after"].items():
                if name in sensitive:
                    change["after"][name] = SENSITIVE
                elif types.get(name) == "datetime":
                    change["after"][name] = _iso(value)
            floats = floats or _has_float(change["after"])
    return _indented_json(data, floats)


#: orjson's own encodings of dataclasses and datetimes are not ``json.dumps``'s (which refuses them)
_ORJSON_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME


def _indented_json(data: dict[str, Any], floats: bool) -> str:
    """``json.dumps(data, indent=2, ensure_ascii=False) + "\n"``, byte for byte, at orjson's speed.

    orjson writes the same text for strings (UTF-8 kept, the same escapes), ints, dicts
    and lists at indent 2, but not for floats (``1e-05`` is ``0.00001`` there), and it
    refuses what it cannot write exactly as JSON (a lone surrogate, an int past 64
    bits, a key that is not text): those plans, rare, take ``json.dumps`` itself.
    """
    if not floats:
        try:
            return orjson.dumps(data, option=_ORJSON_OPTIONS).decode() + "\n"
        except orjson.JSONEncodeError:
            pass
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _has_float(value: Any) -> bool:
    """Whether a float is anywhere in ``value`` (the one JSON value orjson spells otherwise)."""
    kind = type(value)
    if kind is str or kind is int or value is None or kind is bool:
        return False
    if kind is dict:
        return any(_has_float(v) for v in value.values())
    if kind is list or kind is tuple:
        return any(_has_float(v) for v in value)
    return True  # a float, or something unusual: json.dumps decides


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
