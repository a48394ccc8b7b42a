"""The house vocabulary: Address, Record, Action, Change, Result.

These types are what every other module speaks. They are plain frozen dataclasses so
that they hash, compare and pickle cheaply; the Plan (``plan.py``) is the only one with a
file format, and it serializes these through ``to_dict``/``from_dict``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import orjson

from .errors import MziError


class Action(str, Enum):
    """An action *is* its symbol, as in Terraform: the renderer has no table to drift."""

    CREATE = "+"
    UPDATE = "~"
    DELETE = "-"
    BLOCKED = "!"

    @property
    def verb(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, order=True)
class Address:
    """``kind.key`` — one resource instance, e.g. ``student.5847596000000123456``."""

    kind: str
    key: str

    def __str__(self) -> str:
        return f"{self.kind}.{self.key}"

    @classmethod
    def parse(cls, text: str) -> "Address":
        kind, sep, key = text.partition(".")
        if not sep or not kind or not key:
            raise MziError(f"{text!r} is not an address; write KIND.KEY, e.g. student.5847596000000123456")
        return cls(kind, key)


#: the reference spelling, built once (``json.dumps`` with options builds an encoder per call)
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical_json(value: Any) -> str:
    """One spelling per value: sorted keys, no spaces, UTF-8 kept readable.

    Fingerprints of every planned record and a plan's checksum are made of this, so it
    is written by orjson (20x faster) whenever that gives ``_CANONICAL``'s very bytes:
    for values made of text, 64-bit ints, booleans, nulls, dicts with text keys and
    lists (:func:`_plain_json`; orjson sorts keys by UTF-8 bytes, which is code point
    order). Anything else — a float (``1e-05`` is ``0.00001`` to orjson), a value
    ``default=str`` would spell — is written by ``json`` itself.
    """
    if _plain_json(value):
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
        except orjson.JSONEncodeError:  # a lone surrogate, an int past 64 bits
            pass
    return _CANONICAL.encode(value)


def _plain_json(value: Any) -> bool:
    """Whether ``value`` holds only JSON's plain types (exactly; no floats, no subclasses).

    A loop over a stack rather than recursion: it runs over every planned record's fields.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or kind is int or kind is bool or item is None:
            continue
        if kind is dict:
            for key, member in item.items():
                if type(key) is not str:
                    return False
                if type(member) is not str:
                    stack.append(member)
        elif kind is list:
            stack.extend(item)
        else:
            return False
    return True


def fingerprint(fields: dict[str, Any]) -> str:
    """Short content hash of normalized fields; the stale-plan check compares these."""
    return hashlib.sha256(canonical_json(fields).encode()).hexdigest()[:16]


#: makes a display label when it is first read (``functools.partial(spec.render_label, key, fields)``)
Labeler = Callable[[], str]


class _Label:
    """``Record.label``: text, or a :data:`Labeler` called on first read and then kept.

    A plan of thousands of records shows the labels of its changes only; formatting one
    for every record read was a fifth of the mapping's CPU. A data descriptor, so the
    dataclass's ``__init__`` (frozen or not) stores through it and every reader —
    ``record.label``, ``==``, ``repr``, ``dataclasses.replace`` — sees text.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_{name}"

    def __get__(self, record: object | None, owner: type) -> str:
        if record is None:
            return ""  # the dataclass default
        value = record.__dict__[self.slot]
        if callable(value):
            value = value()
            record.__dict__[self.slot] = value
        return str(value)

    def __set__(self, record: object, value: str | Labeler) -> None:
        record.__dict__[self.slot] = value


@dataclass(frozen=True)
class Record:
    """Normalized field values of one instance on one side, plus a display label.

    ``fields`` is keyed by the spec's field names (the Moodle column names) and holds
    values already normalized by field type, so equality is meaningful. ``label`` may be
    given as a :data:`Labeler`: it is then made the first time it is read (a change shows it).
    """

    address: Address
    fields: dict[str, Any]
    label: _Label = _Label()
    #: why this record could not be read (empty when it could). An unreadable record is
    #: never diffed: its values are unknown, and unknown is not null.
    error: str = ""
    #: why this record cannot be carried over although it was read (empty when it can): e.g.
    #: a student whose academic email matches no Moodle user. Planned as blocked with this
    #: reason; unlike ``error`` it does not fail the run — it waits for the world to change.
    blocked: str = ""
    #: the target once held this record and no longer does only because it was deleted there
    #: (a request sent from Moodle and deleted in Zoho): never created again (``acknowledged_by``)
    acknowledged: bool = False

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.fields)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled with its label as text: a :data:`Labeler` would carry its whole spec along."""
        return self.__dict__ | {"_label": self.label}

    @classmethod
    def unreadable(cls, address: Address, error: str) -> "Record":
        return cls(address, {}, address.key, error)


@dataclass(frozen=True, slots=True)
class FieldDelta:
    """One field's planned change; ``sensitive`` values are masked wherever shown.

    Slotted: a plan holds one per changed field (every field of each create), and without
    a ``__dict__`` each takes 72 bytes rather than 168.
    """

    name: str
    old: Any
    new: Any
    sensitive: bool = False
    type: str = "string"  # the spec's field type: for display only (datetimes read as ISO)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "old": self.old, "new": self.new, "sensitive": self.sensitive, "type": self.type}


@dataclass(frozen=True)
class Change:
    """One planned action on one address.

    ``after`` is the full desired field set for create/update (what apply sends);
    ``deltas`` is the readable subset that differs. ``desired_fingerprint`` and
    ``actual_fingerprint`` are the fingerprints of the records on both sides this change
    was computed from (``None`` where there was none), taken over the compared fields
    only; that is how a saved plan notices that either system moved underneath it.
    ``unreadable``: a blocked change because a record could not be read; it fails the
    run (exit 1) where an ordinary blocked change only waits for its parent.
    """

    action: Action
    address: Address
    label: str = ""
    after: dict[str, Any] | None = None
    deltas: tuple[FieldDelta, ...] = ()
    reason: str = ""
    blocked_by: tuple[Address, ...] = ()
    actual_fingerprint: str | None = None
    drift: bool = False
    desired_fingerprint: str | None = None
    unreadable: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action.verb,
            "address": str(self.address),
            "label": self.label,
            "after": dict(self.after) if self.after is not None else None,
            "deltas": [d.to_dict() for d in self.deltas],
            "reason": self.reason,
            "blocked_by": [str(a) for a in self.blocked_by],
            "actual_fingerprint": self.actual_fingerprint,
            "desired_fingerprint": self.desired_fingerprint,
            "drift": self.drift,
            "unreadable": self.unreadable,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Change":
        return cls(
            action=Action[data["action"].upper()],
            address=Address.parse(data["address"]),
            label=data.get("label", ""),
            after=data.get("after"),
            deltas=tuple(FieldDelta(**d) for d in data.get("deltas", [])),
            reason=data.get("reason", ""),
            blocked_by=tuple(Address.parse(a) for a in data.get("blocked_by", [])),
            actual_fingerprint=data.get("actual_fingerprint"),
            drift=bool(data.get("drift", False)),
            desired_fingerprint=data.get("desired_fingerprint"),
            unreadable=bool(data.get("unreadable", False)),
        )


@dataclass(frozen=True)
class Result:
    """What happened to one address during apply."""

    address: Address
    action: Action
    ok: bool
    status: str = ""
    error: str = ""
    #: the id the target gave the record when it is not the address key (a Zoho record id
    #: for a reverse-direction kind): what reads of that record by other kinds look for
    target_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {
            "address": str(self.address),
            "action": self.action.verb,
            "ok": self.ok,
            "status": self.status,
            "error": self.error,
        }
        return out | ({"target_id": self.target_id} if self.target_id else {})


@dataclass
class ReadStats:
    """Calls made by a provider during one command, reported in the run log."""

    calls: int = 0
    records: int = 0
    writes: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
