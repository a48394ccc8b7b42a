"""What a webhook names: from a payload to the addresses to reconcile.

An event never carries data into Moodle or Zoho; it only names records (the
controller-runtime rule: a request is an identity, not content). This module turns each
payload mzi accepts into an :class:`Event` — a unique id for deduplication and the
*targets* it names — and refuses anything else with a :class:`BadEvent` the server
answers 400 with.

A target is an :class:`~reconciler.model.Address` when the payload says the key, or a
:class:`Lookup` when only the other system can say it (a Moodle user id names the
student whose mirror row links it, or whose academic email it has): the worker resolves
lookups after the event is acknowledged, because nothing here may call Zoho or Moodle.

Payloads:

* Zoho workflow webhook (the legacy seed's shape): ``event_id``, ``event_type``
  (created/updated/deleted), ``module``, ``record_id``, ``changed_fields``, ``timestamp``.
* Zoho Notifications API callback (the channels ``mzi zoho watch`` keeps): ``module``,
  ``ids``, ``operation`` (insert/update/delete), ``channel_id``, ``token``,
  ``server_time``, ``resource_uri``, ``query_params``, ``affected_fields``.
* Moodle outbox event (``local_mzi``'s observers): ``eventname``, ``objectid``,
  ``relateduserid``, ``courseid``, … and the extras an observer adds; mapped by the
  table :data:`MOODLE_EVENTS`.

A Zoho record names every kind read from (or written to) its module, keyed by the
record's id: a student's id names ``student.<id>`` and ``student_user.<id>``. A subform
kind is named by the parent's id alone (``installment.<registration id>``: all its rows,
which the engine reads by parent), and a kind keyed by another Zoho field by a lookup
of that field.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import MziError
from .model import Address, canonical_json
from .specs import Spec

#: how a lookup is written in the queue: ``student_user?moodle_user=42``
LOOKUP_SEPARATOR = "?"
#: record ids and other keys taken from a payload: what Zoho and Moodle ids look like, nothing that
#: could smuggle an address separator or SQL into a target
_KEY = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
_EVENT_ID = re.compile(r"^[\x21-\x7e]{1,200}$")
ZOHO_WORKFLOW_TYPES = ("created", "updated", "deleted")
ZOHO_OPERATIONS = ("insert", "update", "delete")
#: most records one notification may name (Zoho sends up to 100 ids per callback)
MAX_IDS = 200


class BadEvent(MziError):
    """A payload mzi does not accept; ``code`` is the machine-readable reason (HTTP 400)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, order=True)
class Lookup:
    """"The ``kind`` addresses that ``by = value`` names", found by the worker in the mirror
    (``moodle_user``, ``course``, ``course_user``) or in Zoho (``zoho_id``)."""

    kind: str
    by: str
    value: str

    def __str__(self) -> str:
        return f"{self.kind}{LOOKUP_SEPARATOR}{self.by}={self.value}"


Target = Address | Lookup


def parse_target(text: str) -> Target:
    """A queue item's text back to what it names."""
    if LOOKUP_SEPARATOR in text:
        kind, _, rest = text.partition(LOOKUP_SEPARATOR)
        by, _, value = rest.partition("=")
        return Lookup(kind, by, value)
    return Address.parse(text)


@dataclass(frozen=True)
class Event:
    """One accepted webhook: its id, where it came from, and what it names."""

    event_id: str
    source: str  # zoho | zoho_notification | moodle
    event_type: str
    targets: tuple[Target, ...]
    #: the payload as kept in the event log: ids and names only, secrets (a channel token) removed
    payload: dict[str, Any] = field(default_factory=dict)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise BadEvent("invalid_json", "the body is not a JSON object (UTF-8)") from None
    if not isinstance(data, dict):
        raise BadEvent("invalid_json", "the body is not a JSON object")
    return data


def _key(value: Any, name: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise BadEvent("invalid_field", f"{name} must be a record id (a string or a number)")
    text = str(value).strip()
    if not _KEY.match(text):
        raise BadEvent("invalid_field", f"{name} is not a record id (letters, digits, _ and -, at most 64)")
    return text


def _text(data: Mapping[str, Any], name: str, *, required: bool = True) -> str:
    value = data.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise BadEvent("missing_field", f"{name} is required (a non-empty string)")
    return value.strip()


# ---------------------------------------------------------------------- Zoho

def zoho_kinds(specs: Mapping[str, Spec], module: str) -> list[Spec]:
    """Every kind read from or written to ``module`` (a Zoho record names them all)."""
    return [s for s in specs.values() if s.zoho_module == module]


def zoho_targets(specs: Mapping[str, Spec], module: str, record_id: str,
                 changed_fields: Collection[str] = ()) -> tuple[Target, ...]:
    """What a change of Zoho record ``record_id`` of ``module`` names, per kind.

    Kinds read from the module always; a kind that writes into it (a Moodle id carried to
    Zoho) only when the event says one of its fields changed — an edit there is drift to
    repair from Moodle, any other edit leaves it as it was, and asking costs calls.
    """
    targets: list[Target] = []
    changed = set(changed_fields)
    for spec in sorted(zoho_kinds(specs, module), key=lambda s: s.kind):
        if spec.source.system != "zoho" and not changed & _zoho_names(spec):
            continue
        if spec.subform is not None or spec.key.zoho == "id":
            targets.append(Address(spec.kind, record_id))  # a subform kind: every row of this parent
        else:
            targets.append(Lookup(spec.kind, "zoho_id", record_id))
    return tuple(targets)


def _zoho_names(spec: Spec) -> set[str]:
    return {name for f in spec.fields.values() for name in f.zoho_names}


def _module(specs: Mapping[str, Spec], data: Mapping[str, Any], path_kind: str | None) -> str:
    module = data.get("module")
    if path_kind is not None:
        spec = specs.get(path_kind)
        if spec is None or spec.source.system != "zoho" and spec.target.system != "zoho":
            raise BadEvent("unknown_kind", f"no kind {path_kind!r} is read from Zoho; known: "
                           + ", ".join(sorted(k for k, s in specs.items() if "zoho" in (s.source.system, s.target.system))))
        if module is None:
            return spec.zoho_module
        if module != spec.zoho_module:
            raise BadEvent("unknown_module", f"module {module!r} is not the module of kind {path_kind!r} "
                                             f"({spec.zoho_module})")
    if not isinstance(module, str) or not module:
        raise BadEvent("missing_field", "module is required (the Zoho module's api name)")
    if not zoho_kinds(specs, module):
        known = sorted({s.zoho_module for s in specs.values()})
        raise BadEvent("unknown_module", f"no kind is read from Zoho module {module!r}; known: {', '.join(known)}")
    return module


def is_notification(data: Mapping[str, Any]) -> bool:
    """A Notifications API callback (``ids`` + ``channel_id``) rather than a workflow webhook."""
    return "ids" in data and "channel_id" in data


def parse_zoho(body: bytes, specs: Mapping[str, Spec], path_kind: str | None = None) -> Event:
    """A Zoho workflow webhook or Notifications API callback → the event it is."""
    data = _json_object(body)
    if is_notification(data):
        return _notification(data, specs, path_kind)
    module = _module(specs, data, path_kind)
    event_id = _text(data, "event_id")
    if not _EVENT_ID.match(event_id):
        raise BadEvent("invalid_field", "event_id must be 1-200 printable ASCII characters without spaces")
    event_type = _text(data, "event_type").lower()
    if event_type not in ZOHO_WORKFLOW_TYPES:
        raise BadEvent("invalid_field", f"event_type must be one of {', '.join(ZOHO_WORKFLOW_TYPES)}")
    record_id = _key(data.get("record_id"), "record_id")
    changed = data.get("changed_fields")
    kept = {"event_id": event_id, "event_type": event_type, "module": module, "record_id": record_id,
            "changed_fields": [str(c)[:100] for c in changed][:100] if isinstance(changed, list) else [],
            "timestamp": str(data.get("timestamp", ""))[:40]}
    return Event(f"zoho:{event_id}", "zoho", event_type,
                 zoho_targets(specs, module, record_id, kept["changed_fields"]), kept)


def _notification(data: Mapping[str, Any], specs: Mapping[str, Spec], path_kind: str | None) -> Event:
    module = _module(specs, data, path_kind)
    operation = data.get("operation")
    if operation not in ZOHO_OPERATIONS:
        raise BadEvent("invalid_field", f"operation must be one of {', '.join(ZOHO_OPERATIONS)}")
    ids = data.get("ids")
    if not isinstance(ids, list) or not ids or len(ids) > MAX_IDS:
        raise BadEvent("invalid_field", f"ids must be a list of 1 to {MAX_IDS} record ids")
    record_ids = sorted({_key(i, "ids[]") for i in ids})
    channel = _key(data.get("channel_id"), "channel_id")
    server_time = data.get("server_time")
    if isinstance(server_time, bool) or not isinstance(server_time, (int, str)):
        server_time = ""
    digest = hashlib.sha256(canonical_json([module, operation, record_ids]).encode()).hexdigest()[:16]
    event_id = f"zoho-notify:{channel}:{str(server_time)[:20]}:{digest}"
    targets = tuple(t for record_id in record_ids for t in zoho_targets(specs, module, record_id))
    kept = {"module": module, "operation": operation, "ids": record_ids, "channel_id": channel,
            "server_time": str(server_time)[:20]}
    return Event(event_id, "zoho_notification", str(operation), targets, kept)


def notification_token(body: bytes) -> str | None:
    """The ``token`` of a Notifications API callback, or None when the body is not one."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None
    if not isinstance(data, dict) or not is_notification(data):
        return None
    token = data.get("token")
    return token if isinstance(token, str) else None


# ---------------------------------------------------------------------- Moodle

Payload = Mapping[str, Any]


@dataclass(frozen=True)
class MoodleRule:
    """One kind an outbox event names: its key straight from the payload (``key``), or a
    lookup the worker resolves in the mirror (``by``, with the value from ``value``)."""

    kind: str
    key: Callable[[Payload], Any] | None = None
    by: str | None = None
    value: Callable[[Payload], Any] | None = None

    def target(self, payload: Payload) -> Target:
        if self.key is not None:
            return Address(self.kind, _key(self.key(payload), f"{self.kind} key"))
        assert self.by is not None and self.value is not None
        return Lookup(self.kind, self.by, str(self.value(payload)))


def _user(p: Payload) -> str:
    return _key(p.get("relateduserid") or p.get("objectid"), "relateduserid")


def _course_user(p: Payload) -> str:
    return f"{_key(p.get('courseid'), 'courseid')}:{_key(p.get('relateduserid'), 'relateduserid')}"


def _course(p: Payload) -> str:
    return _key(p.get("courseid"), "courseid")


_USER_RULES = (MoodleRule("student_user", by="moodle_user", value=_user),
               MoodleRule("teacher_user", by="moodle_user", value=_user),
               MoodleRule("student_link", by="moodle_user", value=_user),
               MoodleRule("teacher_link", by="moodle_user", value=_user))

#: Moodle event → the kinds it names. A kind without a spec yet is skipped, so a new
#: reverse-direction kind (Moodle → Zoho) plugs in with its spec and, if new, one line here.
MOODLE_EVENTS: dict[str, tuple[MoodleRule, ...]] = {
    "\\core\\event\\user_created": _USER_RULES,
    "\\core\\event\\user_updated": _USER_RULES,
    "\\core\\event\\user_enrolment_created": (
        MoodleRule("enrolment", by="course_user", value=_course_user),
        MoodleRule("teacher_enrolment", by="course", value=_course),
    ),
    "\\core\\event\\user_graded": (
        MoodleRule("moodle_grade", key=lambda p: f"{p.get('relateduserid')}_{p.get('assignmentid')}"),
    ),
    # core's user_graded, fired with it, names the grade (with its assignment id)
    "\\mod_assign\\event\\submission_graded": (),
    "\\local_mzi\\event\\request_submitted": (
        # the request's number (``MDL-<row id>``, its Zoho Name and the kind's key); an
        # older plugin's event carries only the row id, numbered the same way
        MoodleRule("outbound_request", key=lambda p: p.get("request_number") or f"MDL-{p.get('objectid')}"),
    ),
}


def moodle_targets(specs: Mapping[str, Spec], payload: Payload) -> tuple[Target, ...]:
    """What a Moodle outbox event names: the rules of its event name whose kind has a spec."""
    name = payload.get("eventname")
    if not isinstance(name, str) or not name:
        raise BadEvent("missing_field", "eventname is required")
    rules = MOODLE_EVENTS.get(name)
    if rules is None:
        raise BadEvent("unknown_event", f"mzi does not reconcile Moodle event {name[:120]!r}; known: "
                       + ", ".join(sorted(MOODLE_EVENTS)))
    return tuple(rule.target(payload) for rule in rules if rule.kind in specs)


def parse_moodle(body: bytes, specs: Mapping[str, Spec], event_id: str = "") -> Event:
    """A ``local_mzi`` outbox event → the event it is (``event_id``: the outbox's header)."""
    data = _json_object(body)
    targets = moodle_targets(specs, data)
    if event_id and not _EVENT_ID.match(event_id):
        raise BadEvent("invalid_field", "X-Mzi-Event-Id must be 1-200 printable ASCII characters without spaces")
    event_id = event_id or hashlib.sha256(body).hexdigest()[:32]
    kept: dict[str, Any] = {k: data[k] for k in ("eventname", "objecttable", "objectid", "relateduserid", "courseid", "timecreated",
                                  "assignmentid", "cmid", "request_type") if k in data and _scalar(data[k])}
    return Event(f"moodle:{event_id}", "moodle", str(data["eventname"]), targets, kept)


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) and len(str(value)) <= 200
