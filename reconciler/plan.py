"""The Plan: ordered Changes plus what is needed to apply them safely later.

A saved plan (``mzi plan --out FILE``) is JSON. It records, per change, the fingerprints
of the records on both sides the change was computed from; ``mzi apply FILE`` re-reads
those records and refuses the plan if any moved (a per-record stale check). It is also
bound to what made it, and apply refuses it with one line when any of these differ:

- the plan ``format`` and the mzi ``version`` (normalization rules live in the code);
- the ``endpoints``: the Zoho backend, data centre and client, the Moodle site URL and
  site identity (a sandbox plan never applies to a live Moodle, nor one site's to another);
- the ``specs_hash``: specs plus the install.xml columns whose scale normalization uses;
- the ``checksum`` of the whole file: a plan edited by hand is not the plan that was shown.

Fields that exist for display only (labels, reasons, drift flags) never influence apply.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import __version__
from .errors import PlanError
from .model import Action, Address, Change, canonical_json
from .schema import default_schema_path
from .specs import Spec, order_kinds

PLAN_FORMAT = 2

#: Zoho and Moodle as one plan saw them: {"zoho": {...}, "moodle": {...}}; see ``binding_mismatch``
Endpoints = dict[str, dict[str, str]]


@dataclass(frozen=True)
class Summary:
    create: int = 0
    update: int = 0
    delete: int = 0
    blocked: int = 0

    @property
    def has_changes(self) -> bool:
        return bool(self.create or self.update or self.delete or self.blocked)

    @property
    def line(self) -> str:
        if not self.has_changes:
            return "No changes."
        return (f"Plan: {self.create} to create, {self.update} to update, "
                f"{self.delete} to delete, {self.blocked} blocked.")

    def to_dict(self) -> dict[str, int]:
        return {"create": self.create, "update": self.update, "delete": self.delete, "blocked": self.blocked}


@dataclass
class Plan:
    """Ordered changes: parents created before children, children deleted before parents."""

    changes: list[Change]
    specs_hash: str
    targets: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    created_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    version: str = __version__
    endpoints: Endpoints = field(default_factory=dict)

    @property
    def summary(self) -> Summary:
        counts = {a: 0 for a in Action}
        for change in self.changes:
            counts[change.action] += 1
        return Summary(counts[Action.CREATE], counts[Action.UPDATE], counts[Action.DELETE], counts[Action.BLOCKED])

    @property
    def drifted(self) -> list[Change]:
        """Updates that undo an edit made in Moodle (reported apart, as Terraform does)."""
        return [c for c in self.changes if c.drift]

    def applicable(self) -> list[Change]:
        return [c for c in self.changes if c.action is not Action.BLOCKED]

    def followed_by(self, follow_up: "Plan") -> "Plan":
        """This plan with a follow-up's changes after it (what one apply did in all).

        A record this plan held (blocked: a grade whose student was not linked yet) that the
        follow-up could carry over is no longer blocked: the follow-up's change replaces it.
        One the follow-up still finds blocked stays as this plan has it.
        """
        blocked = {c.address for c in self.changes if c.action is Action.BLOCKED}
        extra = [c for c in follow_up.changes if c.action is not Action.BLOCKED or c.address not in blocked]
        done = {c.address for c in extra if c.action is not Action.BLOCKED}
        kept = [c for c in self.changes if c.action is not Action.BLOCKED or c.address not in done]
        return replace(self, changes=kept + extra, warnings=self.warnings + follow_up.warnings)

    @property
    def unreadable(self) -> list[Change]:
        """Records either system could not read: planned around, and the run fails (exit 1)."""
        return [c for c in self.changes if c.unreadable]

    def to_dict(self) -> dict[str, Any]:
        body = {
            "format": PLAN_FORMAT,
            "version": self.version,
            "created_at": self.created_at,
            "endpoints": self.endpoints,
            "specs_hash": self.specs_hash,
            "targets": self.targets,
            "warnings": self.warnings,
            "summary": self.summary.to_dict(),
            "changes": [c.to_dict() for c in self.changes],
        }
        return body | {"checksum": checksum(body)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Plan":
        """A plan from its file form; refuses other formats, other mzi versions and edited bodies."""
        if data.get("format") != PLAN_FORMAT:
            raise PlanError(f"plan format {data.get('format')!r} is not {PLAN_FORMAT}; create the plan again with this mzi")
        if data.get("version") != __version__:
            raise PlanError(f"the plan was made by mzi {data.get('version')}, this is mzi {__version__}; "
                            "run `mzi plan` again")
        body = {k: v for k, v in data.items() if k != "checksum"}
        if data.get("checksum") != checksum(body):
            raise PlanError("the plan file was modified after mzi wrote it (checksum mismatch); "
                            "run `mzi plan --out` again instead of editing a plan")
        return cls(
            changes=[Change.from_dict(c) for c in data["changes"]],
            specs_hash=data["specs_hash"],
            targets=list(data.get("targets", [])),
            warnings=list(data.get("warnings", [])),
            created_at=data["created_at"],
            version=data["version"],
            endpoints=dict(data.get("endpoints") or {}),
        )

    def save(self, path: Path) -> None:
        """Write atomically, readable by the owner only: a plan carries the values it will
        write, sensitive ones included (as a Terraform plan file does)."""
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(self.to_dict(), handle, indent=1, ensure_ascii=False, default=str)
        tmp.replace(path)  # atomic: a crash never leaves half a plan file

    @classmethod
    def load(cls, path: Path) -> "Plan":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise PlanError(f"{path}: cannot read plan file: {exc.strerror}") from exc
        except UnicodeDecodeError:
            raise PlanError(f"{path}: not a plan file (not UTF-8 text)") from None
        except json.JSONDecodeError as exc:
            raise PlanError(f"{path}: not a plan file (invalid JSON at line {exc.lineno})") from exc
        if not isinstance(data, dict):
            raise PlanError(f"{path}: not a plan file (JSON {type(data).__name__}, not an object)")
        try:
            return cls.from_dict(data)
        except KeyError as exc:
            raise PlanError(f"{path}: not a plan file (missing {exc})") from exc
        except (AttributeError, TypeError, ValueError) as exc:
            raise PlanError(f"{path}: not a plan file ({exc})") from exc


def checksum(body: dict[str, Any]) -> str:
    """SHA-256 of the plan body in canonical JSON: any edit, even of a label, changes it."""
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


#: the most telling difference is named first (a sandbox vs a live site before its URL)
_BINDING_ORDER = {"backend": 0, "api": 1, "url": 2, "client": 3, "site": 4}


def binding_mismatch(saved: Endpoints, current: Endpoints) -> str | None:
    """Why a plan made against ``saved`` endpoints must not be applied to ``current``, or None."""
    for system in sorted(set(saved) | set(current)):
        was, now = saved.get(system, {}), current.get(system, {})
        for key in sorted(set(was) | set(now), key=lambda k: (_BINDING_ORDER.get(k, len(_BINDING_ORDER)), k)):
            if was.get(key) != now.get(key):
                return (f"the plan was made against {system} {key} {was.get(key)!r}, but this configuration "
                        f"points at {now.get(key)!r}; run `mzi plan` against this {system}")
    return None


def specs_hash(specs: dict[str, Spec]) -> str:
    """Hash of everything that decides what a value normalizes to: specs and install.xml."""
    schema = default_schema_path()
    blob = canonical_json({
        "specs": {k: s.model_dump(mode="json") for k, s in sorted(specs.items())},
        "install.xml": hashlib.sha256(schema.read_bytes()).hexdigest() if schema.is_file() else None,
    })
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def order_changes(specs: dict[str, Spec], by_kind: dict[str, list[Change]]) -> list[Change]:
    """Creates/updates/blocked in dependency order, then deletes in reverse order."""
    kinds = [k for k in order_kinds(specs) if k in by_kind]
    forward = [c for k in kinds for c in by_kind[k] if c.action is not Action.DELETE]
    backward = [c for k in reversed(kinds) for c in by_kind[k] if c.action is Action.DELETE]
    return forward + backward


def targets_by_kind(targets: list[Address]) -> dict[str, set[str]]:
    grouped: dict[str, set[str]] = {}
    for address in targets:
        grouped.setdefault(address.kind, set()).add(address.key)
    return grouped
