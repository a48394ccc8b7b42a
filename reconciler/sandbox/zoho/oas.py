"""Zoho's official OpenAPI files as a validator for requests and responses.

Why: the Zoho emulator is only worth what its equivalence with Zoho is worth, and the
Zoho provider is only right if what it sends is what Zoho accepts. Both are held to the
same contract — ``shared/reference/zoho-oas/v8.0/*.json`` — through this module::

    oas = OpenAPI.load(Path("../shared/reference/zoho-oas/v8.0"))
    oas.validate_request("GET", "/crm/v8/BTEC_Students", query={"fields": "City", "per_page": "200"})
    oas.validate_response("GET", "/crm/v8/BTEC_Students", 200, body)   # raises OASViolation
    problems = oas.response_problems("GET", "/crm/v8/BTEC_Students", 200, body)  # or list them

Needs ``jsonschema`` and ``referencing`` (test dependencies); mzi itself never imports
this module at run time.

The files are OpenAPI 3.0, not plain JSON Schema, and Zoho's need a little help, all of
it done once at load time and listed here so nothing is hidden:

1. ``nullable: true`` becomes a ``"null"`` in ``type`` (OpenAPI 3.0 → JSON Schema).
2. ``oneOf`` becomes ``anyOf``: Zoho's alternatives are not mutually exclusive (a
   wrapper such as ``Response_Wrapper`` has no required property, so a correct error
   envelope matches it *and* ``API_Exception``, failing ``oneOf``). To keep the error
   alternative meaningful, a response body that *is* an error envelope
   (``"status": "error"`` with a ``code``) is validated against the error alternatives
   only, and any other body against the non-error ones.
3. ``$ref``\\ s across files resolve through a ``referencing.Registry`` under the GitHub
   URLs the files use; a reference into a file that is not in the folder (``users.json``,
   ``tags.json`` …) becomes an unconstrained schema and is listed in
   :attr:`OpenAPI.unresolved`.
4. :data:`KNOWN_DEFECTS` — places where the files contradict Zoho's documented
   behaviour — are patched, each with its reason.
5. ``date-time`` is checked as RFC 3339 with a zone (jsonschema does not check it
   without an extra package).

Statuses: a declared status is checked against its schema. Zoho's files declare only
the success status of most record operations and describe errors inside it, so an
undeclared error status (400, 401, 404, 429, 5xx) carrying an error envelope is checked
against the generic envelope of ``common.json`` (``API_Exception``: ``code``,
``details``, ``message``, ``status``); any other undeclared status (201, 202, a 400
whose ``data[]`` holds only per-record errors) against the operation's declared success
schema, which describes per-record errors too. A watch result mixing successes and
errors fits none of ``notifications.json``'s schemas (each wrapper holds one kind). ``204``/``304`` must come without a body; Zoho documents them
for reads (empty result, ``If-Modified-Since``), so they are accepted for ``GET`` and for
the reads Zoho takes by ``POST`` (:data:`READS_BY_POST`: a COQL query matching nothing
answers ``204``, which ``coql.json`` leaves out).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urldefrag, urljoin

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from ...errors import MziError

#: where Zoho publishes the files; their cross-file ``$ref``\ s use this base
OAS_BASE = "https://raw.githubusercontent.com/Zohocorp-Pvt-Ltd/crm-oas/refs/heads/main/v8.0/"
METHODS = ("get", "put", "post", "delete", "patch")
_ENVELOPE = "common.json#/components/schemas/API_Exception"
#: operations that read although they are POSTed (the query travels in the body)
READS_BY_POST = frozenset({"/crm/v8/coql"})

#: (file, JSON pointer, replacement, why) — contradictions between the files and Zoho
KNOWN_DEFECTS: tuple[tuple[str, str, dict[str, Any], str], ...] = (
    ("notifications.json", "/components/schemas/Notification/properties/channel_id",
     {"type": ["integer", "string"]},
     "Zoho sends and returns channel ids as numbers (a long); `type: object` is a generator artefact"),
    ("notifications.json", "/components/schemas/Notification/properties/notify_url",
     {"type": "string"},
     "the `pattern` is the documentation example's host, not a rule: notify_url is any https URL you own"),
)

_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


class OASViolation(MziError):
    """A request or response does not match Zoho's OpenAPI description.

    ``problems`` lists every mismatch, each naming where in the document it is.
    """

    def __init__(self, what: str, problems: list[str]) -> None:
        super().__init__(f"{what} violates Zoho's OpenAPI description:\n  " + "\n  ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Operation:
    """One operation of one file: where it lives, so schemas can be found by pointer."""

    method: str
    template: str
    file: str
    operation_id: str

    @property
    def uri(self) -> str:
        escaped = self.template.replace("~", "~0").replace("/", "~1")
        return f"{OAS_BASE}{self.file}#/paths/{escaped}/{self.method}"


# ------------------------------------------------------------------ loading

def _to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema dialect → JSON Schema (rules 1 and 2 of the module docstring)."""
    if isinstance(node, list):
        return [_to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_json_schema(v) for k, v in node.items()}
    if "oneOf" in out:
        out["anyOf"] = out.pop("oneOf")
    if out.pop("nullable", False) is True:
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


def _drop_dangling_refs(node: Any, present: set[str], dropped: set[str]) -> Any:
    """Rule 3: a ``$ref`` into a file that is not here becomes ``{}`` (and is reported)."""
    if isinstance(node, list):
        return [_drop_dangling_refs(n, present, dropped) for n in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith(OAS_BASE):
        name = urldefrag(ref)[0][len(OAS_BASE):]
        if name not in present:
            dropped.add(ref)
            return {}
    return {k: _drop_dangling_refs(v, present, dropped) for k, v in node.items()}


def _set_pointer(document: dict[str, Any], pointer: str, value: Any) -> None:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.strip("/").split("/")]
    node = document
    for part in parts[:-1]:
        node = node[part]
    node[parts[-1]] = value


def _format_checker() -> FormatChecker:
    checker = FormatChecker()

    @checker.checks("date-time", raises=ValueError)
    def _is_datetime(value: object) -> bool:
        if not isinstance(value, str):
            return True
        if not _DATE_TIME.match(value):
            return False
        datetime.fromisoformat(value.replace("Z", "+00:00"))
        return True

    @checker.checks("int32")
    def _is_int32(value: object) -> bool:
        return not isinstance(value, int) or -(2**31) <= value < 2**31

    return checker


def _is_envelope(body: Any) -> bool:
    """Whether a body is Zoho's error envelope (rather than a wrapper of results)."""
    return isinstance(body, dict) and body.get("status") == "error" and "code" in body


def _template_regex(template: str) -> re.Pattern[str]:
    parts = [re.escape(p) if not p.startswith("{") else "[^/]+" for p in template.strip("/").split("/")]
    return re.compile("^/" + "/".join(parts) + "/?$")


# ------------------------------------------------------------------ the validator

class OpenAPI:
    """The loaded files: find an operation, check a request or a response against it."""

    def __init__(self, documents: dict[str, dict[str, Any]], unresolved: set[str]) -> None:
        self.documents = documents
        #: cross-file references that point outside the folder (checked as "anything")
        self.unresolved = frozenset(unresolved)
        resources = [(f"{OAS_BASE}{name}", DRAFT202012.create_resource(doc))
                     for name, doc in documents.items()]
        self._registry: Registry = Registry().with_resources(resources)
        self._checker = _format_checker()
        self._operations = self._index_operations()

    @classmethod
    def load(cls, directory: Path) -> "OpenAPI":
        """Read every ``*.json`` of ``directory`` (one OpenAPI file each) and prepare it."""
        files = sorted(directory.glob("*.json"))
        if not files:
            raise MziError(f"no OpenAPI files in {directory}")
        raw = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in files}
        dropped: set[str] = set()
        documents = {name: _to_json_schema(_drop_dangling_refs(doc, set(raw), dropped)) for name, doc in raw.items()}
        for name, pointer, replacement, _why in KNOWN_DEFECTS:
            if name in documents:
                _set_pointer(documents[name], pointer, copy.deepcopy(replacement))
        return cls(documents, dropped)

    def _index_operations(self) -> list[tuple[re.Pattern[str], int, Operation]]:
        index = []
        for name, doc in self.documents.items():
            for template, item in doc.get("paths", {}).items():
                literal = sum(1 for p in template.strip("/").split("/") if not p.startswith("{"))
                for method in METHODS:
                    if method in item:
                        op = Operation(method, template, name, item[method].get("operationId", ""))
                        index.append((_template_regex(template), literal, op))
        return index

    # -------------------------------------------------------------- lookup

    def operation(self, method: str, path: str) -> Operation:
        """The operation serving ``METHOD path``; literal segments beat parameters."""
        path = path.split("?", 1)[0]
        candidates = [(lit, i, op) for i, (rx, lit, op) in enumerate(self._operations)
                      if op.method == method.lower() and rx.match(path)]
        if not candidates:
            raise OASViolation(f"{method} {path}", ["no operation in the OpenAPI files serves this method and path"])
        return max(candidates, key=lambda c: (c[0], -c[1]))[2]

    def _lookup(self, uri: str) -> tuple[Any, str]:
        """Contents at ``uri`` with ``$ref``-only nodes followed; returns the final URI too."""
        resolver = self._registry.resolver()
        for _ in range(20):
            resolved = resolver.lookup(uri)
            contents = resolved.contents
            if isinstance(contents, dict) and set(contents) == {"$ref"}:
                uri = urljoin(uri, contents["$ref"])
                continue
            return contents, uri
        raise MziError(f"$ref chain too long at {uri}")

    def _errors(self, schema: str | dict[str, Any], instance: Any) -> list[str]:
        """Every error of ``instance`` against a schema URI (or a small schema of refs)."""
        root = {"$ref": schema} if isinstance(schema, str) else schema
        validator = Draft202012Validator(root, registry=self._registry, format_checker=self._checker)
        problems = []
        for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
            where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
            problems.append(f"{where}: {error.message[:300]}")
        return problems

    # -------------------------------------------------------------- requests

    def request_problems(self, method: str, path: str, query: Mapping[str, Any] | None = None,
                         body: Any = None, headers: Mapping[str, str] | None = None) -> list[str]:
        """Every way a request breaks the operation's parameters and request body."""
        op = self.operation(method, path)
        query = dict(query or {})
        if "?" in path:
            query.update(parse_qsl(path.split("?", 1)[1]))
        headers = {k.lower(): v for k, v in (headers or {}).items()}
        item, item_uri = self._lookup(op.uri)
        problems: list[str] = []
        declared: set[str] = set()
        for index, _param in enumerate(item.get("parameters", [])):
            param, param_uri = self._lookup(f"{item_uri}/parameters/{index}")
            declared.add(param["name"])
            problems += self._param_problems(param, param_uri, query, headers)
        for name in sorted(set(query) - declared):
            problems.append(f"query parameter {name!r} is not declared by {op.operation_id!r}")
        problems += self._body_problems(item, item_uri, body)
        return problems

    def _param_problems(self, param: dict[str, Any], uri: str, query: dict[str, Any], headers: dict[str, str]) -> list[str]:
        name, where = param["name"], param.get("in")
        if where == "path":
            return []
        source = query if where == "query" else headers if where == "header" else {}
        value = source.get(name if where == "query" else name.lower())
        if value is None:
            return [f"{where} parameter {name!r} is required"] if param.get("required") else []
        kind = param.get("schema", {}).get("type")
        if kind == "integer":
            try:
                value = int(str(value))
            except ValueError:
                return [f"{where} parameter {name!r}: {value!r} is not an integer"]
        elif kind == "boolean":
            value = str(value).lower() == "true" if str(value).lower() in ("true", "false") else value
        return [f"{where} parameter {name!r}: {p.split(': ', 1)[1]}" for p in self._errors(f"{uri}/schema", value)]

    def _body_problems(self, item: dict[str, Any], item_uri: str, body: Any) -> list[str]:
        if "requestBody" not in item:
            return [] if body is None else ["this operation takes no request body"]
        spec, spec_uri = self._lookup(f"{item_uri}/requestBody")
        if body is None:
            return ["a request body is required"] if spec.get("required") else []
        if "application/json" not in spec.get("content", {}):
            return []
        return [f"body {p}" for p in self._errors(f"{spec_uri}/content/application~1json/schema", body)]

    def validate_request(self, method: str, path: str, query: Mapping[str, Any] | None = None,
                         body: Any = None, headers: Mapping[str, str] | None = None) -> None:
        """Raise :class:`OASViolation` listing every problem of the request, if any."""
        problems = self.request_problems(method, path, query, body, headers)
        if problems:
            raise OASViolation(f"request {method} {path}", problems)

    # -------------------------------------------------------------- responses

    def response_problems(self, method: str, path: str, status: int, body: Any) -> list[str]:
        """Every way a response breaks the operation's description (see module docstring)."""
        op = self.operation(method, path)
        item, item_uri = self._lookup(op.uri)
        responses: dict[str, Any] = item.get("responses", {})
        empty = body in (None, b"", "")
        if status in (204, 304):
            if not empty:
                return [f"a {status} response must have no body"]
            if str(status) in responses or op.method == "get" or op.template in READS_BY_POST:
                return []
            return [f"{status} is not a documented answer of {op.operation_id!r}"]
        schema_uri = self._response_schema(responses, item_uri, status, body)
        if schema_uri is None:
            return [] if empty else [f"status {status} of {op.operation_id!r} declares no body"]
        if empty:
            return [f"status {status} of {op.operation_id!r} needs a body"]
        return self._errors(self._envelope_branch(schema_uri, body), body)

    def _response_schema(self, responses: dict[str, Any], item_uri: str, status: int, body: Any) -> str | None:
        code = str(status)
        if code not in responses:
            if status >= 400 and _is_envelope(body):
                return OAS_BASE + _ENVELOPE
            successes = sorted(c for c in responses if c.startswith("2") and c != "204")
            if not successes:
                return OAS_BASE + _ENVELOPE
            code = successes[0]
        response, response_uri = self._lookup(f"{item_uri}/responses/{code}")
        if "application/json" not in response.get("content", {}):
            return None
        return f"{response_uri}/content/application~1json/schema"

    def _envelope_branch(self, schema_uri: str, body: Any) -> dict[str, Any]:
        """Rule 2: the error or the non-error alternatives, chosen by the body's shape."""
        schema, uri = self._lookup(schema_uri)
        alternatives = schema.get("anyOf") if isinstance(schema, dict) else None
        if not alternatives:
            return {"$ref": uri}
        is_error = _is_envelope(body)
        chosen = [f"{uri}/anyOf/{i}" for i in range(len(alternatives))
                  if self._is_error_schema(f"{uri}/anyOf/{i}") == is_error]
        if not chosen or len(chosen) == len(alternatives):
            return {"$ref": uri}
        return {"anyOf": [{"$ref": u} for u in chosen]}

    def _is_error_schema(self, uri: str) -> bool:
        schema, _ = self._lookup(uri)
        props = schema.get("properties", {}) if isinstance(schema, dict) else {}
        return "code" in props and "status" in props and not ({"data", "watch"} & set(props))

    def validate_response(self, method: str, path: str, status: int, body: Any) -> None:
        """Raise :class:`OASViolation` listing every problem of the response, if any."""
        problems = self.response_problems(method, path, status, body)
        if problems:
            raise OASViolation(f"response {status} to {method} {path}", problems)


def default_oas_dir() -> Path:
    """``../shared/reference/zoho-oas/v8.0`` beside a checkout (where tests find it)."""
    return Path(__file__).resolve().parents[3].parent / "shared" / "reference" / "zoho-oas" / "v8.0"
