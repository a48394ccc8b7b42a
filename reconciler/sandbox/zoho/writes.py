"""Zoho's write semantics: insert, update, upsert, delete — one result per record.

What Zoho does and the emulator copies:

- a call carries at most 100 records; each gets its own entry in ``data[]`` (``code``,
  ``details``, ``message``, ``status``) and one bad record never fails the others;
- read-only, system and autonumber fields are ignored on write; unknown api names are
  ignored too (Zoho does not reject them); mandatory fields missing on insert give
  ``MANDATORY_NOT_FOUND``; values of the wrong type, lookups to missing records and
  picklist values outside the list give ``INVALID_DATA`` (the sandbox org restricts its
  picklists); a value already held by another record in a unique field gives
  ``DUPLICATE_DATA`` naming that record;
- lookups are stored as ``{"id", "name"}``; subform rows keep their ids, rows sent
  without an id are new, rows not sent are removed (Zoho replaces the subform);
- upsert matches on ``id``, then on each ``duplicate_check_fields`` entry, which may
  only name unique fields or the module's record name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from .faults import Faults
from .metadata import AUTONUMBER_PREFIX, FieldMeta, ModuleMeta
from .store import SYSTEM_USER, ZohoStore, parse_time, zoho_time

MAX_RECORDS_PER_CALL = 100
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TEXT_TYPES = {"text", "textarea", "email", "phone", "website", "picklist"}


class RecordProblem(Exception):
    """One record's failure; becomes its ``data[]`` entry, never fails the call."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def entry(self) -> dict[str, Any]:
        return {"code": self.code, "details": self.details, "message": self.message, "status": "error"}


@dataclass(frozen=True)
class WriteResult:
    """The ``data[]`` entries of one call and whether each succeeded."""

    entries: list[dict[str, Any]]

    @property
    def successes(self) -> int:
        return sum(1 for e in self.entries if e["status"] == "success")

    def http_status(self, all_ok: int) -> int:
        """``all_ok`` when every record succeeded, 400 when none did, 202 (multi-status) when mixed."""
        if self.successes == len(self.entries):
            return all_ok
        return 400 if self.successes == 0 else 202


# ------------------------------------------------------------------ value checks

def _invalid(meta: FieldMeta, path: str, expected: str | None = None) -> RecordProblem:
    details: dict[str, Any] = {"api_name": meta.api_name, "json_path": path}
    if expected:
        details["expected_data_type"] = expected
    return RecordProblem("INVALID_DATA", "invalid data", **details)


def _text(meta: FieldMeta, value: Any, path: str) -> Any:
    if not isinstance(value, str):
        raise _invalid(meta, path, "text")
    if meta.length and meta.data_type != "textarea" and len(value) > meta.length:
        raise RecordProblem("INVALID_DATA", "invalid data", api_name=meta.api_name, json_path=path,
                            maximum_length=str(meta.length))
    if meta.data_type == "email" and value and not _EMAIL.match(value):
        raise _invalid(meta, path, "email")
    if meta.data_type == "picklist" and meta.picklist and value not in meta.picklist:
        raise RecordProblem("INVALID_DATA", "invalid data", api_name=meta.api_name, json_path=path,
                            expected_data_type="picklist")
    return None if value == "-None-" else value


def _integer(meta: FieldMeta, value: Any, path: str) -> Any:
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.lstrip("-").isdigit())):
        raise _invalid(meta, path, "integer")
    return int(value)


def _number(meta: FieldMeta, value: Any, path: str) -> Any:
    if isinstance(value, bool):
        raise _invalid(meta, path, meta.data_type)
    try:
        return float(value) if isinstance(value, str) else value if isinstance(value, (int, float)) else float("x")
    except ValueError:
        raise _invalid(meta, path, meta.data_type) from None


def _boolean(meta: FieldMeta, value: Any, path: str) -> Any:
    if not isinstance(value, bool):
        raise _invalid(meta, path, "boolean")
    return value


def _date(meta: FieldMeta, value: Any, path: str) -> Any:
    try:
        return date.fromisoformat(value).isoformat() if isinstance(value, str) and len(value) == 10 else _fail()
    except ValueError:
        raise _invalid(meta, path, "date") from None


def _datetime(meta: FieldMeta, value: Any, path: str) -> Any:
    try:
        return zoho_time(parse_time(value)) if isinstance(value, str) else _fail()
    except ValueError:
        raise _invalid(meta, path, "datetime") from None


def _fail() -> Any:
    raise ValueError("wrong shape")


_CHECKS: dict[str, Callable[[FieldMeta, Any, str], Any]] = {
    **{t: _text for t in _TEXT_TYPES}, "integer": _integer, "bigint": _integer,
    "double": _number, "currency": _number, "decimal": _number, "boolean": _boolean,
    "date": _date, "datetime": _datetime,
}


# ------------------------------------------------------------------ the writer

class RecordWriter:
    """Applies write calls to a store; returns per-record ``data[]`` entries."""

    def __init__(self, store: ZohoStore, modules: dict[str, ModuleMeta], faults: Faults) -> None:
        self.store = store
        self.modules = modules
        self.faults = faults

    # -------------------------------------------------------------- field values

    def _lookup(self, meta: FieldMeta, value: Any, path: str) -> Any:
        record_id = value.get("id") if isinstance(value, dict) else value
        if not isinstance(record_id, (str, int)) or not str(record_id).isdigit():
            raise RecordProblem("INVALID_DATA", "invalid data", api_name=meta.api_name, json_path=path,
                                expected_data_type="lookup")
        target = self.modules.get(meta.lookup_module or "")
        found = self.store.get(target.api_name, str(record_id)) if target else None
        if found is None or target is None:
            raise RecordProblem("INVALID_DATA", "invalid data", api_name=meta.api_name, json_path=path,
                                id=str(record_id), module=meta.lookup_module or "")
        return {"id": str(record_id), "name": str(found.get(target.name_field) or "")}

    def _subform(self, meta: FieldMeta, value: Any, old: Any, path: str) -> Any:
        if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
            raise _invalid(meta, path, "subform")
        existing = {str(r.get("id")): r for r in (old or []) if isinstance(r, dict)}
        rows = []
        for index, row in enumerate(value):
            if row.get("_delete"):
                continue
            row_id = row.get("id")
            if row_id is not None and str(row_id) not in existing:
                raise RecordProblem("INVALID_DATA", "the id given seems to be invalid", api_name=meta.api_name,
                                    json_path=f"{path}[{index}].id")
            base = dict(existing.get(str(row_id), {})) if row_id is not None else {}
            base.update({k: v for k, v in row.items() if k != "_delete"})
            base["id"] = str(row_id) if row_id is not None else self.store.new_id()
            rows.append(base)
        return rows

    def _value(self, meta: FieldMeta, value: Any, old: Any, path: str) -> Any:
        if value is None or value == "":
            return None
        if meta.data_type == "lookup":
            return self._lookup(meta, value, path)
        if meta.data_type == "subform":
            return self._subform(meta, value, old, path)
        check = _CHECKS.get(meta.data_type)
        return check(meta, value, path) if check else value

    def _apply_fields(self, module: ModuleMeta, record: dict[str, Any], row: dict[str, Any], path: str) -> None:
        for api_name, value in row.items():
            meta = module.fields.get(api_name)
            if meta is None or meta.read_only or meta.data_type in ("autonumber", "ownerlookup", "formula"):
                continue  # Zoho ignores what cannot be written
            if api_name in ("id", "Created_Time", "Modified_Time"):
                continue
            record[api_name] = self._value(meta, value, record.get(api_name), f"{path}.{api_name}")

    # -------------------------------------------------------------- record checks

    def _check_mandatory(self, module: ModuleMeta, record: dict[str, Any], path: str) -> None:
        for api_name in module.required_fields:
            if record.get(api_name) in (None, "", []):
                raise RecordProblem("MANDATORY_NOT_FOUND", "required field not found",
                                    api_name=api_name, json_path=f"{path}.{api_name}")

    def _check_unique(self, module: ModuleMeta, record: dict[str, Any], path: str) -> None:
        for api_name in sorted(module.unique_fields):
            value = record.get(api_name)
            if value in (None, ""):
                continue
            other = self.store.find_by(module.api_name, api_name, value)
            if other is not None and other["id"] != record.get("id"):
                raise RecordProblem("DUPLICATE_DATA", "duplicate data", api_name=api_name, json_path=f"{path}.{api_name}",
                                    duplicate_record={"id": other["id"], "Owner": SYSTEM_USER,
                                                      "module": {"api_name": module.api_name, "id": "5847596000000002175"}})

    def _check_fault(self, record_id: str | None, path: str) -> None:
        if record_id is not None and record_id in self.faults.invalid_ids:
            raise RecordProblem("INVALID_DATA", "invalid data", api_name="id", json_path=f"{path}.id", id=record_id)

    def _success(self, record: dict[str, Any], message: str, **extra: Any) -> dict[str, Any]:
        details = {"Modified_Time": record["Modified_Time"], "Modified_By": SYSTEM_USER,
                   "Created_Time": record["Created_Time"], "id": record["id"], "Created_By": SYSTEM_USER}
        return {"code": "SUCCESS", "details": details, "message": message, "status": "success", **extra}

    # -------------------------------------------------------------- operations

    def _insert_one(self, module: ModuleMeta, row: dict[str, Any], path: str) -> dict[str, Any]:
        self._check_fault(str(row["id"]) if row.get("id") else None, path)
        now = zoho_time(self.store.now())
        record: dict[str, Any] = {"id": self.store.new_id(), "Created_Time": now, "Modified_Time": now}
        self._apply_fields(module, record, row, path)
        self._check_mandatory(module, record, path)
        self._check_unique(module, record, path)
        for api_name in module.autonumber_fields:
            number = self.store.next_counter(f"autonumber:{module.api_name}:{api_name}",
                                             start=self.store.count(module.api_name) + 1)
            record[api_name] = f"{AUTONUMBER_PREFIX.get(module.api_name, '')}{number:06d}"
        self.store.save(module.api_name, record)
        return record

    def _update_one(self, module: ModuleMeta, existing: dict[str, Any], row: dict[str, Any], path: str) -> dict[str, Any]:
        self._check_fault(existing["id"], path)
        record = dict(existing)
        self._apply_fields(module, record, row, path)
        self._check_mandatory(module, record, path)
        self._check_unique(module, record, path)
        record["Modified_Time"] = zoho_time(self.store.now())
        self.store.save(module.api_name, record)
        return record

    def insert(self, module: ModuleMeta, rows: list[dict[str, Any]]) -> WriteResult:
        entries = [self._guard(lambda: self._insert_entry(module, row, f"$.data[{index}]"))
                   for index, row in enumerate(rows)]
        self.store.notify(module.api_name, _ids(entries), "insert")
        return WriteResult(entries)

    def _insert_entry(self, module: ModuleMeta, row: dict[str, Any], path: str) -> dict[str, Any]:
        return self._success(self._insert_one(module, row, path), "record added")

    def update(self, module: ModuleMeta, rows: list[dict[str, Any]]) -> WriteResult:
        entries = [self._guard(lambda: self._update_entry(module, row, f"$.data[{index}]"))
                   for index, row in enumerate(rows)]
        self.store.notify(module.api_name, _ids(entries), "update")
        return WriteResult(entries)

    def _update_entry(self, module: ModuleMeta, row: dict[str, Any], path: str) -> dict[str, Any]:
        record_id = row.get("id")
        if record_id in (None, ""):
            raise RecordProblem("MANDATORY_NOT_FOUND", "required field not found", api_name="id", json_path=f"{path}.id")
        existing = self.store.get(module.api_name, str(record_id))
        if existing is None:
            raise RecordProblem("INVALID_DATA", "the id given seems to be invalid", api_name="id",
                                json_path=f"{path}.id", id=str(record_id))
        return self._success(self._update_one(module, existing, row, path), "record updated")

    def upsert(self, module: ModuleMeta, rows: list[dict[str, Any]], duplicate_check_fields: list[str]) -> WriteResult:
        entries = [self._guard(lambda: self._upsert_entry(module, row, duplicate_check_fields, f"$.data[{index}]"))
                   for index, row in enumerate(rows)]
        self.store.notify(module.api_name, _ids(entries, "insert"), "insert")
        self.store.notify(module.api_name, _ids(entries, "update"), "update")
        return WriteResult(entries)

    def _upsert_entry(self, module: ModuleMeta, row: dict[str, Any], check: list[str], path: str) -> dict[str, Any]:
        if row.get("id"):
            existing = self.store.get(module.api_name, str(row["id"]))
            if existing is not None:
                return self._success(self._update_one(module, existing, row, path), "record updated", action="update")
        for api_name in check:
            value = row.get(api_name)
            if value in (None, ""):
                continue
            existing = self.store.find_by(module.api_name, api_name, value)
            if existing is not None:
                record = self._update_one(module, existing, row, path)
                return self._success(record, "record updated", action="update", duplicate_field=api_name)
        return self._success(self._insert_one(module, row, path), "record added", action="insert")

    def delete(self, module: ModuleMeta, ids: list[str]) -> WriteResult:
        entries, done = [], []
        for record_id in ids:
            existing = self.store.get(module.api_name, record_id)
            if existing is None:
                entries.append(RecordProblem("INVALID_DATA", "the id given seems to be invalid", id=record_id).entry())
                continue
            self.store.remove(module.api_name, record_id, display_name=str(existing.get(module.name_field) or ""))
            done.append(record_id)
            entries.append({"code": "SUCCESS", "details": {"id": record_id}, "message": "record deleted", "status": "success"})
        self.store.notify(module.api_name, done, "delete")
        return WriteResult(entries)

    def allowed_duplicate_checks(self, module: ModuleMeta) -> frozenset[str]:
        """Unique fields, plus the record name where it is not an autonumber (Zoho's system check)."""
        name = module.fields.get(module.name_field)
        system = {module.name_field} if name is not None and name.data_type != "autonumber" else set()
        return module.unique_fields | system

    def _guard(self, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Run one record's write in its own savepoint so a failure leaves no trace."""
        self.store.conn.execute("SAVEPOINT record")
        try:
            entry = work()
        except RecordProblem as problem:
            self.store.conn.execute("ROLLBACK TO record")
            self.store.conn.execute("RELEASE record")
            return problem.entry()
        self.store.conn.execute("RELEASE record")
        return entry


def _ids(entries: list[dict[str, Any]], action: str | None = None) -> list[str]:
    """Ids of the successful entries (of one upsert ``action`` when given)."""
    return [e["details"]["id"] for e in entries
            if e["status"] == "success" and (action is None or e.get("action") == action)]
