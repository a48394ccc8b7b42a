"""The COQL read path: query building (50 columns, 15 joins, id-keyed WHERE), the shape of
its rows, and what a full read costs on the emulator (⌈N/2000⌉ calls × 3 credits)."""

from __future__ import annotations

import asyncio
import math
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.http import RetryPolicy
from reconciler.providers.zoho import (
    SubformQuery,
    ZohoProvider,
    coql_refresh_calls,
    merge_rows,
    subform_module,
    zoho_fields,
)
from reconciler.providers.zoho_client import (
    COQL_MAX_COLUMNS,
    COQL_MAX_JOINS,
    CoqlSelect,
    ZohoAuthError,
    ZohoClient,
    coql_credits,
    coql_selects,
    record_name_field,
)
from reconciler.sandbox.zoho import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_REFRESH_TOKEN, create_app
from reconciler.specs import load_specs
from zoho_fixtures import BASE_ID, T0, no_sleep, student, students

SPECS = load_specs()
STUDENT = SPECS["student"]


# ---------------------------------------------------------------------- query building

def test_fields_beyond_fifty_are_split_into_selects_of_at_most_fifty_columns() -> None:
    names = [f"Field_{i}" for i in range(120)]
    selects = coql_selects(["id", *names])
    assert [len(s.columns) for s in selects] == [50, 50, 20]
    assert [c for s in selects for c in s.columns] == names, "every field once, in order, id left to Zoho"


def test_a_lookup_goes_with_its_join_column_and_counts_two_columns() -> None:
    names = [f"Field_{i}" for i in range(49)] + ["Unit"]
    selects = coql_selects(names, {"Unit": "Name"})
    assert [s.columns for s in selects][-1] == ["Unit", "Unit.Name"], "the lookup and its name must not be split"
    assert all(len(s.columns) <= COQL_MAX_COLUMNS for s in selects)
    assert len(selects) == 2


def test_more_than_fifteen_lookups_are_split_at_fifteen_joins() -> None:
    lookups = {f"Lookup_{i}": "Name" for i in range(16)}
    selects = coql_selects(list(lookups), lookups)
    assert [len(s.lookups) for s in selects] == [COQL_MAX_JOINS, 1]


def test_the_query_pages_by_id_and_filters_changed_records_by_modified_time() -> None:
    select = CoqlSelect(("Name", "City"), (("Program", "Product_Name"),))
    assert select.query("BTEC_Students", "0", None, 2000) == (
        "select Name, City, Program, Program.Product_Name from BTEC_Students where id > 0 order by id asc limit 2000")
    since = datetime(2026, 9, 1, 7, 30, 15, 999, tzinfo=timezone.utc)
    assert select.query("BTEC_Students", "5847596000000100001", since, 2000) == (
        "select Name, City, Program, Program.Product_Name from BTEC_Students where "
        "(id > 5847596000000100001 and Modified_Time > '2026-09-01T07:30:15+00:00') order by id asc limit 2000")


def test_an_id_that_is_not_a_number_never_reaches_the_query() -> None:
    with pytest.raises(ValueError, match="not a Zoho record id"):
        CoqlSelect(("Name",)).query("BTEC_Students", "1 or 1=1", None, 10)


def test_a_row_is_shaped_as_the_list_api_gives_it() -> None:
    select = CoqlSelect(("Name",), (("Unit", "Name"), ("Teacher", "Name")))
    row = {"Name": "CLS-1", "Unit": {"id": "42"}, "Unit.Name": "Unit 4", "Teacher": None, "Teacher.Name": None,
           "id": "7"}
    assert select.shape(row) == {"Name": "CLS-1", "Unit": {"id": "42", "name": "Unit 4"}, "Teacher": None, "id": "7"}


@pytest.mark.parametrize(("limit", "credits"), [(1, 1), (200, 1), (201, 2), (1000, 2), (1001, 3), (2000, 3)])
def test_coql_is_charged_by_its_limit(limit: int, credits: int) -> None:
    assert coql_credits(limit) == credits


def test_standard_modules_name_records_by_their_own_field_and_custom_modules_by_name() -> None:
    assert (record_name_field("Products"), record_name_field("BTEC_Students")) == ("Product_Name", "Name")


# ---------------------------------------------------------------------- on the emulator

class Metadata:
    """A field-metadata cache in memory (the state store's role)."""

    def __init__(self) -> None:
        self.saved: dict[str, list[dict[str, Any]]] = {}

    def field_metadata(self, module: str) -> tuple[datetime, list[dict[str, Any]]] | None:
        return (T0, self.saved[module]) if module in self.saved else None

    def set_field_metadata(self, module: str, fields: list[dict[str, Any]], fetched_at: datetime) -> None:
        self.saved[module] = fields


@pytest.fixture
def emulator(tmp_path: Path) -> Any:
    app = create_app(tmp_path / "zoho.sqlite")
    yield app
    app.state.store.close()


def client_of(app: Any) -> ZohoClient:
    return ZohoClient("https://zoho.sandbox", "https://zoho.sandbox", SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET,
                      SANDBOX_REFRESH_TOKEN, RetryPolicy(), transport=httpx.ASGITransport(app=app), sleep=no_sleep)


def coql_log(app: Any) -> list[dict[str, Any]]:
    return [e for e in app.state.store.api_log() if e["path"] == "/crm/v8/coql"]


@pytest.mark.parametrize("n", [1_001, 4_000, 4_500])
def test_a_full_read_of_n_records_costs_n_over_2000_calls_of_3_credits(n: int, emulator: Any) -> None:
    emulator.state.store.load("BTEC_Students", students(n))
    client = client_of(emulator)
    records = asyncio.run(ZohoProvider(client, metadata=Metadata()).read(STUDENT))
    calls = coql_log(emulator)
    assert len(records) == n
    assert len(calls) == coql_refresh_calls(n) == math.ceil(n / 2000), f"COQL calls: {len(calls)}"
    assert [c["credits"] for c in calls] == [3] * len(calls)
    assert client.stats.by_operation.get("coql") == len(calls)
    assert client.stats.credits == 3 * len(calls) + client.stats.by_operation.get("fields_metadata", 0)
    assert "list" not in client.stats.by_operation, "no list-API page may be read"


def test_cached_field_metadata_costs_no_call(emulator: Any) -> None:
    emulator.state.store.load("BTEC_Students", students(10))
    cache = Metadata()
    asyncio.run(ZohoProvider(client_of(emulator), metadata=cache).read(STUDENT))
    client = client_of(emulator)
    asyncio.run(ZohoProvider(client, metadata=cache).read(STUDENT))
    assert "BTEC_Students" in cache.saved
    assert client.stats.by_operation == {"coql": 1}, client.stats.by_operation


def test_changed_only_reads_records_modified_after_the_watermark_through_modified_time(emulator: Any) -> None:
    old = [student(i, T0) for i in range(1, 31)]
    new = [student(i, T0 + timedelta(days=2)) for i in range(31, 36)]
    emulator.state.store.load("BTEC_Students", old + new)
    client = client_of(emulator)
    changed, gone = asyncio.run(ZohoProvider(client, metadata=Metadata()).read_changes(STUDENT,
                                                                                       since=T0 + timedelta(days=1)))
    assert sorted(changed) == sorted(str(BASE_ID + i) for i in range(31, 36))
    assert gone == set()
    assert client.stats.by_operation.get("coql") == 1 and "list" not in client.stats.by_operation
    assert client.stats.by_operation.get("deleted") == 1, "deleted records are still read from the deleted list"


def test_a_record_deleted_mid_read_shifts_no_page(emulator: Any) -> None:
    """Id-keyed paging: deleting a record already read must not make the next page skip one."""
    store = emulator.state.store
    store.load("BTEC_Students", students(25))
    client = client_of(emulator)

    async def read() -> list[str]:
        seen: list[str] = []
        async for page in client.query_records("BTEC_Students", ["Name"], limit=10):
            if not seen:
                store.remove("BTEC_Students", str(page[0]["id"]), display_name=None)
            seen += [str(r["id"]) for r in page]
        return seen

    seen = asyncio.run(read())
    assert seen == [str(BASE_ID + i) for i in range(1, 26)], "every record read once, in id order"


def test_a_read_wider_than_fifty_columns_merges_its_queries_by_id(emulator: Any) -> None:
    emulator.state.store.load("BTEC_Students", students(30))
    names = [n for n in emulator.state.zoho.modules["BTEC_Students"].fields
             if emulator.state.zoho.modules["BTEC_Students"].fields[n].data_type
             not in ("subform", "multiselectlookup", "fileupload", "imageupload", "lookup", "ownerlookup")][:120]
    client = client_of(emulator)

    async def read(api: str) -> list[dict[str, Any]]:
        pages = (client.query_records("BTEC_Students", names) if api == "coql"
                 else client.list_records("BTEC_Students", names))
        return [r async for page in pages for r in page]

    coql, listed = asyncio.run(read("coql")), asyncio.run(read("list"))
    assert len(names) > 100
    assert coql == listed
    assert client.stats.by_operation["coql"] == math.ceil(len(names) / 50)


def test_subform_rows_are_listed_with_their_parents_unless_subform_read_api_is_coql(emulator: Any) -> None:
    provider = ZohoProvider(client_of(emulator), metadata=Metadata())
    plans = {kind: asyncio.run(provider.coql_plan(SPECS[kind])) for kind in ("installment", "grade", "class")}
    assert not plans["installment"].use and "Payment_Schedule" in plans["installment"].why
    assert not plans["grade"].use and "subform_read_api" in plans["grade"].why
    assert plans["class"].use


def test_kinds_coql_cannot_serve_are_listed_and_say_why(emulator: Any) -> None:
    provider = ZohoProvider(client_of(emulator), metadata=Metadata(), subform_read_api="coql")
    plans = {kind: asyncio.run(provider.coql_plan(SPECS[kind])) for kind in ("installment", "grade", "request", "class")}
    assert plans["installment"].use and plans["installment"].subform == SubformQuery(
        "Payment_Schedule", "Payment_Schedule", ("Installment_Number", "Due_Date", "Amount", "Status", "Paid_Date"))
    assert plans["grade"].use and plans["grade"].subform == SubformQuery(
        "Learning_Outcomes_Assessm", "Learning_Outcomes_Assessm",
        ("LO_Code", "LO_Title", "LO_Definition", "LO_Score", "LO_Feedback")), plans["grade"]
    assert "Learning_Outcomes_Assessm" not in plans["grade"].fields, "the subform is not a column of its parent"
    assert not plans["request"].use and "subform_fields" in plans["request"].why
    assert plans["class"].use and plans["class"].lookups == {"BTEC_Program": "Product_Name", "Unit": "Name",
                                                             "Teacher": "Name"}, plans["class"]
    assert set(plans["class"].lookups) <= set(zoho_fields(SPECS["class"]))


# ---------------------------------------------------------------------- subform rows

def test_rows_go_to_their_parents_in_row_id_order_without_parent_id() -> None:
    parents = [{"id": "10", "Name": "A"}, {"id": "20", "Name": "B"}, {"id": "30", "Name": "C"}]
    rows = [{"id": "103", "N": 3, "Parent_Id": {"id": "10"}}, {"id": "201", "N": 1, "Parent_Id": {"id": "20"}},
            {"id": "101", "N": 1, "Parent_Id": {"id": "10"}}, {"id": "999", "N": 9, "Parent_Id": {"id": "40"}},
            {"id": "1000", "N": 2, "Parent_Id": {"id": "10"}}]
    merged = merge_rows(parents, rows, "Schedule")
    assert merged == [
        {"id": "10", "Name": "A", "Schedule": [{"id": "101", "N": 1}, {"id": "103", "N": 3}, {"id": "1000", "N": 2}]},
        {"id": "20", "Name": "B", "Schedule": [{"id": "201", "N": 1}]},
        {"id": "30", "Name": "C", "Schedule": []},
    ], "numeric row-id order; a parent without rows has []; a row of a parent not read is dropped"


def test_the_subform_module_is_the_one_the_field_metadata_names_else_the_field() -> None:
    assert subform_module("Payment_Schedule", {"associated_module": {"api_name": None, "id": None}}) == "Payment_Schedule"
    assert subform_module("Payment_Schedule", {"subform": {"module": "Payment_Rows", "id": "1"}}) == "Payment_Rows"
    assert subform_module("Payment_Schedule", {"associated_module": {"api_name": "Sched", "id": "2"}}) == "Sched"


def registrations(n: int, rows: int) -> list[dict[str, Any]]:
    """BTEC_Registrations with ``rows`` schedule rows each; row ids interleave across parents,
    so a page of rows spans many parents and a parent's rows span pages."""
    out = []
    for i in range(1, n + 1):
        schedule = [{"id": str(BASE_ID + 100_000 + r * n + i), "Installment_Number": r + 1,
                     "Due_Date": f"2026-{r % 12 + 1:02d}-01", "Amount": 100.0 * (r + 1), "Status": "Pending",
                     "Paid_Date": None} for r in range(rows)]
        out.append({"id": str(BASE_ID + i), "Name": f"REG-{i:05d}", "Payment_Schedule": schedule,
                    "Created_Time": T0.isoformat(), "Modified_Time": T0.isoformat()})
    return out


def test_a_subform_kind_read_through_coql_is_the_list_apis_at_two_streams_of_n_over_2000(emulator: Any) -> None:
    emulator.state.store.load("BTEC_Registrations", registrations(600, 4))
    spec = SPECS["installment"]
    listed = asyncio.run(ZohoProvider(client_of(emulator), read_api="list").read(spec))
    client = client_of(emulator)
    queried = asyncio.run(ZohoProvider(client, metadata=Metadata(), subform_read_api="coql").read(spec))
    assert len(listed) == 2_400 and queried == listed
    assert client.stats.by_operation.get("coql") == 1 + 2, "one page of 600 parents, two of 2,400 rows"
    assert "list" not in client.stats.by_operation, client.stats.by_operation


def test_a_changed_only_read_of_a_subform_kind_stays_listed(emulator: Any) -> None:
    emulator.state.store.load("BTEC_Registrations", registrations(5, 2))
    client = client_of(emulator)
    provider = ZohoProvider(client, metadata=Metadata(), subform_read_api="coql")
    asyncio.run(provider.read_changes(SPECS["installment"], since=T0 - timedelta(days=1)))
    assert client.stats.by_operation.get("list") == 1 and "coql" not in client.stats.by_operation


def test_read_api_list_never_sends_a_query(emulator: Any) -> None:
    emulator.state.store.load("BTEC_Students", students(5))
    client = client_of(emulator)
    asyncio.run(ZohoProvider(client, read_api="list").read(STUDENT))
    assert client.stats.by_operation == {"list": 1}
    with pytest.raises(ValueError, match="read_api"):
        ZohoProvider(client, read_api="bulk")  # type: ignore[arg-type]


def test_a_grant_without_the_coql_scope_says_which_scope_or_read_api_to_set() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/v2/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        return httpx.Response(401, json={"code": "OAUTH_SCOPE_MISMATCH", "details": {},
                                         "message": "invalid oauth scope to access this URL", "status": "error"})

    client = ZohoClient("https://zoho.test", "https://zoho.test", "id", "secret", "refresh", RetryPolicy(),
                        transport=httpx.MockTransport(handle), sleep=no_sleep)

    async def read() -> None:
        async for _ in client.query_records("BTEC_Students", ["Name"]):
            pass

    with pytest.raises(ZohoAuthError, match=r"ZohoCRM\.coql\.READ.*read_api = \"list\""):
        asyncio.run(read())
