"""The leak scanner: does any text mzi produced contain a sensitive value or a secret?

Sensitive values are those of the fields the specs mark ``sensitive = true``, read from
both emulators (Zoho's desired values and Moodle's mirror rows, drift included). A value
that also occurs as a non-sensitive value somewhere (an emergency contact who has a
student's name, a birth date that is also a class date) cannot tell a leak from a label,
so it is left out and counted as ambiguous; so is one shorter than :data:`MIN_LENGTH`.
Secrets (tokens, client secret, webhook keys, a DSN password) are checked whole and by
their first :data:`SECRET_PREFIX` characters: half a token printed is a token leaked.

A match counts only on word boundaries (a 10-digit phone number inside a 19-digit Zoho
id is no leak); JSON ``\\uXXXX`` escapes are decoded first, so an Arabic name cannot
hide behind ``ensure_ascii``.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.specs import Spec

#: shorter sensitive values (a 4-digit phone extension) match too much to prove anything
MIN_LENGTH = 6
#: a secret's leading characters that already count as the secret leaked
SECRET_PREFIX = 16

_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


@dataclass(frozen=True)
class Leak:
    output: str
    what: str      # "sensitive student.national_id" or "secret MZI_MOODLE_TOKEN"
    excerpt: str   # the surrounding text, the value itself replaced by «…»

    def __str__(self) -> str:
        return f"{self.output}: {self.what} in …{self.excerpt}…"


@dataclass
class SensitiveValues:
    """Value → the field it came from (``student.national_id``), plus what was left out."""

    values: dict[str, str] = field(default_factory=dict)
    ambiguous: int = 0
    too_short: int = 0


def _walk(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)
    elif value is not None and not isinstance(value, bool):
        yield str(value)


def _full_names(row: Mapping[str, Any]) -> Iterable[str]:
    """``First_Name Last_Name`` of a row: labels name people so, and an emergency contact
    may carry a student's name (then it proves nothing)."""
    for key, first in row.items():
        partner = key.replace("first", "last").replace("First", "Last")
        if partner != key and isinstance(first, str) and isinstance(row.get(partner), str):
            yield f"{first} {row[partner]}"


def _boundary(value: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![0-9A-Za-z]){re.escape(value)}(?![0-9A-Za-z])")


def sensitive_values(zoho_db: Path, moodle_db: Path, specs: Mapping[str, Spec]) -> SensitiveValues:
    """Every sensitive value both emulators hold, and how many could not be told apart."""
    zoho_fields: dict[str, dict[str, str]] = {}     # module → Zoho api name → kind.field
    moodle_columns: dict[str, dict[str, str]] = {}  # table → column → kind.field
    for kind, spec in specs.items():
        for name in spec.sensitive_fields:
            for zoho_name in spec.fields[name].zoho_names:
                zoho_fields.setdefault(spec.zoho_module, {})[zoho_name] = f"{kind}.{name}"
            moodle_columns.setdefault(spec.moodle_table, {})[name] = f"{kind}.{name}"
    found: dict[str, str] = {}
    corpus: list[str] = []
    with _ReadOnly(zoho_db) as conn:
        for module, data in conn.execute("SELECT module, data FROM records"):
            record = json.loads(data)
            sensitive = zoho_fields.get(module, {})
            for key, value in record.items():
                if key in sensitive:
                    if value not in (None, ""):
                        found[str(value).strip()] = sensitive[key]
                else:
                    corpus.extend(_walk(value))
            corpus.extend(_full_names(record))
    with _ReadOnly(moodle_db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            sensitive = moodle_columns.get(table.removeprefix("mdl_"), moodle_columns.get(table, {}))
            cursor = conn.execute(f'SELECT * FROM "{table}"')
            columns = [d[0] for d in cursor.description]
            for row in cursor:
                corpus.extend(_full_names(dict(zip(columns, row))))
                for column, value in zip(columns, row):
                    if value is None or value == "":
                        continue
                    if column in sensitive:
                        found.setdefault(str(value).strip(), sensitive[column])
                    elif isinstance(value, str):
                        corpus.append(value)
    result = SensitiveValues()
    joined = "\x00".join(corpus)
    for value, origin in found.items():
        if len(value) < MIN_LENGTH:
            result.too_short += 1
        elif value in joined and _boundary(value).search(joined):
            result.ambiguous += 1
        else:
            result.values[value] = origin
    return result


class _ReadOnly:
    """A read-only SQLite connection closed on exit (sqlite3's own context manager only commits)."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)

    def __enter__(self) -> sqlite3.Connection:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.conn.close()


class LeakScanner:
    """Scans outputs and keeps the counts the closing note reports."""

    def __init__(self, sensitive: SensitiveValues, secrets: Mapping[str, str]) -> None:
        self.sensitive = sensitive
        self.secrets = {value: name for name, value in secrets.items() if value}
        self.outputs: list[str] = []
        self.bytes = 0
        self.leaks: list[Leak] = []
        self.by_design: dict[str, int] = {}

    def scan(self, name: str, text: str | bytes, *, sensitive: bool = True) -> list[Leak]:
        """Leaks in one output; ``sensitive=False`` for a file that holds values by design
        (a saved plan, owner-only) where only secrets are looked for."""
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        self.outputs.append(name)
        self.bytes += len(text.encode("utf-8"))
        if "\\u" in text:
            text = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
        found = [self._leak(name, text, value, f"secret {label}") for value, label in self._secret_needles()
                 if value in text]
        if sensitive:
            found += [self._leak(name, text, value, f"sensitive {origin}")
                      for value, origin in self.sensitive.values.items()
                      if value in text and _boundary(value).search(text)]
        else:
            self.by_design[name] = sum(1 for value in self.sensitive.values if value in text)
        self.leaks.extend(found)
        return found

    def scan_file(self, name: str, path: Path, *, sensitive: bool = True) -> list[Leak]:
        return self.scan(name, path.read_bytes(), sensitive=sensitive)

    def _secret_needles(self) -> Iterable[tuple[str, str]]:
        for value, label in self.secrets.items():
            yield value, label
            if len(value) >= SECRET_PREFIX + 8:
                yield value[:SECRET_PREFIX], f"{label} (its first {SECRET_PREFIX} characters)"

    @staticmethod
    def _leak(name: str, text: str, value: str, what: str) -> Leak:
        at = text.find(value)
        excerpt = (text[max(0, at - 40):at] + "«…»" + text[at + len(value):at + len(value) + 40]).replace("\n", "⏎")
        return Leak(name, what, excerpt)

    def summary(self) -> dict[str, Any]:
        return {"outputs_scanned": len(self.outputs), "bytes_scanned": self.bytes,
                "sensitive_values_checked": len(self.sensitive.values),
                "sensitive_values_ambiguous": self.sensitive.ambiguous,
                "sensitive_values_too_short": self.sensitive.too_short,
                "secrets_checked": len(self.secrets), "leaks": len(self.leaks),
                "files_holding_values_by_design": self.by_design, "outputs": self.outputs}

