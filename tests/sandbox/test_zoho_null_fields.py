"""The Zoho emulator answers every requested field, null when empty, as Zoho CRM v8 does.

mzi reads a field absent from an answer as a misspelt api name (a per-record error), not
as an empty value; that is only right if the emulator, like Zoho, leaves out nothing but
names the module does not have.
"""

from __future__ import annotations

from reconciler.sandbox import Sandbox

from sandbox_calls import ZohoCall

STUDENTS = "/crm/v8/BTEC_Students"


def test_an_empty_requested_field_is_present_as_null_and_an_unknown_name_is_absent(zoho: ZohoCall, sandbox: Sandbox) -> None:
    student = sandbox.zoho_store().query("BTEC_Students", limit=1)[0]["id"]
    sandbox.edit(f"student.{student}", {"City": None})
    listing = zoho("GET", STUDENTS, params={"fields": "City,Cityy,Birth_Date", "per_page": "200"}).body["data"]
    by_id = zoho("GET", STUDENTS, params={"ids": student, "fields": "City,Cityy"}).body["data"]
    one = zoho("GET", f"{STUDENTS}/{student}", params={"fields": "City,Cityy"}).body["data"]
    for rows in (listing, by_id, one):
        assert all(set(row) == {"id", "City", "Birth_Date"} - ({"Birth_Date"} if rows is not listing else set())
                   for row in rows), rows[:2]
        assert next(row for row in rows if row["id"] == student)["City"] is None
