"""The ``user_link`` resource: a student's or teacher's mirror row linked to its Moodle user.

A link is the ``moodle_user_id`` of a mirror row (``local_mzi_students``,
``local_mzi_teachers``: the spec's ``target.table``). Which user it should be only Moodle
knows, so the desired side is *resolved* at plan time (:meth:`UserLinkAdapter.resolve`,
the engine's :class:`~reconciler.providers.base.Resolver` hook): every address of the
read goes to ``local_mzi_resolve_users`` at once, batched under ``max_input_vars``, and
matches case-insensitively among users that are not deleted.

The spec's match fields are tried in the order of :data:`MATCH_FIELDS` (those it lists):
a student by ``academic_email``; a teacher by ``academic_email``, then ``email``. One
user matching → the link; several → blocked (never guessed); none → blocked naming the
address, or, with ``[moodle] create_users``, a user to create (``username`` and ``auth``
set, ``moodle_user_id`` empty) — created through core ``core_user_create_users``, then
linked, in the same apply. A user deleted in Moodle no longer matches, so a link to it
is re-resolved like any other: relinked to the user who has the address now, or blocked.

The actual side is the mirror rows that hold a link (``moodle_user_id`` set); a row
without one has no link yet, so linking it is a create. Links are written through the
table's own ``local_mzi_upsert_<table>``, only into rows that exist (checked first:
the upsert would insert a bare row). Links are never deleted by mzi (policy ``keep``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..batches import Batch, Gate, ResultSink, failed, run_batches
from ..errors import TerminalError
from ..mapping import MappingError, record_from_moodle
from ..model import Action, Address, Change, Record, Result
from ..specs import Spec

if TYPE_CHECKING:
    from .moodle import MoodleProvider

#: the fields a user_link spec may name. ``moodle_user_id``: the linked user (resolved);
#: ``academic_email``/``email``: the addresses matched, in this order; ``firstname``,
#: ``lastname`` or ``fullname`` (split at its last space): the names of a user mzi creates;
#: ``username``, ``auth``: set at plan time only for a user mzi will create
USER_LINK_FIELDS = frozenset({"moodle_user_id", "academic_email", "email", "firstname", "lastname", "fullname",
                              "username", "auth"})
MATCH_FIELDS = ("academic_email", "email")
LINK = "moodle_user_id"
RESOLVE = "local_mzi_resolve_users"
CREATE = "core_user_create_users"
#: what Moodle's PARAM_USERNAME keeps (without extendedusernamechars)
_USERNAME_DROP = re.compile(r"[^a-z0-9@._-]")


class UserLinkAdapter:
    """Resolves, reads and writes user links for :class:`MoodleProvider`."""

    def __init__(self, provider: "MoodleProvider", create_users: bool, auth: str) -> None:
        self.provider = provider
        self.create_users = create_users
        self.auth = auth

    # -------------------------------------------------------------- resolving (plan time)

    async def lookup(self, emails: Collection[str]) -> dict[str, tuple[int, bool]]:
        """Lower-cased address → (user id or 0, several users have it), in batches."""
        wanted = sorted({e.lower() for e in emails if e})
        if not wanted:
            return {}
        answers = await self.provider._batched(RESOLVE, "emails", wanted, result_key="users")
        found = {str(a["email"]).lower(): (int(a["userid"]) if a["found"] else 0, bool(a["multiple"]))
                 for a in answers if a is not None}
        short = [e for e in wanted if e not in found]
        if short:
            raise TerminalError(f"Moodle answered {RESOLVE} for {len(wanted) - len(short)} of {len(wanted)} addresses "
                                f"(first missing: {short[0]}); is PHP's max_input_vars below mzi.toml's?")
        return found

    async def resolve(self, spec: Spec, desired: dict[str, Record]) -> dict[str, Record]:
        """Each desired link completed with its Moodle user, or a user to create, or why not."""
        matchers = [f for f in MATCH_FIELDS if f in spec.fields]
        readable = [r for r in desired.values() if not r.error]
        found = await self.lookup([str(r.fields[f]) for r in readable for f in matchers if r.fields.get(f)])
        return {key: (record if record.error else self._resolved(spec, matchers, record, found))
                for key, record in desired.items()}

    def _resolved(self, spec: Spec, matchers: list[str], record: Record,
                  found: dict[str, tuple[int, bool]]) -> Record:
        addresses = [(f, str(record.fields[f])) for f in matchers if record.fields.get(f)]
        for field, email in addresses:
            userid, several = found.get(email.lower(), (0, False))
            if several:
                return replace(record, blocked=f"several Moodle users have the {_said(field)} {email}; "
                                               "mzi does not guess: leave one user with it")
            if userid:
                return replace(record, fields=record.fields | {LINK: userid, "username": None, "auth": None})
        if not addresses:
            return replace(record, blocked=f"has no {' and no '.join(_said(f) for f in matchers)} in "
                                           f"{spec.source.system.capitalize()} to match a Moodle user by")
        shown = " or the ".join(f"{_said(f)} {e}" for f, e in addresses)
        if not self.create_users:
            return replace(record, blocked=f"no Moodle user has the {shown} ([moodle] create_users is off)")
        first, last = _names(record.fields)
        if not first or not last:
            return replace(record, blocked=f"no Moodle user has the {shown}, and one cannot be created "
                                           "without a first and a last name")
        email = addresses[0][1]
        return replace(record, fields=record.fields | {LINK: None, "username": _username(email), "auth": self.auth})

    # -------------------------------------------------------------- reading (actual links)

    async def rows(self, spec: Spec, keys: Collection[str] | None = None) -> list[dict[str, Any]]:
        """The mirror rows of ``spec``'s table, all or those of ``keys`` (chunked like any mirror read)."""
        from .moodle import function_names

        return await self.provider.paged(function_names(spec.moodle_table)["get"], keys)

    async def read(self, spec: Spec, keys: Collection[str] | None = None) -> dict[str, Record]:
        """The links that exist: mirror rows whose ``moodle_user_id`` is set."""
        records: dict[str, Record] = {}
        for row in await self.rows(spec, keys):
            if not row.get(LINK):
                continue
            try:
                record = record_from_moodle(spec, {name: row.get(name) for name in (*spec.key.columns, *MATCH_FIELDS, LINK)})
            except MappingError as exc:
                record = Record.unreadable(exc.address, str(exc))
            records[record.address.key] = record
        return records

    # -------------------------------------------------------------- writing

    async def apply(self, spec: Spec, changes: Sequence[Change], *,
                    on_results: ResultSink | None = None, gate: Gate | None = None) -> list[Result]:
        """Create the users to create, then write every link; one Result per change.

        A link is written only into a mirror row that exists; a user that could not be
        created leaves its link unwritten (failed). Deletes and blocked changes are refused.
        """
        gate = gate if gate is not None else Gate()
        writes = [c for c in changes if c.action in (Action.CREATE, Action.UPDATE)]
        done: dict[Address, Result] = {}
        for change in changes:
            if change.action not in (Action.CREATE, Action.UPDATE):
                done[change.address] = Result(change.address, change.action, False, "skipped",
                                              f"user links are never {change.action.verb}d by mzi"
                                              if change.action is Action.DELETE else
                                              f"the Moodle provider does not carry out {change.action.verb!r} changes")
        existing = {r.address.key for r in await self._row_keys(spec, [c.address.key for c in writes])}
        for change in writes:
            if change.address.key not in existing:
                done[change.address] = Result(change.address, change.action, False, "error",
                                              f"{spec.moodle_table} has no row {change.address.key} to link; "
                                              f"the kind it depends on must be applied first")
        ready = [c for c in writes if c.address not in done]
        userids, refused = await self._create_users(ready, gate)
        done |= refused
        links = [c for c in ready if c.address not in done]
        if on_results is not None and done:
            on_results(list(done.values()))
        rows = [{spec.key.columns[0]: c.address.key, LINK: userids.get(c.address, (c.after or {}).get(LINK))}
                for c in links]
        from .moodle import function_names

        batches = self.provider._write_batches(function_names(spec.moodle_table)["upsert"], "records", links, rows)
        linked = await run_batches(batches, limit=self.provider.client.policy.concurrency, gate=gate,
                                   on_results=on_results)
        done |= {r.address: r for r in linked}
        return [done[c.address] for c in changes]

    async def _row_keys(self, spec: Spec, keys: list[str]) -> list[Record]:
        if not keys:
            return []
        return [Record(Address(spec.kind, str(row[spec.key.columns[0]])), {}) for row in await self.rows(spec, keys)]

    async def _create_users(self, changes: list[Change], gate: Gate) -> tuple[dict[Address, int], dict[Address, Result]]:
        """Users for the changes that plan one: (their new ids, Results of those that failed)."""
        wanted = [c for c in changes if (c.after or {}).get("username") and not (c.after or {}).get(LINK)]
        users = [self._user(c.after or {}) for c in wanted]
        created: dict[Address, int] = {}
        batches = []
        start = 0
        from .moodle import pack

        for part in pack(users, self.provider.budget):
            mine = wanted[start:start + len(part)]
            start += len(part)

            async def send(part: list[dict[str, Any]] = part, mine: list[Change] = mine) -> list[Result]:
                return await self._send_users(part, mine, created)

            batches.append(Batch(mine, send))
        outcomes = await run_batches(batches, limit=self.provider.client.policy.concurrency, gate=gate)
        return created, {r.address: r for r in outcomes if not r.ok}

    async def _send_users(self, users: list[dict[str, Any]], changes: list[Change],
                          created: dict[Address, int]) -> list[Result]:
        """One ``core_user_create_users`` call; as core refuses the whole call for one bad user,
        a refused call of several is retried one user per call so each fails only itself."""
        from .moodle import MoodleError

        try:
            answer = await self.provider.call(CREATE, {"users": users})
        except MoodleError as exc:
            if len(users) == 1:
                return failed(changes, str(exc))
            results: list[Result] = []
            for user, change in zip(users, changes):
                results += await self._send_users([user], [change], created)
            return results
        ids = {str(u.get("username")): int(u.get("id", 0)) for u in answer or []}
        results = []
        for user, change in zip(users, changes):
            userid = ids.get(user["username"], 0)
            if userid:
                created[change.address] = userid
                results.append(Result(change.address, change.action, True, "created"))
            else:
                results.append(Result(change.address, change.action, False, "error",
                                      f"Moodle did not report the user {user['username']} as created"))
        return results

    def _user(self, after: dict[str, Any]) -> dict[str, Any]:
        first, last = _names(after)
        email = next(str(after[f]) for f in MATCH_FIELDS if after.get(f))
        user: dict[str, Any] = {"username": after["username"], "email": email, "firstname": first, "lastname": last,
                                "auth": after.get("auth") or self.auth}
        if user["auth"] == "manual":
            user["createpassword"] = 1  # Moodle mails the new user a password
        return user


def _said(field: str) -> str:
    return field.replace("_", " ")


def _names(fields: dict[str, Any]) -> tuple[str, str]:
    """First and last name: the spec's own fields, else its ``fullname`` split at the last space."""
    first, last = str(fields.get("firstname") or "").strip(), str(fields.get("lastname") or "").strip()
    if first or last or not fields.get("fullname"):
        return first, last
    head, _, tail = str(fields["fullname"]).strip().rpartition(" ")
    return head.strip(), tail.strip()


def _username(email: str) -> str:
    """A Moodle username from an address: lower case, only the characters PARAM_USERNAME keeps."""
    return _USERNAME_DROP.sub("", email.strip().lower())
