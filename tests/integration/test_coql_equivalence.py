"""Reading through COQL gives the very Records the list API gives — every Zoho kind of the
demo school, read both ways on the emulator and compared value for value."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from reconciler.http import RetryPolicy
from reconciler.model import Record
from reconciler.providers.zoho import ReadApi, ZohoProvider
from reconciler.providers.zoho_client import ZohoClient
from reconciler.sandbox import Sandbox
from reconciler.specs import load_specs

#: every kind mzi reads from Zoho: its source, or its target (links and grades pushed from Moodle)
SPECS = {kind: spec for kind, spec in load_specs().items() if "zoho" in (spec.source.system, spec.target.system)}
#: kinds COQL cannot serve (they read every column of a subform's rows): listed either way
LISTED = {"request", "outbound_request"}
#: kinds whose subform rows COQL reads from the subform module and merges into their parents
SUBFORM_QUERIED = {"installment", "grade", "moodle_grade"}


@pytest.fixture(scope="module")
def school(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    box = Sandbox(tmp_path_factory.mktemp("coql") / "sandbox", students=150, seed=7, blocked_example=True)
    box.ensure()
    yield box
    box.destroy()


def read_all(box: Sandbox, api: ReadApi, *, shared: bool = False,
             ) -> tuple[dict[str, dict[str, Record]], dict[str, int], dict[str, bool]]:
    """Every Zoho kind read in full with ``api``: records, the client's calls by operation, COQL use by kind.
    ``shared``: all kinds at once within ``sharing_reads``, as the engine reads them."""
    async def go() -> tuple[dict[str, dict[str, Record]], dict[str, int], dict[str, bool]]:
        cid, secret, refresh = box.zoho_credentials
        client = ZohoClient(box.zoho_base_url, box.zoho_accounts_url, cid, secret, refresh, RetryPolicy(),
                            transport=box.zoho_transport())
        provider = ZohoProvider(client, read_api=api, subform_read_api=api)
        try:
            used = {kind: (await provider.coql_plan(spec)).use for kind, spec in SPECS.items()}
            if shared:
                with provider.sharing_reads(SPECS.values()):
                    kinds = sorted(SPECS)
                    read = await asyncio.gather(*(provider.read(SPECS[kind]) for kind in kinds))
                records = dict(zip(kinds, read))
            else:
                records = {kind: await provider.read(spec) for kind, spec in sorted(SPECS.items())}
            return records, dict(client.stats.by_operation), used
        finally:
            await provider.aclose()

    return asyncio.run(go())


def differences(kind: str, listed: dict[str, Record], queried: dict[str, Record]) -> list[str]:
    found = [f"{kind}: only listed {sorted(set(listed) - set(queried))[:5]}"] if set(listed) - set(queried) else []
    found += [f"{kind}: only queried {sorted(set(queried) - set(listed))[:5]}"] if set(queried) - set(listed) else []
    for key in sorted(set(listed) & set(queried)):
        if listed[key] != queried[key]:
            found.append(f"{kind}.{key}:\n  list {listed[key]!r}\n  coql {queried[key]!r}")
    return found


def test_every_kind_reads_the_same_records_through_coql_as_through_the_list_api(school: Sandbox) -> None:
    listed, list_calls, _ = read_all(school, "list")
    queried, coql_calls, used = read_all(school, "coql")
    assert {k for k, u in used.items() if not u} == LISTED, used
    assert "coql" not in list_calls and coql_calls.get("coql", 0) > 0, (list_calls, coql_calls)
    problems = [p for kind in sorted(SPECS) for p in differences(kind, listed[kind], queried[kind])]
    assert not problems, "\n".join(problems[:10])
    assert all(listed[kind] for kind in ("student", "enrollment", "class", "registration")), "the school is not empty"


def test_changed_only_reads_agree_too(school: Sandbox) -> None:
    """Both ways, after an edit and a deletion: a changed-only read of each kind of the module
    returns the same records (Modified_Time in the query) and deletions (the deleted list)."""
    store = school.zoho_store()
    newest = max(r["Modified_Time"] for r in store.all_records("BTEC_Enrollments"))
    enrollment, gone = store.all_records("BTEC_Enrollments")[5:7]
    school.edit(f"enrollment.{enrollment['id']}", {"End_Date": "2027-01-15"})
    with store.transaction():
        store.remove("BTEC_Enrollments", str(gone["id"]), display_name=None)
    since = datetime.fromisoformat(newest) + timedelta(seconds=1)

    async def changes(api: ReadApi) -> dict[str, tuple[dict[str, Record], set[str]]]:
        cid, secret, refresh = school.zoho_credentials
        client = ZohoClient(school.zoho_base_url, school.zoho_accounts_url, cid, secret, refresh, RetryPolicy(),
                            transport=school.zoho_transport())
        provider = ZohoProvider(client, read_api=api)
        try:
            return {kind: await provider.read_changes(spec, since=since) for kind, spec in sorted(SPECS.items())
                    if spec.zoho_module == "BTEC_Enrollments"}
        finally:
            await provider.aclose()

    listed, queried = asyncio.run(changes("list")), asyncio.run(changes("coql"))
    assert listed == queried
    assert all((set(records), deleted) == ({str(enrollment["id"])}, {str(gone["id"])})
               for records, deleted in queried.values()), queried


def test_the_kinds_listed_either_way_are_those_reading_every_column_of_a_subform() -> None:
    every_column = {k for k, s in SPECS.items()
                    if any(f.transform == "subform" and not f.subform_fields for f in s.fields.values())}
    assert every_column == LISTED


def test_subform_kinds_query_the_subform_module_and_get_their_rows_in_list_order(school: Sandbox) -> None:
    """The rows merged from ``FROM <subform module>`` are the list API's, row for row, in
    order: the grade kinds' outcomes are JSON lists whose order is part of the value."""
    queried, calls, used = read_all(school, "coql")
    assert all(used[kind] for kind in SUBFORM_QUERIED), used
    store = school.zoho_store()
    grade = store.all_records("BTEC_Grades")[0]
    codes = [row["LO_Code"] for row in grade["Learning_Outcomes_Assessm"]]
    outcomes = queried["grade"][str(grade["id"])].fields["learning_outcomes"]
    assert [row["LO_Code"] for row in outcomes] == codes, (outcomes, codes)
    rows = sum(len(r.get("Payment_Schedule") or []) for r in store.all_records("BTEC_Registrations"))
    assert len(queried["installment"]) == rows


@pytest.mark.parametrize("subform_read_api", ["list", "coql"])
def test_kinds_of_one_module_read_in_one_command_share_one_read_of_the_same_records(
        school: Sandbox, subform_read_api: ReadApi) -> None:
    """grade and moodle_grade both read every BTEC_Grades record with its outcome rows:
    within ``sharing_reads`` the module (and its subform module) is read once, and each
    kind's Records are those it reads alone."""
    grade, moodle_grade = SPECS["grade"], SPECS["moodle_grade"]
    reads = {"/crm/v8/coql", "/crm/v8/BTEC_Grades"}

    async def go(share: bool) -> tuple[dict[str, Record], dict[str, Record], list[str]]:
        cid, secret, refresh = school.zoho_credentials
        client = ZohoClient(school.zoho_base_url, school.zoho_accounts_url, cid, secret, refresh, RetryPolicy(),
                            transport=school.zoho_transport())
        provider = ZohoProvider(client, subform_read_api=subform_read_api)
        first = len(school.zoho_store().api_log())
        try:
            with provider.sharing_reads([grade, moodle_grade] if share else []):
                a, b = await asyncio.gather(provider.read(grade), provider.read(moodle_grade))
            paths = [e["path"] for e in school.zoho_store().api_log()[first:] if e["path"] in reads]
            return a, b, paths
        finally:
            await provider.aclose()

    alone_grade, alone_moodle, alone_paths = asyncio.run(go(share=False))
    shared_grade, shared_moodle, shared_paths = asyncio.run(go(share=True))
    assert shared_grade == alone_grade and shared_moodle == alone_moodle
    assert alone_grade and alone_moodle, "the school has grades of both kinds"
    assert len(shared_paths) * 2 == len(alone_paths), (shared_paths, alone_paths)
    grades = school.zoho_store().all_records("BTEC_Grades")
    rows = sum(len(g.get("Learning_Outcomes_Assessm") or []) for g in grades)
    expected = (math.ceil(len(grades) / 2000) + math.ceil(rows / 2000) if subform_read_api == "coql"
                else math.ceil(len(grades) / 200))
    assert len(shared_paths) == expected, (shared_paths, len(grades), rows)


@pytest.mark.parametrize("api", ["list", "coql"])
def test_every_kind_read_at_once_with_shared_reads_gives_the_records_each_reads_alone(school: Sandbox,
                                                                                   api: ReadApi) -> None:
    alone, alone_calls, _ = read_all(school, api)
    together, together_calls, _ = read_all(school, api, shared=True)
    problems = [p for kind in sorted(SPECS) for p in differences(kind, alone[kind], together[kind])]
    assert not problems, "\n".join(problems[:10])
    reads = ("list", "coql")
    assert sum(together_calls.get(op, 0) for op in reads) < sum(alone_calls.get(op, 0) for op in reads), \
        (together_calls, alone_calls)
