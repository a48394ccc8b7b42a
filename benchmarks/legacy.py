"""The seed system's per-record path, as a baseline for ``bench.py``.

The middleware mzi replaces (``/work/shared/seeds/``: "every webhook = validate + map + 1
Moodle WS call") moved one record at a time: a Zoho webhook named a record, the backend
fetched it with one ``GET /crm/v8/{module}/{id}``, mapped it, and called one
``local_mzi_*`` web-service function for it. This client does exactly that for every
record of the mirror kinds (teacher, program, unit, student, class, registration and its
installments, payment, enrollment, grade, request) into an empty Moodle:

* one Zoho GET by id per record (installments come inside their registration);
* one ``local_mzi_upsert_<table>`` call per record, with the row mzi's own mapping makes
  (so the mapping is not what is compared, the call pattern is).

It is given every advantage the seed system could have had: records are worked on in
parallel up to the same limits mzi uses (Zoho 10 in flight, Moodle 4), the access token
is fetched once, and finding the ids (what the webhooks would have delivered) is done
with the list API, 200 ids a call, and reported apart. Courses, enrolments, user links
and the Moodle → Zoho kinds are not part of it (the seed system did them by other
means), so mzi's measured run does strictly more work than this one.

``--sample N`` (bench.py's ``--legacy-sample``) migrates only the first N records of each
kind; bench.py then extrapolates the time linearly per kind, and says so.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from reconciler.mapping import moodle_row, record_from_zoho, subform_records
from reconciler.providers.moodle import encode_php_params, form_body
from reconciler.specs import Spec

#: the order the seed system's full load ran in: what a row names exists before it
KIND_ORDER = ("teacher", "program", "unit", "student", "class", "registration", "installment", "payment",
              "enrollment", "grade", "request")
ID_PAGE = 200


class LegacyError(RuntimeError):
    """The baseline could not do what the seed system did (an emulator refused a call)."""


@dataclass
class KindRun:
    """One kind's share of the baseline."""

    kind: str
    #: records of the kind in Zoho; for a subform kind, the rows of the parents moved
    total: int
    #: the kind whose records carry this one's rows (installment: registration)
    parent: str | None = None
    done: int = 0
    zoho_calls: int = 0
    moodle_calls: int = 0
    seconds: float = 0.0


@dataclass
class LegacyRun:
    """What the baseline did: ids listed, then per kind the records moved and the calls made."""

    id_calls: int = 0
    id_seconds: float = 0.0
    token_calls: int = 0
    kinds: list[KindRun] = field(default_factory=list)


class LegacyClient:
    """Zoho GET by id, then one Moodle call, per record."""

    def __init__(self, zoho_url: str, moodle_url: str, *, credentials: tuple[str, str, str], moodle_token: str,
                 zoho_limit: int = 10, moodle_limit: int = 4) -> None:
        self._zoho = httpx.AsyncClient(base_url=zoho_url, timeout=120)
        self._moodle = httpx.AsyncClient(base_url=moodle_url, timeout=120)
        self._credentials = credentials
        self._moodle_token = moodle_token
        self._zoho_slots = asyncio.Semaphore(zoho_limit)
        self._moodle_slots = asyncio.Semaphore(moodle_limit)
        self._workers = zoho_limit
        self._token = ""

    async def aclose(self) -> None:
        await self._zoho.aclose()
        await self._moodle.aclose()

    async def run(self, specs: dict[str, Spec], sample: int | None) -> LegacyRun:
        """Move every record (or the first ``sample`` of each kind) of the mirror kinds."""
        result = LegacyRun()
        await self._authenticate()
        result.token_calls = 1
        kinds = [k for k in KIND_ORDER if k in specs]
        started = time.perf_counter()
        ids = {}
        for kind in kinds:
            if specs[kind].subform:
                continue
            ids[kind], calls = await self._ids(specs[kind].zoho_module)
            result.id_calls += calls
        result.id_seconds = time.perf_counter() - started
        for kind in kinds:
            spec = specs[kind]
            if spec.subform:
                continue  # moved with its parent, below
            chosen = ids[kind][:sample] if sample is not None else ids[kind]
            run = KindRun(kind, total=len(ids[kind]))
            children = [s for s in specs.values() if s.subform and s.zoho_module == spec.zoho_module and s.kind in kinds]
            child_runs = {c.kind: KindRun(c.kind, total=0, parent=kind) for c in children}
            began = time.perf_counter()
            await self._each(chosen, lambda record_id: self._move(spec, record_id, run, children, child_runs))
            run.seconds = time.perf_counter() - began
            result.kinds.append(run)
            result.kinds.extend(child_runs.values())
        return result

    async def _each(self, items: Sequence[str], work: Any) -> None:
        queue: asyncio.Queue[str] = asyncio.Queue()
        for item in items:
            queue.put_nowait(item)

        async def worker() -> None:
            while not queue.empty():
                await work(queue.get_nowait())

        await asyncio.gather(*(worker() for _ in range(self._workers)))

    async def _move(self, spec: Spec, record_id: str, run: KindRun, children: list[Spec],
                    child_runs: dict[str, KindRun]) -> None:
        raw = await self._get(spec.zoho_module, record_id)
        run.zoho_calls += 1
        record = record_from_zoho(spec, raw)
        await self._upsert(spec, moodle_row(spec, record.address.key, record.fields))
        run.moodle_calls += 1
        run.done += 1
        for child in children:
            rows = subform_records(child, raw)
            child_runs[child.kind].total += len(rows)
            for row in rows:
                await self._upsert(child, moodle_row(child, row.address.key, row.fields))
                child_runs[child.kind].moodle_calls += 1
                child_runs[child.kind].done += 1

    # -------------------------------------------------------------- the wire

    async def _authenticate(self) -> None:
        client_id, secret, refresh = self._credentials
        answer = await self._zoho.post("/oauth/v2/token", data={"grant_type": "refresh_token", "client_id": client_id,
                                                                 "client_secret": secret, "refresh_token": refresh})
        body = answer.json()
        if "access_token" not in body:
            raise LegacyError(f"the Zoho emulator refused the token request: {body}")
        self._token = str(body["access_token"])

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Zoho-oauthtoken {self._token}"}

    async def _ids(self, module: str) -> tuple[list[str], int]:
        """Every id of ``module`` (what the webhooks would have named), by the list API."""
        ids: list[str] = []
        calls, token = 0, ""
        while True:
            params = {"fields": "id", "per_page": str(ID_PAGE), "sort_by": "id", "sort_order": "asc"}
            if token:
                params["page_token"] = token
            async with self._zoho_slots:
                answer = await self._zoho.get(f"/crm/v8/{module}", params=params, headers=self._headers())
            calls += 1
            if answer.status_code == 204:
                return ids, calls
            _check(answer, f"list {module}")
            body = answer.json()
            ids += [str(r["id"]) for r in body["data"]]
            token = body["info"].get("next_page_token") or ""
            if not body["info"].get("more_records") or not token:
                return ids, calls

    async def _get(self, module: str, record_id: str) -> dict[str, Any]:
        async with self._zoho_slots:
            answer = await self._zoho.get(f"/crm/v8/{module}/{record_id}", headers=self._headers())
        _check(answer, f"GET {module}/{record_id}")
        return dict(answer.json()["data"][0])

    async def _upsert(self, spec: Spec, row: dict[str, Any]) -> None:
        short = spec.moodle_table.removeprefix("local_mzi_")
        form = [("wstoken", self._moodle_token), ("wsfunction", f"local_mzi_upsert_{short}"),
                ("moodlewsrestformat", "json")] + encode_php_params({"count": 1, "records": [row]})
        async with self._moodle_slots:
            answer = await self._moodle.post("/webservice/rest/server.php", content=form_body(form),
                                             headers={"Content-Type": "application/x-www-form-urlencoded"})
        _check(answer, f"local_mzi_upsert_{short}")
        body = answer.json()
        if isinstance(body, dict) and "exception" in body:
            raise LegacyError(f"local_mzi_upsert_{short} refused the call: {body.get('errorcode')}: "
                              f"{body.get('message')}")
        refused = [r for r in body.get("results", []) if r.get("status") == "error"]
        if refused:
            raise LegacyError(f"local_mzi_upsert_{short} refused {spec.kind} row {refused[0].get('key')}: "
                              f"{refused[0].get('errorcode')}: {refused[0].get('message')}")


def _check(answer: httpx.Response, what: str) -> None:
    if answer.status_code != 200:
        raise LegacyError(f"{what}: HTTP {answer.status_code} {answer.text[:200]}")
