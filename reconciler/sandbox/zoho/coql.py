"""The emulator's Query API: ``POST /crm/v8/coql``, the COQL subset mzi sends, Zoho's way.

Why a subset: mzi reads whole modules by id-keyed pages, so the emulator must answer

    select <columns> from <module> where <criteria> [order by <field> [asc|desc]]
    [limit <n> [offset <m>]]

with ``<criteria>`` an ``and`` of comparisons, each optionally in brackets:
``id > <n>`` / ``id >= <n>`` / ``id < <n>`` / ``id <= <n>`` / ``id = <n>``,
``Modified_Time``/``Created_Time`` with the same operators and a quoted datetime, and
``id is not null``. Anything else of COQL (``or``, ``like``, ``in``, functions, GROUP BY,
joins in criteria) is answered as Zoho answers a query it cannot parse, not silently
ignored, so a client relying on more than the emulator knows fails here first.

Zoho's rules kept (Query API overview and limitations pages, ``coql.json``):

- columns are field api names, optionally quoted; ``id`` is always returned;
- ≤ 50 columns (``LIMIT_EXCEEDED``), ≤ 15 select-column joins (``lookup.field``);
- a lookup column answers ``{"id"}`` only; a join column ``Lookup.Field`` answers the
  related record's *current* value under the key ``"Lookup.Field"``;
- subform, multi-select lookup and upload fields are refused (``data type not supported``);
- ``LIMIT`` 1…2,000 (default 200), ``OFFSET`` + ``LIMIT`` ≤ 100,000; no ``ORDER BY``
  means by id ascending;
- no matching record: ``204`` without a body; otherwise ``data`` + ``info``
  (``count``, ``more_records``);
- credits by ``LIMIT``: 1–200 → 1, 201–1000 → 2, 1001–2000 → 3 (also charged, like any
  processed call, when the query is refused: 1).

**Subform modules.** Zoho keeps a subform's rows as records of a module of their own,
queried by its api name with the lookup ``Parent_Id`` to the row's parent record
(Query API overview: "to retrieve records from a Subform, specify the Subform module's
API name"; e.g. ``select Expected_Budget from Project_Details where Parent_Id = <id>``).
The emulator's store keeps the rows inside their parent (the list API's shape), so
:class:`SubformRows` serves them as that module: ``select <row columns>, Parent_Id from
Payment_Schedule where id > <n> order by id asc limit 2000``. A subform module is named
after the subform field that made it (Zoho's default; the org export names no other).
The export has no field metadata for subform modules, so any plain column name is
answered (``null`` where a row has no such key) rather than refused; joins and criteria
other than ``id`` and ``Parent_Id`` comparisons are refused.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .metadata import ModuleMeta
from .store import SYSTEM_USER, parse_time

MAX_COLUMNS = 50
MAX_JOINS = 15
MAX_LIMIT = 2_000
DEFAULT_LIMIT = 200
#: records reachable with LIMIT/OFFSET (beyond: page by id)
MAX_REACH = 100_000
#: field types COQL refuses in the SELECT column
UNSELECTABLE = frozenset({"subform", "multiselectlookup", "fileupload", "imageupload"})
TIME_FIELDS = {"Modified_Time": "modified_ts", "Created_Time": "created_ts"}
OPERATORS = (">=", "<=", "!=", ">", "<", "=")


def coql_credits(limit: int) -> int:
    """Zoho's charge for a COQL call by its LIMIT (overview page)."""
    return 1 if limit <= 200 else 2 if limit <= 1000 else 3


class CoqlError(Exception):
    """A query Zoho would refuse: code, message and details as ``coql.json`` words them."""

    def __init__(self, code: str, message: str, details: dict[str, Any]) -> None:
        super().__init__(f"{code}: {message} {details}")
        self.code = code
        self.message = message
        self.details = details

    def response(self) -> Response:
        body = {"code": self.code, "details": self.details, "message": self.message, "status": "error"}
        return JSONResponse(body, status_code=400)


# ---------------------------------------------------------------------- parsing

_TOKEN = re.compile(r"""\s*(?:(?P<string>'(?:[^']|'')*'|"(?:[^"]|"")*")|(?P<op>>=|<=|!=|[=<>(),])|(?P<word>[A-Za-z0-9_.$!]+))""")


@dataclass(frozen=True)
class Token:
    kind: str  # string | op | word
    text: str
    column: int

    @property
    def lower(self) -> str:
        return self.text.lower()


def tokenize(query: str) -> list[Token]:
    """COQL's tokens; an unknown character is a SYNTAX_ERROR naming where it is."""
    tokens: list[Token] = []
    position = 0
    while position < len(query):
        if query[position:].strip() == "":
            break
        match = _TOKEN.match(query, position)
        if match is None or match.end() == position:
            near = query[position:].strip()[:20]
            raise _syntax(position + 1, near)
        kind = match.lastgroup or "word"
        tokens.append(Token(kind, match.group(kind), match.start(kind) + 1))
        position = match.end()
    return tokens


def _syntax(column: int, near: str) -> CoqlError:
    return CoqlError("SYNTAX_ERROR", "invalid query formed", {"line": 1, "column": column, "near": near})


@dataclass(frozen=True)
class Condition:
    """One comparison of the WHERE clause."""

    field: str
    operator: str  # one of OPERATORS, or "is not null"
    value: Any = None


@dataclass
class Query:
    """A parsed SELECT."""

    columns: list[str]
    module: str
    conditions: list[Condition] = field(default_factory=list)
    order_by: str = "id"
    descending: bool = False
    limit: int = DEFAULT_LIMIT
    offset: int = 0


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.at = 0

    def peek(self) -> Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            last = self.tokens[-1] if self.tokens else Token("word", "", 1)
            raise _syntax(last.column + len(last.text), last.text)
        self.at += 1
        return token

    def expect(self, word: str) -> None:
        token = self.take()
        if token.lower != word:
            raise _syntax(token.column, token.text)

    def accept(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token.lower == word:
            self.at += 1
            return True
        return False

    def name(self) -> str:
        token = self.take()
        if token.kind == "string":
            return token.text[1:-1]
        if token.kind != "word" or token.lower in ("select", "from", "where", "order", "by", "limit", "offset", "and"):
            raise _syntax(token.column, token.text)
        return token.text

    def integer(self, clause: str) -> int:
        token = self.take()
        if token.kind != "word" or not token.text.isdigit():
            raise CoqlError("SYNTAX_ERROR", "invalid query formed", {"clause": clause})
        return int(token.text)

    def parse(self) -> Query:
        self.expect("select")
        columns = [self.name()]
        while self.accept(","):
            columns.append(self.name())
        self.expect("from")
        query = Query(columns, self.name())
        self.expect("where")
        query.conditions = self.criteria()
        if self.accept("order"):
            self.expect("by")
            query.order_by = self.name()
            if self.accept("desc"):
                query.descending = True
            else:
                self.accept("asc")
        if self.accept("limit"):
            query.limit = self.integer("limit")
            if self.accept(","):  # LIMIT offset, count
                query.offset, query.limit = query.limit, self.integer("limit")
            elif self.accept("offset"):
                query.offset = self.integer("offset")
        token = self.peek()
        if token is not None:
            raise _syntax(token.column, token.text)
        return query

    def criteria(self) -> list[Condition]:
        """``a and (b and c)``: a conjunction, brackets allowed anywhere around its terms."""
        conditions = self.term()
        while self.accept("and"):
            conditions += self.term()
        token = self.peek()
        if token is not None and token.lower == "or":
            raise CoqlError("INVALID_QUERY", "invalid query formed",
                            {"reason": "the sandbox's COQL supports only `and` of comparisons", "operator": "or"})
        return conditions

    def term(self) -> list[Condition]:
        if self.accept("("):
            inner = self.criteria()
            token = self.take()
            if token.text != ")":
                raise _syntax(token.column, token.text)
            return inner
        name = self.name()
        if self.accept("is"):
            self.expect("not")
            self.expect("null")
            return [Condition(name, "is not null")]
        token = self.take()
        if token.kind != "op" or token.text not in OPERATORS:
            raise CoqlError("INVALID_QUERY", "invalid query formed",
                            {"reason": "the sandbox's COQL supports comparisons and `is not null` only",
                             "operator": token.text})
        value = self.take()
        if value.kind == "string":
            return [Condition(name, token.text, value.text[1:-1].replace("''", "'"))]
        if value.kind == "word" and value.text.lstrip("-").isdigit():
            return [Condition(name, token.text, int(value.text))]
        raise _syntax(value.column, value.text)


def parse(query: str) -> Query:
    """A COQL SELECT as a :class:`Query`, or the :class:`CoqlError` Zoho would answer."""
    tokens = tokenize(query)
    if not tokens:
        raise _syntax(1, "")
    return _Parser(tokens).parse()


# ---------------------------------------------------------------------- answering

@dataclass(frozen=True)
class Column:
    """A SELECT column resolved against the metadata: a field, or a join ``lookup.field``."""

    key: str
    field: str
    lookup: str | None = None
    target: str | None = None


class CoqlEndpoint:
    """``POST /crm/v8/coql`` over the emulator's store and module metadata."""

    def __init__(self, server: Any) -> None:
        self.server = server

    async def __call__(self, request: Request) -> Response:
        request.state.credits = 1
        try:
            text = await _select_query(request)
            query = parse(text)
            request.state.credits = coql_credits(max(1, min(query.limit, MAX_LIMIT)))
            return self.answer(query)
        except CoqlError as error:
            request.state.credits = 1  # a refused query costs what any refused call costs
            return error.response()

    def answer(self, query: Query) -> Response:
        subform = self.server.subform_modules.get(query.module)
        if subform is not None:
            return SubformRows(self.server.store.conn, subform).answer(query)
        module = self._module(query.module)
        columns = self._columns(module, query.columns)
        self._check_limits(query)
        where, params = self._where(module, query.conditions)
        order = {"id": "id", **TIME_FIELDS}.get(query.order_by)
        if order is None:
            raise CoqlError("INVALID_QUERY", "column given seems to be invalid",
                            {"column_name": query.order_by, "clause": "order by"})
        direction = "DESC" if query.descending else "ASC"
        conn = self.server.store.conn
        total = int(conn.execute(f"SELECT COUNT(*) FROM records WHERE {where}", params).fetchone()[0])
        rows = conn.execute(f"SELECT data FROM records WHERE {where} ORDER BY {order} {direction}, id {direction} "
                            "LIMIT ? OFFSET ?", (*params, query.limit, query.offset)).fetchall()
        if not rows:
            return Response(status_code=204)
        records = [json.loads(r[0]) for r in rows]
        data = self._rows(module, columns, records)
        more = query.offset + len(records) < total
        return JSONResponse({"data": data, "info": {"count": len(data), "more_records": more}})

    # ------------------------------------------------------------------ checks

    def _module(self, name: str) -> ModuleMeta:
        module: ModuleMeta | None = self.server.modules.get(name)
        if module is None:
            raise CoqlError("INVALID_QUERY", "invalid query formed", {"module": name, "reason": "invalid module"})
        return module

    def _columns(self, module: ModuleMeta, names: list[str]) -> list[Column]:
        if len(names) > MAX_COLUMNS:
            raise CoqlError("LIMIT_EXCEEDED", "limit exceeded", {"clause": "select", "limit": MAX_COLUMNS})
        if len(set(names)) != len(names):
            duplicate = next(n for n in names if names.count(n) > 1)
            raise CoqlError("DUPLICATE_DATA", "duplicate data", {"clause": "select", "column_name": duplicate})
        columns = [self._column(module, name) for name in names]
        if sum(1 for c in columns if c.lookup is not None) > MAX_JOINS:
            raise CoqlError("LIMIT_EXCEEDED", "limit exceeded", {"clause": "select", "limit": MAX_JOINS,
                                                                 "reason": "select column joins"})
        return columns

    def _column(self, module: ModuleMeta, name: str) -> Column:
        lookup, _, inner = name.partition(".")
        meta = module.fields.get(lookup)
        if meta is None:
            raise CoqlError("INVALID_QUERY", "column given seems to be invalid", {"column_name": name, "clause": "select"})
        if meta.data_type in UNSELECTABLE:
            raise CoqlError("INVALID_QUERY", "data type not supported",
                            {"column_name": name, "data_type": meta.data_type, "clause": "select"})
        if not inner:
            return Column(name, lookup)
        target = self.server.modules.get(meta.lookup_module or "") if meta.data_type == "lookup" else None
        if target is None or "." in inner or (inner not in target.fields):
            raise CoqlError("INVALID_QUERY", "column given seems to be invalid", {"column_name": name, "clause": "select"})
        if target.fields[inner].data_type in UNSELECTABLE:
            raise CoqlError("INVALID_QUERY", "data type not supported", {"column_name": name, "clause": "select"})
        return Column(name, inner, lookup, target.api_name)

    @staticmethod
    def _check_limits(query: Query) -> None:
        if not 1 <= query.limit <= MAX_LIMIT:
            raise CoqlError("LIMIT_EXCEEDED", "limit exceeded", {"clause": "limit", "limit": MAX_LIMIT})
        if query.offset + query.limit > MAX_REACH:
            raise CoqlError("LIMIT_EXCEEDED", "limit exceeded", {"clause": "offset", "limit": MAX_REACH,
                                                                 "reason": "page by id beyond 100,000 records"})

    def _where(self, module: ModuleMeta, conditions: list[Condition]) -> tuple[str, list[Any]]:
        clauses: list[str] = ["module = ?"]
        params: list[Any] = [module.api_name]
        for condition in conditions:
            if condition.field not in module.fields:
                raise CoqlError("INVALID_QUERY", "column given seems to be invalid",
                                {"column_name": condition.field, "clause": "where"})
            if condition.operator == "is not null":
                if condition.field != "id":
                    clauses.append("json_extract(data, '$.' || ?) IS NOT NULL")
                    params.append(condition.field)
                continue
            sql_op = "<>" if condition.operator == "!=" else condition.operator
            if condition.field == "id":
                if not isinstance(condition.value, int):
                    raise CoqlError("INVALID_QUERY", "value given seems to be invalid for the column",
                                    {"column_name": "id", "expected_data_type": "bigint", "clause": "where"})
                clauses.append(f"CAST(id AS INTEGER) {sql_op} ?")
                params.append(condition.value)
            elif condition.field in TIME_FIELDS:
                try:
                    moment = parse_time(str(condition.value))
                except ValueError:
                    raise CoqlError("INVALID_QUERY", "value given seems to be invalid for the column",
                                    {"column_name": condition.field, "expected_data_type": "datetime",
                                     "clause": "where"}) from None
                clauses.append(f"{TIME_FIELDS[condition.field]} {sql_op} ?")
                params.append(moment)
            else:
                raise CoqlError("INVALID_QUERY", "invalid query formed",
                                {"column_name": condition.field, "clause": "where",
                                 "reason": "the sandbox's COQL compares only id, Modified_Time and Created_Time"})
        return " AND ".join(clauses), params

    # ------------------------------------------------------------------ rows

    def _rows(self, module: ModuleMeta, columns: list[Column], records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        related = self._related(columns, records)
        out = []
        for record in records:
            row: dict[str, Any] = {}
            for column in columns:
                row[column.key] = self._value(module, column, record, related)
            row["id"] = record["id"]
            out.append(row)
        return out

    def _related(self, columns: list[Column], records: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
        """The records join columns point at, by lookup field and id (one query per lookup)."""
        found: dict[str, dict[str, dict[str, Any]]] = {}
        for column in columns:
            if column.lookup is None or column.lookup in found:
                continue
            ids = sorted({v["id"] for r in records if isinstance(v := r.get(column.lookup), dict) and v.get("id")})
            found[column.lookup] = self.server.store.get_many(column.target, ids) if ids else {}
        return found

    def _value(self, module: ModuleMeta, column: Column, record: dict[str, Any],
               related: dict[str, dict[str, dict[str, Any]]]) -> Any:
        if column.lookup is not None:
            pointer = record.get(column.lookup)
            target = related[column.lookup].get(pointer["id"]) if isinstance(pointer, dict) else None
            if target is None:
                # the emulator's lookup name, as its list API shows it: the target's current
                # name, else the name stored with the lookup (a record the demo school never had)
                name_field = self.server.modules[column.target].name_field
                return pointer.get("name") if isinstance(pointer, dict) and column.field == name_field else None
            value = target.get(column.field)
            return {"id": value["id"]} if isinstance(value, dict) and "id" in value else value
        kind = module.fields[column.field].data_type
        if kind == "ownerlookup":
            return {"id": SYSTEM_USER["id"]}
        value = record.get(column.field)
        if kind == "lookup" and isinstance(value, dict):
            return {"id": value.get("id")}
        return value


async def _select_query(request: Request) -> str:
    """The body's ``select_query``; a body without one is refused as Zoho refuses it."""
    try:
        body = json.loads(await request.body() or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    query = body.get("select_query") if isinstance(body, dict) else None
    if not isinstance(query, str) or not query.strip():
        raise CoqlError("INVALID_QUERY", "invalid query formed", {"reason": "select_query is missing or empty"})
    return query


# ---------------------------------------------------------------------- subform modules

@dataclass(frozen=True)
class SubformModule:
    """A subform's rows as a queryable module: the parent module and the subform field holding them."""

    api_name: str
    parent: str
    field: str


def subform_modules(modules: dict[str, ModuleMeta]) -> dict[str, SubformModule]:
    """Every subform field of the org as its module, named after the field (Zoho's default name)."""
    found: dict[str, SubformModule] = {}
    for module in modules.values():
        for meta in module.fields.values():
            if meta.data_type == "subform" and meta.api_name not in modules:
                found[meta.api_name] = SubformModule(meta.api_name, module.api_name, meta.api_name)
    return found


#: the SQL value of a row's id (row ids are numeric strings, as record ids)
_ROW_ID = "CAST(json_extract(j.value, '$.id') AS INTEGER)"
_SUBFORM_CRITERIA = {"id": _ROW_ID, "Parent_Id": "CAST(r.id AS INTEGER)"}


class SubformRows:
    """The rows of one subform field, answered as the records of its subform module."""

    def __init__(self, conn: Any, subform: SubformModule) -> None:
        self.conn = conn
        self.subform = subform

    def answer(self, query: Query) -> Response:
        columns = self._columns(query.columns)
        CoqlEndpoint._check_limits(query)
        if query.order_by != "id":
            raise CoqlError("INVALID_QUERY", "column given seems to be invalid",
                            {"column_name": query.order_by, "clause": "order by",
                             "reason": "the sandbox orders a subform module's rows by id only"})
        where, params = self._where(query.conditions)
        direction = "DESC" if query.descending else "ASC"
        rows = self.conn.execute(
            f"SELECT r.id, j.value FROM records r, json_each(r.data, ?) j WHERE {where} "
            f"ORDER BY {_ROW_ID} {direction} LIMIT ? OFFSET ?",
            (f'$."{self.subform.field}"', *params, query.limit + 1, query.offset)).fetchall()
        if not rows:
            return Response(status_code=204)
        more = len(rows) > query.limit
        data = [self._row(columns, parent, json.loads(value)) for parent, value in rows[:query.limit]]
        return JSONResponse({"data": data, "info": {"count": len(data), "more_records": more}})

    def _columns(self, names: list[str]) -> list[str]:
        if len(names) > MAX_COLUMNS:
            raise CoqlError("LIMIT_EXCEEDED", "limit exceeded", {"clause": "select", "limit": MAX_COLUMNS})
        if len(set(names)) != len(names):
            duplicate = next(n for n in names if names.count(n) > 1)
            raise CoqlError("DUPLICATE_DATA", "duplicate data", {"clause": "select", "column_name": duplicate})
        for name in names:
            if "." in name:
                raise CoqlError("INVALID_QUERY", "column given seems to be invalid",
                                {"column_name": name, "clause": "select",
                                 "reason": "the sandbox joins no column of a subform module"})
        return names

    def _where(self, conditions: list[Condition]) -> tuple[str, list[Any]]:
        clauses = ["r.module = ?", "j.type = 'object'"]
        params: list[Any] = [self.subform.parent]
        for condition in conditions:
            column = _SUBFORM_CRITERIA.get(condition.field)
            if column is None:
                raise CoqlError("INVALID_QUERY", "invalid query formed",
                                {"column_name": condition.field, "clause": "where",
                                 "reason": "the sandbox compares only id and Parent_Id in a subform module"})
            if condition.operator == "is not null":
                continue
            if not isinstance(condition.value, int):
                raise CoqlError("INVALID_QUERY", "value given seems to be invalid for the column",
                                {"column_name": condition.field, "expected_data_type": "bigint", "clause": "where"})
            clauses.append(f"{column} {'<>' if condition.operator == '!=' else condition.operator} ?")
            params.append(condition.value)
        return " AND ".join(clauses), params

    @staticmethod
    def _row(columns: list[str], parent: str, row: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for column in columns:
            if column == "Parent_Id":
                out[column] = {"id": parent}
                continue
            value = row.get(column)
            out[column] = {"id": value["id"]} if isinstance(value, dict) and "id" in value else value
        out["id"] = str(row.get("id"))
        return out
