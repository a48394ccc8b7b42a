"""The emulated Moodle database: SQLite with Moodle's table names and ``mdl_`` prefix.

Every ``local_mzi_*`` table comes from ``moodle_plugin/db/install.xml`` through
``schema.xmldb.ddl`` (the one place the schema lives). The few core tables the web
service functions touch are declared here with the columns those functions need and
nothing more. Like Moodle, there are no foreign keys.

``open_db`` is idempotent and cheap because the demo-school generator and every
sandbox command call it: it only creates what is missing. ``seed_core`` adds the fixed
world the functions need (guest/admin/web-service users, tokens, capabilities, roles,
a category, the site course) and is idempotent too.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from ...errors import MziError
from ...schema.xmldb import Schema, ddl, load_schema

SANDBOX_TOKEN = "mzi-sandbox-token"
#: a token of a user without ``local/mzi:manage`` (for the access-exception tests)
LIMITED_TOKEN = "mzi-sandbox-limited-token"
#: the shared secret the emulated observer signs outbox payloads with (HMAC-SHA256)
SANDBOX_OUTBOX_SECRET = "mzi-sandbox-outbox-secret"

SITE_COURSE_ID = 1
DEFAULT_CATEGORY_ID = 1
SYSTEM_CONTEXT_ID = 1
GUEST_USER_ID, ADMIN_USER_ID, WS_USER_ID, LIMITED_USER_ID = 1, 2, 3, 4
#: Moodle's standard roles, plus the school's own Internal Verifier role (a custom course
#: role on a real site; its shortname is ``[moodle] iv_role``)
ROLES = {"manager": 1, "editingteacher": 3, "teacher": 4, "student": 5, "guest": 6, "user": 7,
         "internalverifier": 9}
IV_ROLE = "internalverifier"
CONTEXT_SYSTEM, CONTEXT_USER, CONTEXT_COURSECAT, CONTEXT_COURSE, CONTEXT_MODULE = 10, 30, 40, 50, 70
#: Moodle's default role_context_levels for the course context (guest and user have none)
COURSE_ROLES = ("manager", "editingteacher", "teacher", "student", "internalverifier")

#: what the web-service user may do: exactly what mzi needs (DOMAIN: a dedicated user)
WS_CAPABILITIES = (
    "local/mzi:manage",
    "moodle/course:create",
    "moodle/course:update",
    "moodle/course:visibility",
    "moodle/user:create",
    "moodle/user:viewdetails",
    "enrol/manual:enrol",
    "enrol/manual:unenrol",
    "moodle/role:assign",
    "moodle/grade:managegradingforms",
)

#: what db/access.php gives the ``user`` archetype, i.e. every logged-in user of the site
USER_CAPABILITIES = ("local/mzi:viewdashboard", "local/mzi:submitrequest")

#: plugin settings (``get_config('local_mzi', …)``) with their defaults
PLUGIN_DEFAULTS = {
    "defaultcategory": str(DEFAULT_CATEGORY_ID),
    "hidecancelledcourses": "1",
    "outboxsecret": SANDBOX_OUTBOX_SECRET,
}

CORE_DDL = (
    """CREATE TABLE IF NOT EXISTS mdl_user (
        id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE, email TEXT NOT NULL DEFAULT '',
        firstname TEXT NOT NULL DEFAULT '', lastname TEXT NOT NULL DEFAULT '',
        auth TEXT NOT NULL DEFAULT 'manual', deleted INTEGER NOT NULL DEFAULT 0,
        suspended INTEGER NOT NULL DEFAULT 0, idnumber TEXT NOT NULL DEFAULT '',
        timecreated INTEGER NOT NULL DEFAULT 0, timemodified INTEGER NOT NULL DEFAULT 0)""",
    "CREATE INDEX IF NOT EXISTS mdl_user_email_ix ON mdl_user (email COLLATE NOCASE)",
    """CREATE TABLE IF NOT EXISTS mdl_course (
        id INTEGER PRIMARY KEY, category INTEGER NOT NULL DEFAULT 0, fullname TEXT NOT NULL DEFAULT '',
        shortname TEXT NOT NULL UNIQUE, idnumber TEXT NOT NULL DEFAULT '',
        startdate INTEGER NOT NULL DEFAULT 0, enddate INTEGER NOT NULL DEFAULT 0,
        visible INTEGER NOT NULL DEFAULT 1, timecreated INTEGER NOT NULL DEFAULT 0,
        timemodified INTEGER NOT NULL DEFAULT 0)""",
    "CREATE INDEX IF NOT EXISTS mdl_course_idnumber_ix ON mdl_course (idnumber)",
    "CREATE TABLE IF NOT EXISTS mdl_course_categories (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS mdl_context (
        id INTEGER PRIMARY KEY, contextlevel INTEGER NOT NULL, instanceid INTEGER NOT NULL,
        UNIQUE (contextlevel, instanceid))""",
    """CREATE TABLE IF NOT EXISTS mdl_enrol (
        id INTEGER PRIMARY KEY, enrol TEXT NOT NULL, courseid INTEGER NOT NULL,
        status INTEGER NOT NULL DEFAULT 0, roleid INTEGER NOT NULL DEFAULT 0)""",
    "CREATE INDEX IF NOT EXISTS mdl_enrol_course_ix ON mdl_enrol (courseid, enrol)",
    """CREATE TABLE IF NOT EXISTS mdl_user_enrolments (
        id INTEGER PRIMARY KEY, enrolid INTEGER NOT NULL, userid INTEGER NOT NULL,
        status INTEGER NOT NULL DEFAULT 0, timestart INTEGER NOT NULL DEFAULT 0,
        timeend INTEGER NOT NULL DEFAULT 0, timecreated INTEGER NOT NULL DEFAULT 0,
        timemodified INTEGER NOT NULL DEFAULT 0, UNIQUE (enrolid, userid))""",
    "CREATE TABLE IF NOT EXISTS mdl_role (id INTEGER PRIMARY KEY, shortname TEXT NOT NULL UNIQUE)",
    """CREATE TABLE IF NOT EXISTS mdl_role_context_levels (
        id INTEGER PRIMARY KEY, roleid INTEGER NOT NULL, contextlevel INTEGER NOT NULL, UNIQUE (roleid, contextlevel))""",
    """CREATE TABLE IF NOT EXISTS mdl_role_assignments (
        id INTEGER PRIMARY KEY, roleid INTEGER NOT NULL, contextid INTEGER NOT NULL,
        userid INTEGER NOT NULL, component TEXT NOT NULL DEFAULT '', itemid INTEGER NOT NULL DEFAULT 0,
        timemodified INTEGER NOT NULL DEFAULT 0, UNIQUE (roleid, contextid, userid, component, itemid))""",
    """CREATE TABLE IF NOT EXISTS mdl_external_tokens (
        id INTEGER PRIMARY KEY, token TEXT NOT NULL UNIQUE, userid INTEGER NOT NULL,
        validuntil INTEGER NOT NULL DEFAULT 0)""",
    """CREATE TABLE IF NOT EXISTS mdl_mzi_capabilities (
        userid INTEGER NOT NULL, capability TEXT NOT NULL, PRIMARY KEY (userid, capability))""",
    """CREATE TABLE IF NOT EXISTS mdl_config_plugins (
        id INTEGER PRIMARY KEY, plugin TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,
        UNIQUE (plugin, name))""",
    # mod_assign and advanced grading (marking guide): the columns local_mzi reads and writes
    "CREATE TABLE IF NOT EXISTS mdl_modules (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
    """CREATE TABLE IF NOT EXISTS mdl_course_modules (
        id INTEGER PRIMARY KEY, course INTEGER NOT NULL, module INTEGER NOT NULL, instance INTEGER NOT NULL,
        visible INTEGER NOT NULL DEFAULT 1, deletioninprogress INTEGER NOT NULL DEFAULT 0)""",
    """CREATE TABLE IF NOT EXISTS mdl_assign (
        id INTEGER PRIMARY KEY, course INTEGER NOT NULL, name TEXT NOT NULL DEFAULT '',
        duedate INTEGER NOT NULL DEFAULT 0, cutoffdate INTEGER NOT NULL DEFAULT 0,
        grade INTEGER NOT NULL DEFAULT 100, attemptreopenmethod TEXT NOT NULL DEFAULT 'none',
        maxattempts INTEGER NOT NULL DEFAULT -1, markingworkflow INTEGER NOT NULL DEFAULT 0,
        timemodified INTEGER NOT NULL DEFAULT 0)""",
    "CREATE INDEX IF NOT EXISTS mdl_assign_course_ix ON mdl_assign (course)",
    """CREATE TABLE IF NOT EXISTS mdl_assign_grades (
        id INTEGER PRIMARY KEY, assignment INTEGER NOT NULL, userid INTEGER NOT NULL,
        timecreated INTEGER NOT NULL DEFAULT 0, timemodified INTEGER NOT NULL DEFAULT 0,
        grader INTEGER NOT NULL DEFAULT 0, grade TEXT DEFAULT '-1.00000', attemptnumber INTEGER NOT NULL DEFAULT 0,
        UNIQUE (assignment, userid, attemptnumber))""",
    """CREATE TABLE IF NOT EXISTS mdl_assign_submission (
        id INTEGER PRIMARY KEY, assignment INTEGER NOT NULL, userid INTEGER NOT NULL,
        timecreated INTEGER NOT NULL DEFAULT 0, timemodified INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL DEFAULT 'new', groupid INTEGER NOT NULL DEFAULT 0,
        attemptnumber INTEGER NOT NULL DEFAULT 0, latest INTEGER NOT NULL DEFAULT 0,
        UNIQUE (assignment, userid, groupid, attemptnumber))""",
    """CREATE TABLE IF NOT EXISTS mdl_assign_user_flags (
        id INTEGER PRIMARY KEY, userid INTEGER NOT NULL, assignment INTEGER NOT NULL,
        workflowstate TEXT NOT NULL DEFAULT '', extensionduedate INTEGER NOT NULL DEFAULT 0,
        UNIQUE (userid, assignment))""",
    """CREATE TABLE IF NOT EXISTS mdl_assignfeedback_comments (
        id INTEGER PRIMARY KEY, assignment INTEGER NOT NULL, grade INTEGER NOT NULL,
        commenttext TEXT, commentformat INTEGER NOT NULL DEFAULT 1)""",
    """CREATE TABLE IF NOT EXISTS mdl_scale (
        id INTEGER PRIMARY KEY, courseid INTEGER NOT NULL DEFAULT 0, userid INTEGER NOT NULL DEFAULT 0,
        name TEXT NOT NULL DEFAULT '', scale TEXT NOT NULL, timemodified INTEGER NOT NULL DEFAULT 0)""",
    """CREATE TABLE IF NOT EXISTS mdl_grading_areas (
        id INTEGER PRIMARY KEY, contextid INTEGER NOT NULL, component TEXT NOT NULL, areaname TEXT NOT NULL,
        activemethod TEXT, UNIQUE (contextid, component, areaname))""",
    """CREATE TABLE IF NOT EXISTS mdl_grading_definitions (
        id INTEGER PRIMARY KEY, areaid INTEGER NOT NULL, method TEXT NOT NULL, name TEXT NOT NULL DEFAULT '',
        description TEXT, descriptionformat INTEGER, status INTEGER NOT NULL DEFAULT 0,
        copiedfromid INTEGER, timecreated INTEGER NOT NULL DEFAULT 0, usercreated INTEGER NOT NULL DEFAULT 0,
        timemodified INTEGER NOT NULL DEFAULT 0, usermodified INTEGER NOT NULL DEFAULT 0,
        timecopied INTEGER DEFAULT 0, options TEXT, UNIQUE (areaid, method))""",
    """CREATE TABLE IF NOT EXISTS mdl_grading_instances (
        id INTEGER PRIMARY KEY, definitionid INTEGER NOT NULL, raterid INTEGER NOT NULL, itemid INTEGER,
        rawgrade TEXT, status INTEGER NOT NULL DEFAULT 0, feedback TEXT, feedbackformat INTEGER,
        timemodified INTEGER NOT NULL DEFAULT 0)""",
    """CREATE TABLE IF NOT EXISTS mdl_gradingform_guide_criteria (
        id INTEGER PRIMARY KEY, definitionid INTEGER NOT NULL, sortorder INTEGER NOT NULL,
        shortname TEXT NOT NULL, description TEXT, descriptionformat INTEGER, descriptionmarkers TEXT,
        descriptionmarkersformat INTEGER, maxscore TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS mdl_gradingform_guide_fillings (
        id INTEGER PRIMARY KEY, instanceid INTEGER NOT NULL, criterionid INTEGER NOT NULL, remark TEXT,
        remarkformat INTEGER, score TEXT NOT NULL, UNIQUE (instanceid, criterionid))""",
    """CREATE TABLE IF NOT EXISTS mdl_mzi_api_log (
        id INTEGER PRIMARY KEY, time REAL NOT NULL, wsfunction TEXT NOT NULL,
        is_write INTEGER NOT NULL, records INTEGER NOT NULL DEFAULT 0, ok INTEGER NOT NULL)""",
)


def schema_for(path: Path | None = None) -> Schema:
    """install.xml (``load_schema`` caches per file version, so open_db stays cheap)."""
    return load_schema(path)


def _existing_tables(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def create_schema(conn: sqlite3.Connection, schema: Schema) -> None:
    """Create the core tables and every install.xml table that does not exist yet."""
    for statement in CORE_DDL:
        conn.execute(statement)
    existing = _existing_tables(conn)
    for name, table in schema.tables.items():
        if f"mdl_{name}" in existing:
            continue
        for statement in ddl(table, "sqlite", prefix="mdl_"):
            conn.execute(statement)


def open_db(path: Path, *, schema_path: Path | None = None) -> sqlite3.Connection:
    """Open (creating if needed) the emulated Moodle database at ``path``.

    The connection is in autocommit mode (``isolation_level=None``) so callers decide
    their transactions with explicit ``BEGIN``/``COMMIT``; rows come back as
    ``sqlite3.Row``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("BEGIN")
    try:
        create_schema(conn, schema_for(schema_path))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return conn


def inserted_id(cursor: sqlite3.Cursor) -> int:
    """The row id an INSERT just made (sqlite3 types ``lastrowid`` Optional; after an INSERT it is set)."""
    rowid = cursor.lastrowid
    if rowid is None:
        raise MziError("INSERT reported no row id")
    return int(rowid)


def context_id(conn: sqlite3.Connection, level: int, instance: int) -> int:
    """The context row of (level, instance), created on first use like Moodle's."""
    row = conn.execute("SELECT id FROM mdl_context WHERE contextlevel = ? AND instanceid = ?", (level, instance)).fetchone()
    if row:
        return int(row[0])
    return inserted_id(conn.execute("INSERT INTO mdl_context (contextlevel, instanceid) VALUES (?, ?)", (level, instance)))


def seed_core(conn: sqlite3.Connection) -> None:
    """The fixed part of the emulated site; safe to run on every start."""
    now = int(time.time())
    conn.execute("BEGIN")
    try:
        conn.execute("INSERT OR IGNORE INTO mdl_context (id, contextlevel, instanceid) VALUES (?, ?, 0)",
                     (SYSTEM_CONTEXT_ID, CONTEXT_SYSTEM))
        users = [
            (GUEST_USER_ID, "guest", "root@localhost", "Guest user", " ", "manual"),
            (ADMIN_USER_ID, "admin", "admin@sandbox.invalid", "Admin", "User", "manual"),
            (WS_USER_ID, "mzi_ws", "mzi-ws@sandbox.invalid", "mzi", "Web service", "webservice"),
            (LIMITED_USER_ID, "mzi_limited", "mzi-limited@sandbox.invalid", "Limited", "Web service", "webservice"),
        ]
        conn.executemany(
            "INSERT OR IGNORE INTO mdl_user (id, username, email, firstname, lastname, auth, timecreated, timemodified) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [u + (now, now) for u in users])
        conn.executemany("INSERT OR IGNORE INTO mdl_external_tokens (token, userid) VALUES (?, ?)",
                         [(SANDBOX_TOKEN, WS_USER_ID), (LIMITED_TOKEN, LIMITED_USER_ID)])
        conn.executemany("INSERT OR IGNORE INTO mdl_mzi_capabilities (userid, capability) VALUES (?, ?)",
                         [(WS_USER_ID, cap) for cap in WS_CAPABILITIES] + [(ADMIN_USER_ID, cap) for cap in WS_CAPABILITIES]
                         + [(user, cap) for user in (ADMIN_USER_ID, WS_USER_ID, LIMITED_USER_ID) for cap in USER_CAPABILITIES])
        conn.executemany("INSERT OR IGNORE INTO mdl_role (id, shortname) VALUES (?, ?)",
                         [(rid, name) for name, rid in ROLES.items()])
        conn.execute("INSERT OR IGNORE INTO mdl_modules (id, name) VALUES (1, 'assign')")
        conn.executemany("INSERT OR IGNORE INTO mdl_role_context_levels (roleid, contextlevel) VALUES (?, ?)",
                         [(ROLES[name], CONTEXT_COURSE) for name in COURSE_ROLES])
        conn.execute("INSERT OR IGNORE INTO mdl_course_categories (id, name) VALUES (?, 'Category 1')", (DEFAULT_CATEGORY_ID,))
        conn.execute("INSERT OR IGNORE INTO mdl_course (id, category, fullname, shortname, timecreated, timemodified) "
                     "VALUES (?, 0, 'ABC Horizon (sandbox)', 'sandbox', ?, ?)", (SITE_COURSE_ID, now, now))
        conn.executemany("INSERT OR IGNORE INTO mdl_config_plugins (plugin, name, value) VALUES ('local_mzi', ?, ?)",
                         list(PLUGIN_DEFAULTS.items()))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def plugin_setting(conn: sqlite3.Connection, name: str) -> str:
    row = conn.execute("SELECT value FROM mdl_config_plugins WHERE plugin = 'local_mzi' AND name = ?", (name,)).fetchone()
    return str(row[0]) if row else PLUGIN_DEFAULTS.get(name, "")
