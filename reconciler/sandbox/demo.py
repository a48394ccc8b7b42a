"""The demo school: a deterministic ABC Horizon for the sandbox, tests and benchmarks.

``generate(students, seed)`` builds the Zoho side — programmes, BTEC units with their
P/M/D criteria, teachers, students (Arabic and Latin names, Jordanian cities, phones and
national numbers), registrations with their payment schedule, payments, classes,
enrollments, grades with learning outcomes, student requests — following the real
org's metadata (``zoho_fields.json``): every picklist value comes from it, every lookup
points at a record of the module it names.

``install(sandbox_dir, school)`` writes it into the Zoho store and derives the Moodle
side *through the specs* (``record_from_zoho`` + ``moodle_row``), so the part that is
in sync is exactly in sync by construction, and then spoils it on purpose so the first
plan has something to say:

- ~70 % of records present in Moodle and identical (``in_sync``);
- ~10 % present with one or two fields edited by hand in Moodle (``drifted``);
- ~20 % absent from Moodle (``missing``: to be created);
- a few Moodle rows whose Zoho record was deleted (``orphan``: in Zoho's deleted list);
- with ``blocked_example=True`` (``[sandbox] blocked_example`` in mzi.toml), exactly one
  enrollment whose student was deleted *permanently* from Zoho and never reached Moodle —
  the plan shows it ``blocked``, naming the student. Off by default: a blocked record
  cannot be applied away, and the demo must reach "No changes." after one apply.

Determinism: one ``random.Random`` per concern, seeded from ``(seed, concern)``; a fixed
base date (2026-09-01, Amman time); no clock, no global RNG, no set iteration order.
The same seed gives byte-identical ``DemoSchool.to_json()``.
"""

from __future__ import annotations

import json
import random
import sqlite3
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from ..mapping import moodle_row, record_from_zoho, subform_records
from ..specs import Spec, load_specs
from .demo_enrolments import install_enrolments
from .demo_grades import install_grades
from .demo_users import install_users
from .zoho.metadata import AUTONUMBER_PREFIX, load_metadata
from .zoho.store import ORG_ZONE, ZohoStore, format_id, zoho_time

ZOHO_DB = "zoho.sqlite"
MOODLE_DB = "moodle.sqlite"
BASE_DATE = date(2026, 9, 1)
BASE_TS = datetime(2026, 9, 1, 9, 0, tzinfo=ORG_ZONE).timestamp()
DOMAIN = "abchorizon.edu.jo"
FIRST_ID = 100_001
FIRST_MOODLE_USER = 100

#: how the Moodle side relates to a Zoho record
IN_SYNC, DRIFTED, MISSING, ORPHAN = "in_sync", "drifted", "missing", "orphan"
#: orphans per module: Moodle rows whose Zoho record was deleted (recycle bin)
ORPHANS = {"BTEC_Students": 3, "BTEC_Classes": 1, "BTEC_Enrollments": 3, "BTEC_Registrations": 2,
           "BTEC_Payments": 2, "BTEC_Teachers": 1, "BTEC_Grades": 1, "BTEC_Student_Requests": 1,
           "Products": 1, "BTEC": 2}
#: the catalogue at full size (1,500 students); smaller schools get fewer, never below the core
FULL_PROGRAMS, STUDENTS_PER_PROGRAM, STUDENTS_PER_TEACHER = 30, 50, 25
#: the unit criteria Zoho has room for: P1..P10, M1..M9, D1..D6
CRITERIA_SLOTS = {"P": 10, "M": 9, "D": 6}
#: graded assignments per class (one Zoho grade per student per assignment)
ASSIGNMENTS_PER_CLASS = 2
#: fields a person would plausibly retouch in Moodle, tried first when drifting a row
DRIFT_HINTS = ("city", "class_name", "classroom", "display_name", "enrolled_program", "address", "phone_number")

MALE = [("Mohammad", "محمد"), ("Ahmad", "أحمد"), ("Omar", "عمر"), ("Khaled", "خالد"), ("Yousef", "يوسف"),
        ("Ali", "علي"), ("Hamza", "حمزة"), ("Zaid", "زيد"), ("Laith", "ليث"), ("Ibrahim", "إبراهيم"),
        ("Mahmoud", "محمود"), ("Hasan", "حسن"), ("Tareq", "طارق"), ("Saleh", "صالح"), ("Anas", "أنس"),
        ("Faris", "فارس"), ("Mustafa", "مصطفى"), ("Abdullah", "عبدالله"), ("Bilal", "بلال"), ("Osama", "أسامة")]
FEMALE = [("Lina", "لينا"), ("Sara", "سارة"), ("Rania", "رانيا"), ("Noor", "نور"), ("Dana", "دانا"),
          ("Hala", "هالة"), ("Rawan", "روان"), ("Aya", "آية"), ("Leen", "لين"), ("Yasmeen", "ياسمين"),
          ("Farah", "فرح"), ("Reem", "ريم"), ("Mais", "ميس"), ("Tala", "تالا"), ("Salma", "سلمى"),
          ("Hiba", "هبة"), ("Layan", "ليان"), ("Maryam", "مريم"), ("Zeina", "زينة"), ("Ruba", "ربى")]
FAMILY = [("Haddad", "حداد"), ("Al-Khatib", "الخطيب"), ("Nasser", "ناصر"), ("Al-Masri", "المصري"),
          ("Khalil", "خليل"), ("Odeh", "عودة"), ("Al-Zoubi", "الزعبي"), ("Obeidat", "عبيدات"),
          ("Al-Momani", "المومني"), ("Qasem", "قاسم"), ("Hijazi", "حجازي"), ("Abu-Ghazaleh", "أبو غزالة"),
          ("Al-Tamimi", "التميمي"), ("Bani Hani", "بني هاني"), ("Al-Shdeifat", "الشديفات"),
          ("Al-Rawashdeh", "الرواشدة"), ("Al-Abbadi", "العبادي"), ("Jaber", "جابر"), ("Mansour", "منصور"),
          ("Al-Hourani", "الحوراني"), ("Kanaan", "كنعان"), ("Al-Smadi", "الصمادي"), ("Darwish", "درويش")]
CITIES = [("Amman", 45, ["Khalda", "Jubeiha", "Sweifieh", "Tla' Al-Ali", "Marka", "Shmeisani", "Abu Nseir"]),
          ("Irbid", 15, ["University Street", "Al-Husn", "Al-Nuzha"]), ("Zarqa", 12, ["New Zarqa", "Al-Ghuwairiyah"]),
          ("Aqaba", 5, ["Al-Rimal", "Tenth Area"]), ("Salt", 5, ["Al-Balqa"]), ("Madaba", 4, ["Downtown"]),
          ("Jerash", 3, ["Souf"]), ("Mafraq", 3, ["Al-Hamra"]), ("Karak", 4, ["Al-Mazar"]),
          ("Ajloun", 2, ["Anjara"]), ("Ma'an", 2, ["Al-Tayba"])]
NATIONALITIES = [("Jordan", 80), ("Palestine", 6), ("Syria", 5), ("Iraq", 4), ("Egypt", 2), ("Lebanon", 1),
                 ("Saudi Arabia", 2)]
MAIL_DOMAINS = ("gmail.com", "hotmail.com", "yahoo.com", "outlook.com")

UNIT_POOLS = {
    "BUS": ["Business and the Business Environment", "Marketing Processes and Planning", "Human Resource Management",
            "Leadership and Management", "Accounting Principles", "Managing a Successful Business Project",
            "Financial Reporting", "Management Accounting", "Organisational Behaviour",
            "Business Law", "Entrepreneurship and Small Business Management", "Operations and Project Management"],
    "IT": ["Programming", "Networking", "Professional Practice", "Database Design & Development", "Security",
           "Planning a Computing Project", "Software Development Lifecycles", "Website Design & Development",
           "Data Structures & Algorithms", "Cloud Computing", "Data Analytics", "Application Development"],
    "AD": ["Professional Development", "Contextual Studies", "Individual Project (Pearson-set)",
           "Techniques & Processes", "Communication in Art & Design", "Typography", "Visual Narratives",
           "Digital Design Practices", "Materials, Methods and Techniques"],
    "Strategic Management and Leadership": [
        "Developing Strategic Management and Leadership Skills", "Strategic Change Management",
        "Research Methods for Strategic Managers", "Creative and Innovative Management",
        "Strategic Marketing Management", "Project Management: The Strategic Perspective",
        "Finance for Strategic Managers", "Strategic Human Resource Management"],
    "L3": ["Information Technology Systems", "Creating Systems to Manage Information", "Using Social Media in Business",
           "Programming", "IT Project Management", "Website Development", "Data Modelling",
           "Cyber Security", "Digital Graphics and Animation"],
}


@dataclass(frozen=True)
class ProgramDef:
    """A programme of the school and the picklist values that go with it."""

    name: str
    program_major: str
    sub_major: str | None
    student_major: str
    level: str
    unit_major: str
    price: float
    program_type: str | None = None
    weight: int = 1


PROGRAMS = [
    ProgramDef("Pearson BTEC Level 5 HND in Business", "Business", "Business Management", "Business", "Level 5",
               "BUS", 4800, weight=5),
    ProgramDef("Pearson BTEC Level 5 HND in Business (Accounting & Finance)", "Business", "Accounting & Finance",
               "Business", "Level 5", "BUS", 4800, weight=2),
    ProgramDef("Pearson BTEC Level 5 HND in Computing", "IT", "Software Engineering", "Computing", "Level 5", "IT",
               5200, weight=4),
    ProgramDef("Pearson BTEC Level 5 HND in Computing (Cyber Security)", "IT", "Cyber Security", "Computing",
               "Level 5", "IT", 5200, weight=2),
    ProgramDef("Pearson BTEC Level 5 HND in Art & Design", "Art & Design", "Graphic Design Diploma", "Art & Design",
               "Level 5", "AD", 5000, weight=1),
    ProgramDef("BTEC Level 7 Diploma in Strategic Management and Leadership", "Business",
               "Strategic leadership & Management", "Strategic Management and Leadership", "Level 7",
               "Strategic Management and Leadership", 3900, program_type="Level 7", weight=1),
    ProgramDef("Pearson BTEC Level 3 National Extended Diploma in IT", "Extended Diploma", None, "Computing",
               "Level 3", "L3", 3000, weight=2),
]


def _more_programs() -> list[ProgramDef]:
    """The rest of the catalogue: an HND per pathway of the org's sub-major picklist, then
    the core programmes taught in Arabic (some prices with cents, as the price list has)."""
    hnd = [("Business", "Business", "BUS", 4800, ["Marketing", "Human Resources Management", "Operations Management",
                                                 "Entrepreneurship and Small Business Administration", "Business Law",
                                                 "Business Administrations", "Procurement and supply Management"]),
           ("Computing", "IT", "IT", 5200, ["Computer Science", "Intelligent Systems", "Data Analytics",
                                           "Application Development", "Network Engineering"]),
           ("Art & Design", "Art & Design", "AD", 5000, ["Fashion Diploma", "Interior Design Diploma",
                                                        "Product Design Diploma", "Textile Diploma"])]
    more = [ProgramDef(f"Pearson BTEC Level 5 HND in {subject} ({sub})", major, sub, subject, "Level 5", unit_major,
                       price + 250 * (index % 3))
            for subject, major, unit_major, price, subs in hnd for index, sub in enumerate(subs)]
    more += [ProgramDef(f"{core.name} - Arabic delivery", core.program_major, core.sub_major, core.student_major,
                        core.level, core.unit_major, core.price - 350 + 0.5 * (index % 2), core.program_type)
             for index, core in enumerate(PROGRAMS)]
    return more


CATALOGUE = PROGRAMS + _more_programs()


@dataclass
class DemoSchool:
    """The generated school: Zoho records by module, Zoho's deleted list, Moodle users,
    and the fate of each record on the Moodle side.

    ``records`` and ``deleted`` hold exactly what the Zoho API would return (lookups as
    ``{"id", "name"}``, subform rows with ``id``); a recycled deleted entry keeps the
    record under ``data`` so the Moodle orphan row can be derived from it.
    """

    seed: int
    students: int
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    deleted: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    moodle_users: list[dict[str, Any]] = field(default_factory=list)
    fates: dict[str, dict[str, str]] = field(default_factory=dict)
    #: (enrollment id, id of the permanently deleted student it names)
    blocked: tuple[str, str] = ("", "")
    #: requests students submitted in the Moodle dashboard that mzi has not sent to Zoho yet:
    #: ``local_mzi_requests`` rows (origin moodle, no Zoho id), numbered when installed
    moodle_requests: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> str:
        """Canonical text of everything generated: the determinism tests compare it."""
        data = {"seed": self.seed, "students": self.students, "records": self.records, "deleted": self.deleted,
                "moodle_users": self.moodle_users, "fates": self.fates, "blocked": list(self.blocked),
                "moodle_requests": self.moodle_requests}
        return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    def record(self, module: str, record_id: str) -> dict[str, Any] | None:
        return next((r for r in self.records.get(module, []) if r["id"] == record_id), None)


def _weighted(rng: random.Random, options: list[tuple[str, int]]) -> str:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


def _ascii(name: str) -> str:
    return name.lower().replace(" ", "").replace("'", "")


class _Generator:
    """Builds one school; each ``_make_*`` adds records of one module."""

    def __init__(self, students: int, seed: int) -> None:
        self.blocked_example = False
        self.n_students = students
        self.seed = seed
        self.rng = random.Random(f"{seed}:school")
        self.next_id = FIRST_ID
        self.next_user = FIRST_MOODLE_USER
        self.numbers: dict[str, int] = {}
        self.school = DemoSchool(seed=seed, students=students)
        self.meta = load_metadata()
        self.users_by_email: dict[str, int] = {}

    # -------------------------------------------------------------- small helpers

    def new_id(self) -> str:
        value = format_id(self.next_id)
        self.next_id += 1
        return value

    def autonumber(self, module: str) -> str:
        self.numbers[module] = self.numbers.get(module, 0) + 1
        return f"{AUTONUMBER_PREFIX[module]}{self.numbers[module]:06d}"

    def pick(self, module: str, api_name: str, options: list[tuple[str, int]]) -> str:
        """A weighted picklist value, refused loudly if the org's picklist lacks it."""
        value = _weighted(self.rng, options)
        allowed = self.meta[module].picklist(api_name)
        if allowed and value not in allowed:
            raise ValueError(f"{module}.{api_name}: {value!r} is not in the org's picklist")
        return value

    def times(self, earliest_days: int = 120) -> dict[str, str]:
        created = BASE_TS - self.rng.randint(2, earliest_days) * 86400 - self.rng.randint(0, 36000)
        modified = created + self.rng.randint(0, int(BASE_TS - created - 3600))
        return {"Created_Time": zoho_time(created), "Modified_Time": zoho_time(modified)}

    def add(self, module: str, record: dict[str, Any]) -> dict[str, Any]:
        self.school.records.setdefault(module, []).append(record)
        return record

    def phone(self) -> str:
        return f"+9627{self.rng.choice('789')}{self.rng.randint(0, 9_999_999):07d}"

    def day(self, start: date, span: int) -> str:
        return (start + timedelta(days=self.rng.randint(0, span))).isoformat()

    def moodle_user(self, email: str, first: str, last: str, probability: float = 0.9) -> int | None:
        """A Moodle account for this person (~90 %), matched later by academic email."""
        if self.rng.random() >= probability:
            return None
        user_id = self.next_user
        self.next_user += 1
        shown = email if self.rng.random() > 0.05 else email[:1].upper() + email[1:]  # case must not matter
        self.school.moodle_users.append({
            "id": user_id, "username": email.lower(), "email": shown, "firstname": first, "lastname": last,
            "auth": "manual", "idnumber": "", "timecreated": int(BASE_TS) - 86400 * 30, "timemodified": int(BASE_TS) - 86400 * 30,
        })
        self.users_by_email[email.lower()] = user_id
        return user_id

    @staticmethod
    def ref(record: dict[str, Any], name_field: str = "Name") -> dict[str, str]:
        return {"id": record["id"], "name": str(record[name_field])}

    # -------------------------------------------------------------- catalogue

    def make_programs(self) -> None:
        count = min(FULL_PROGRAMS, max(len(PROGRAMS), round(self.n_students / STUDENTS_PER_PROGRAM)))
        self.programs: list[tuple[ProgramDef, dict[str, Any]]] = []
        for definition in CATALOGUE[:count]:
            self.programs.append((definition, self.add("Products", self.program(definition))))

    def program(self, definition: ProgramDef) -> dict[str, Any]:
        # the org's picklists answer "-None-" when nobody chose a value
        return {"id": self.new_id(), "Product_Name": definition.name, "Program_ID": self.autonumber("Products"),
                "Program_Major": definition.program_major, "Program_Sub_Major": definition.sub_major or "-None-",
                "Program_Type": definition.program_type or ("-None-" if self.rng.random() < 0.5 else None),
                "Program_Price": float(definition.price), "Unit_Price": float(definition.price),
                "Status": self.pick("Products", "Status", [("Approved", 90), ("Draft", 10)]),
                "Product_Sub_Category": "Advanced" if definition.level == "Level 7" else "None",
                "Description": f"{definition.name} — ABC Horizon, Amman.", **self.times(400)}

    def criteria(self, topic: str) -> dict[str, str | None]:
        objects = [f"the key concepts of {topic}", f"the role of {topic} in a given organisation",
                   f"how {topic} supports organisational objectives", f"the tools and techniques used in {topic}",
                   f"the legal and ethical issues of {topic}", f"a plan applying {topic} to a real case",
                   f"the impact of technology on {topic}", f"the stakeholders involved in {topic}"]
        verbs = {"P": ["Explain", "Describe", "Identify", "Produce", "Outline", "Discuss"],
                 "M": ["Analyse", "Assess", "Compare", "Justify"],
                 "D": ["Critically evaluate", "Evaluate", "Critically analyse"]}
        counts = {"P": self.rng.randint(4, 8), "M": self.rng.randint(2, 4), "D": self.rng.randint(1, 3)}
        out: dict[str, str | None] = {}
        for letter, slots in CRITERIA_SLOTS.items():
            for number in range(1, slots + 1):
                text = f"{self.rng.choice(verbs[letter])} {self.rng.choice(objects)}." if number <= counts[letter] else None
                out[f"{letter}{number}_description"] = text
        return out

    def make_units(self) -> None:
        self.units: dict[str, list[dict[str, Any]]] = {}
        for definition, program in self.programs:
            pool = UNIT_POOLS[definition.unit_major]
            chosen = sorted(self.rng.sample(range(len(pool)), k=min(self.rng.randint(6, 8), len(pool))))
            for number in chosen:
                self.units.setdefault(program["id"], []).append(self.add("BTEC", self.unit(definition, program, number)))
        self.unit_by_id = {u["id"]: u for units in self.units.values() for u in units}

    def unit(self, definition: ProgramDef, program: dict[str, Any], number: int) -> dict[str, Any]:
        name = UNIT_POOLS[definition.unit_major][number]
        code = f"{self.rng.choice('ADFHJKLMRTY')}/{self.rng.randint(600, 618)}/{self.rng.randint(1000, 9999)}"
        return {"id": self.new_id(), "Name": name, "Unit_Code": code, "Unit_Number": str(number + 1),
                "Unit_Level": definition.level, "Unit_Major": definition.unit_major,
                "Unit_Credit": "20" if definition.level == "Level 7" else "15", "Service_Type": "BTEC",
                "Program": self.ref(program, "Product_Name"), **self.criteria(name.lower()), **self.times(400)}

    # -------------------------------------------------------------- people

    def person(self) -> tuple[str, tuple[str, str], tuple[str, str]]:
        gender = "Male" if self.rng.random() < 0.52 else "Female"
        first = self.rng.choice(MALE if gender == "Male" else FEMALE)
        return gender, first, self.rng.choice(FAMILY)

    def make_teachers(self, count: int) -> None:
        self.teachers: list[dict[str, Any]] = []
        for index in range(count):
            self.teachers.append(self.add("BTEC_Teachers", self.teacher(index)))
        self.teacher_by_id = {t["id"]: t for t in self.teachers}

    def teacher(self, index: int) -> dict[str, Any]:
        _gender, (first, first_ar), (last, last_ar) = self.person()
        arabic = self.rng.random() < 0.25  # entered with the Arabic spelling
        title = ("د. " if arabic else "Dr. ") if self.rng.random() < 0.4 else ""
        shown = f"{first_ar} {last_ar}" if arabic else f"{first} {last}"
        academic = f"{_ascii(first)}.{_ascii(last)}.t{index + 1}@{DOMAIN}"
        self.moodle_user(academic, first, last)
        return {"id": self.new_id(), "Name": f"{title}{shown}", "Email": f"{_ascii(first)}{_ascii(last)}@gmail.com",
                "Academic_Email": academic, "Phone_Number": self.phone(), "Currency": "USD", **self.times(600)}

    def student(self, index: int, program: tuple[ProgramDef, dict[str, Any]]) -> dict[str, Any]:
        definition, product = program
        gender, (first, first_ar), (last, last_ar) = self.person()
        arabic = self.rng.random() < 0.35  # registered with the Arabic spelling
        city, _weight, districts = self.rng.choices(CITIES, weights=[c[1] for c in CITIES])[0]
        nationality = self.pick("BTEC_Students", "Nationality", NATIONALITIES)
        birth = date(1995, 1, 1) + timedelta(days=self.rng.randint(0, 365 * 13))
        academic = f"{_ascii(first)}.{_ascii(last)}{index + 1}@{DOMAIN}"
        father, _ = self.rng.choice(MALE)
        shown_first, shown_last = (first_ar, last_ar) if arabic else (first, last)
        record = {
            "id": self.new_id(), "Name": self.autonumber("BTEC_Students"),
            "First_Name": shown_first, "Last_Name": shown_last, "Display_Name": f"{shown_first} {shown_last}",
            "Frist_Name_Native": first_ar, "Last_Name_Native": last_ar, "Father_Name": father,
            "Academic_Email": academic, "Email": f"{_ascii(first)}{_ascii(last)}{self.rng.randint(1, 99)}@{self.rng.choice(MAIL_DOMAINS)}",
            "Phone_Number": self.phone(), "City": city,
            "Address": f"{self.rng.choice(districts)}, Street {self.rng.randint(1, 60)}, Building {self.rng.randint(1, 40)}",
            "Nationality": nationality, "Country": "Jordan", "Birth_Date": birth.isoformat(), "Gender": gender,
            "Status": self.pick("BTEC_Students", "Status", [("Active", 70), ("Registered", 10), ("approved", 5),
                                                            ("Freezed", 5), ("Graduated", 5), ("Withdraw", 5)]),
            "National_Number": f"{birth.year}{self.rng.randint(0, 999_999):06d}" if nationality == "Jordan" else None,
            "Passport_Number": None if nationality == "Jordan" else f"N{self.rng.randint(1_000_000, 9_999_999)}",
            "Emergency_Contact_Name": f"{father} {last}", "Emergency_Phone_Number": self.phone(),
            "Major": definition.student_major, "Sub_Major": definition.sub_major,
            "Academic_Program": definition.level,
            "Study_Language": self.pick("BTEC_Students", "Study_Language", [("English", 60), ("Arabic", 40)]),
            "Study_Mode": self.pick("BTEC_Students", "Study_Mode", [("Onsite", 70), ("Online", 15), ("Blended", 15)]),
            "Service_Type": "BTEC", "Desired_Award": "BTEC", "Intake": "September 2026",
            "Registration_Date": self.day(BASE_DATE - timedelta(days=150), 140),
            "Program": self.ref(product, "Product_Name"), **self.times(),
        }
        self.moodle_user(academic, first, last)
        return record

    def make_students(self) -> None:
        weights = [d.weight for d, _ in self.programs]
        self.students: list[tuple[dict[str, Any], tuple[ProgramDef, dict[str, Any]]]] = []
        for index in range(self.n_students):
            program = self.rng.choices(self.programs, weights=weights)[0]
            self.students.append((self.add("BTEC_Students", self.student(index, program)), program))

    # -------------------------------------------------------------- money

    def make_registrations(self) -> None:
        self.registrations: list[dict[str, Any]] = []
        for student, (definition, product) in self.students:
            self.registrations.append(self.add("BTEC_Registrations", self.registration(student, definition, product)))
            if self.rng.random() < 0.1:  # an earlier programme, finished
                older = self.registration(student, definition, product, status="Graduated")
                self.registrations.append(self.add("BTEC_Registrations", older))

    def registration(self, student: dict[str, Any], definition: ProgramDef, product: dict[str, Any],
                     status: str | None = None) -> dict[str, Any]:
        discount = self.rng.random() < 0.25
        percent = self.rng.choice([10, 15, 20]) if discount else 0
        total = definition.price * (100 - percent) / 100
        registered = date.fromisoformat(student["Registration_Date"])
        schedule, paid = [], 0.0
        for number in range(1, 5):
            due = registered + timedelta(days=30 * (number - 1))
            amount = round(total / 4, 2)
            state = "Paid" if due < BASE_DATE and self.rng.random() < 0.85 else ("Overdue" if due < BASE_DATE else "Pending")
            paid += amount if state == "Paid" else 0
            schedule.append({"id": self.new_id(), "Installment_Number": number, "Due_Date": due.isoformat(),
                             "Amount": amount, "Status": state,
                             "Paid_Date": (due + timedelta(days=self.rng.randint(0, 5))).isoformat() if state == "Paid" else None})
        return {
            "id": self.new_id(), "Name": self.autonumber("BTEC_Registrations"),
            "First_Name": student["First_Name"], "Last_Name": student["Last_Name"],
            "Student_ID": self.ref(student), "Program": self.ref(product, "Product_Name"),
            "Registration_Date": registered.isoformat(),
            "Registration_Status": status or self.pick("BTEC_Registrations", "Registration_Status",
                                                       [("Active", 75), ("New", 10), ("Freeze", 5), ("Graduated", 5), ("Withdraw", 5)]),
            "Study_Mode": "-None-" if self.rng.random() < 0.03 else student["Study_Mode"],
            "Study_Language": student["Study_Language"],
            "Program_Price": f"{definition.price:,.2f}", "Discount": discount,
            "Discount_Percentage": str(percent) if discount else None,
            "Discount_Reason": "Sibling discount" if discount else None,
            "Remaining_Amount": f"{total - paid:,.2f}", "Currency": "USD", "Intake": "September 2026",
            "BTEC_Reg_No": f"JO-{registered.year}-{self.rng.randint(10000, 99999)}",
            "Payment_Schedule": schedule, **self.times(),
        }

    def make_payments(self) -> None:
        """Per registration: its registration fee, then each paid installment (one in ten
        paid in two parts); now and then books or a certificate, tied to no registration."""
        for registration in self.registrations:
            student_ref = registration["Student_ID"]
            self.add("BTEC_Payments", self.payment(registration, student_ref, 150.0, registration["Registration_Date"],
                                                   "Registration Fees", None))
            for row in registration["Payment_Schedule"]:
                if row["Status"] != "Paid":
                    continue
                parts = [row["Amount"]]
                if self.rng.random() < 0.1:
                    first = round(row["Amount"] * 0.6, 2)
                    parts = [first, round(row["Amount"] - first, 2)]
                for amount in parts:
                    self.add("BTEC_Payments", self.payment(registration, student_ref, amount, row["Paid_Date"],
                                                           "Study Fees", row["Installment_Number"]))
        for student, _ in self.students:
            if self.rng.random() < 0.04:
                kind, amount = self.rng.choice([("Books Fees", 45.0), ("Certificate Fees", 60.0)])
                self.add("BTEC_Payments", self.payment(None, self.ref(student), amount,
                                                       self.day(BASE_DATE - timedelta(days=60), 50), kind, None))

    def payment(self, registration: dict[str, Any] | None, student_ref: dict[str, str], amount: float, paid: str,
                kind: str, installment: int | None) -> dict[str, Any]:
        return {
            "id": self.new_id(), "Name": self.autonumber("BTEC_Payments"),
            "Registration_ID": self.ref(registration) if registration else None, "Student_ID": dict(student_ref),
            "Payment_Amount": amount, "Payment_Date": paid,
            "Payment_Method": self.pick("BTEC_Payments", "Payment_Method", [("Cash", 40), ("Bank Transfer", 60)]),
            "Payment_Type": self.pick("BTEC_Payments", "Payment_Type", [(kind, 1)]), "Installment_No": installment,
            "Currency": "USD", "Note": None if self.rng.random() < 0.8 else "Paid at the Amman office", **self.times(),
        }

    # -------------------------------------------------------------- timetable

    def make_classes(self) -> None:
        count = max(1, round(self.n_students / 7.5))
        per_program = {p["id"]: 0 for _, p in self.programs}
        for _, (_, product) in self.students:
            per_program[product["id"]] += 1
        ranked = sorted(self.programs, key=lambda p: -per_program[p[1]["id"]])
        self.classes: list[dict[str, Any]] = []
        self.classes_of: dict[str, list[dict[str, Any]]] = {}
        for index in range(count):
            definition, product = ranked[index % len(ranked)] if index < len(ranked) else self.rng.choices(
                self.programs, weights=[per_program[p["id"]] + 1 for _, p in self.programs])[0]
            record = self.klass(index, definition, product)
            self.classes.append(self.add("BTEC_Classes", record))
            self.classes_of.setdefault(product["id"], []).append(record)

    def klass(self, index: int, definition: ProgramDef, product: dict[str, Any]) -> dict[str, Any]:
        unit = self.rng.choice(self.units[product["id"]])
        teacher = self.rng.choice(self.teachers)
        status = self.pick("BTEC_Classes", "Class_Status", [("Active", 60), ("Pending", 15), ("Initial Evaluation", 8),
                                                            ("Final Evaluation", 5), ("Waiting Submission", 5), ("End", 7)])
        term, start = ("T4", date(2026, 6, 1)) if status == "End" else ("T1", date(2026, 9, 13))
        begin = start + timedelta(days=self.rng.randint(0, 10))
        hour = self.rng.choice([9, 12, 16])
        initials = "".join(w[0] for w in unit["Name"].replace("&", "").split() if w[0].isalnum()).upper()
        return {
            "id": self.new_id(), "Name": self.autonumber("BTEC_Classes"),
            "Class_Name": f"{unit['Name']} ({term} 2026) G{index + 1}",
            "Class_Short_Name": f"{initials}{unit['Unit_Number']}-{term}-26-{index + 1:03d}",
            "Unit": self.ref(unit), "BTEC_Program": self.ref(product, "Product_Name"), "Teacher": self.ref(teacher),
            "Class_Status": status, "Start_Date": begin.isoformat(), "End_Date": (begin + timedelta(days=84)).isoformat(),
            "Term": term, "Year": "2026",
            "Class_Study_Mode": self.pick("BTEC_Classes", "Class_Study_Mode", [("Onsite", 70), ("Online", 15), ("Blended", 15)]),
            "Classroom": self.rng.choice(["Room 101", "Room 104", "Room 203", "Room 210", "Lab 1", "Lab 2", "Studio A"]),
            "Start_Hour": f"{hour:02d}:00", "End_Hour": f"{hour + 3:02d}:00", "Assessor": teacher["Name"],
            **self.times(60),
        }

    def make_enrollments(self) -> None:
        self.enrollments: list[dict[str, Any]] = []
        for student, (definition, product) in self.students:
            wanted = self.rng.randint(4, 6)
            own = list(self.classes_of.get(product["id"], []))
            same_major = [c for d, p in self.programs if d.unit_major == definition.unit_major and p["id"] != product["id"]
                          for c in self.classes_of.get(p["id"], [])]
            chosen = self.rng.sample(own, k=min(wanted, len(own)))
            for pool in (same_major, self.classes):
                rest = [c for c in pool if c not in chosen]
                chosen += self.rng.sample(rest, k=min(wanted - len(chosen), len(rest)))
            for klass in chosen:
                self.enrollments.append(self.add("BTEC_Enrollments", self.enrollment(student, klass, definition)))

    def enrollment(self, student: dict[str, Any], klass: dict[str, Any], definition: ProgramDef) -> dict[str, Any]:
        teacher = self.teacher_by_id[klass["Teacher"]["id"]]
        return {
            "id": self.new_id(), "Name": self.autonumber("BTEC_Enrollments"),
            "Enrolled_Students": self.ref(student), "Classes": self.ref(klass),
            "Start_Date": klass["Start_Date"], "End_Date": klass["End_Date"],
            "Enrollment_Type": self.pick("BTEC_Enrollments", "Enrollment_Type",
                                         [("Normal", 85), ("Recording", 5), ("Self-Study", 5), ("Not Graded", 5)]),
            "Enrolled_Program": definition.name, "Student_Name": student["Display_Name"],
            "Class_Name": klass["Class_Name"], "Class_Teacher": teacher["Name"], **self.times(30),
        }

    # -------------------------------------------------------------- grades and requests

    def make_grades(self) -> None:
        """Two assignments per class, each graded with a chance that grows as the class
        nears its end: about eight Zoho grades per student."""
        graded = {"End": 1.0, "Final Evaluation": 1.0, "Initial Evaluation": 0.9, "Waiting Submission": 0.8,
                  "Active": 0.85, "Pending": 0.4}
        classes = {c["id"]: c for c in self.classes}
        students = {s["id"]: s for s, _ in self.students}
        for enrollment in self.enrollments:
            klass = classes[enrollment["Classes"]["id"]]
            for assignment in range(ASSIGNMENTS_PER_CLASS):
                if self.rng.random() < graded.get(klass["Class_Status"], 0.0):
                    self.add("BTEC_Grades", self.grade(students[enrollment["Enrolled_Students"]["id"]], klass, assignment))

    def grade(self, student: dict[str, Any], klass: dict[str, Any], assignment_index: int = 0) -> dict[str, Any]:
        unit = self.unit_by_id[klass["Unit"]["id"]]
        letter = self.pick("BTEC_Grades", "Grade", [("D", 15), ("M", 25), ("P", 40), ("R", 12), ("RR", 3), ("F", 5)])
        reached = {"D": "PMD", "M": "PM", "P": "P"}.get(letter, "")
        when = self.day(date.fromisoformat(klass["Start_Date"]), 70)
        teacher = self.teacher_by_id[klass["Teacher"]["id"]]
        user = self.users_by_email.get(student["Academic_Email"])
        assignment = 5000 + (ASSIGNMENTS_PER_CLASS + 1) * int(klass["Name"].split("-")[1]) + assignment_index
        outcomes = [{"id": self.new_id(), "LO_Code": name.split("_")[0], "LO_Title": f"Criterion {name.split('_')[0]}",
                     "LO_Definition": text,
                     "LO_Score": "Achieved" if name[0] in reached and (letter != "R" or self.rng.random() < 0.5) else "Not Achieved",
                     "LO_Feedback": None}
                    for name, text in sorted(unit.items()) if name.endswith("_description") and text]
        by_iv = self.rng.random() < 0.15
        return {
            "id": self.new_id(), "Name": self.autonumber("BTEC_Grades"), "Student": self.ref(student),
            "Class": self.ref(klass), "BTEC_Unit": unit["Name"], "Grade": letter,
            "Grade_Status": self.pick("BTEC_Grades", "Grade_Status", [("Released", 60), ("Marking completed", 25), ("Ready for release", 15)]),
            "Attempt_Number": 2 if letter == "RR" else 1, "Attempt_Date": when,
            "Feedback": {"D": "Excellent, well evidenced work.", "M": "Good analysis; deepen the evaluation.",
                         "P": "All pass criteria met.", "R": "Resubmit: pass criteria not fully met.",
                         "RR": "Second refer.", "F": "Not achieved."}[letter],
            "BTEC_Grade_Name": f"{student['Display_Name']} - {klass['Class_Name']} - {letter} - {when}",
            "Moodle_Grade_Composite_Key": f"{user}_{assignment}" if user else None,
            "Moodle_Grade_ID": str(70000 + self.rng.randint(0, 29999)) if user else None,
            "Grader_Name": None if by_iv else teacher["Name"], "IV_Name": teacher["Name"] if by_iv else None,
            "Student_Name": student["Display_Name"], "Class_Name": klass["Class_Name"],
            "Learning_Outcomes_Assessm": outcomes, **self.times(20),
        }

    def make_requests(self) -> None:
        enrolled: dict[str, list[dict[str, Any]]] = {}
        classes = {c["id"]: c for c in self.classes}
        for enrollment in self.enrollments:
            enrolled.setdefault(enrollment["Enrolled_Students"]["id"], []).append(classes[enrollment["Classes"]["id"]])
        for student, _ in self.students:  # about 0.6 requests per student: 45 % ask, a third of them twice
            asks = (self.rng.random() < 0.45) * (1 + (self.rng.random() < 0.33))
            for _ in range(asks):
                self.add("BTEC_Student_Requests", self.request(student, enrolled.get(student["id"], [])))

    def request(self, student: dict[str, Any], classes: list[dict[str, Any]]) -> dict[str, Any]:
        kind = self.pick("BTEC_Student_Requests", "Request_Type",
                         [("Enroll Next Semester", 25), ("Class Drop", 20), ("Late Submission", 20),
                          ("Student Card", 20), ("Change Information", 15)])
        user = self.users_by_email.get(student["Academic_Email"])
        requested = [{"id": self.new_id(), "Class_ID": c["id"], "Class_Name": c["Class_Name"]}
                     for c in self.rng.sample(classes, k=min(len(classes), self.rng.randint(1, 2)))] if kind == "Class Drop" else []
        change = [{"id": self.new_id(), "Field_Name": "City", "Old_Value": student["City"], "New_Value": "Irbid"}] \
            if kind == "Change Information" else []
        times = self.times(40)
        return {
            "id": self.new_id(), "Name": f"REQ-{self.autonumber_plain('BTEC_Student_Requests'):06d}",
            "Student": self.ref(student), "Request_Type": kind,
            "Status": self.pick("BTEC_Student_Requests", "Status", [("Pending", 35), ("Approved", 25), ("Completed", 20),
                                                                    ("Rejected", 10), ("Cancelled", 10)]),
            "Reason": {"Class Drop": "Schedule conflict with work", "Late Submission": "Medical leave",
                       "Student Card": "Lost card", "Change Information": "Moved house",
                       "Enroll Next Semester": "Continuing my programme"}[kind],
            "Request_Date": times["Created_Time"], "Academic_Email": student["Academic_Email"],
            "Moodle_User_ID": str(user) if user else None,
            "Fees_Amount": {"Late Submission": 25.0, "Student Card": 5.0}.get(kind),
            "Requested_Classes": requested, "Change_Information": change, "Currency": "USD", **times,
        }

    def make_moodle_requests(self) -> None:
        """Requests submitted in the dashboard and not yet sent: about 6 % of the students whose
        mirror row and Moodle account exist (the dashboard needs both), in the last two weeks,
        each as ``requests::create`` stores it (Class Drop rows in Zoho's subform shape)."""
        rng = random.Random(f"{self.seed}:moodle-requests")
        fates = self.school.fates.get("BTEC_Students", {})
        enrolled: dict[str, list[dict[str, Any]]] = {}
        classes = {c["id"]: c for c in self.classes}
        for enrollment in self.enrollments:
            enrolled.setdefault(enrollment["Enrolled_Students"]["id"], []).append(classes[enrollment["Classes"]["id"]])
        reasons = {"Class Drop": "Schedule conflict with my new job", "Late Submission": "I was in hospital that week",
                   "Student Card": "My card was stolen", "Change Information": "New phone number and address",
                   "Enroll Next Semester": ""}
        for student, _ in self.students:
            user = self.users_by_email.get(student["Academic_Email"].lower())
            if user is None or fates.get(student["id"], MISSING) == MISSING or rng.random() >= 0.06:
                continue
            kind = _weighted(rng, [("Student Card", 30), ("Late Submission", 25), ("Change Information", 15),
                                   ("Enroll Next Semester", 15), ("Class Drop", 15)])
            mine = enrolled.get(student["id"], [])
            if kind == "Class Drop" and not mine:
                kind = "Student Card"
            dropped = [{"Class_ID": c["id"], "Class_Name": c["Class_Name"]}
                       for c in rng.sample(mine, k=min(len(mine), rng.randint(1, 2)))] if kind == "Class Drop" else []
            submitted = int(BASE_TS) - rng.randint(0, 14 * 86400)
            self.school.moodle_requests.append({
                "zoho_student_id": student["id"], "request_type": kind, "status": "Pending",
                "reason": reasons[kind] or None,
                "request_date": datetime.fromtimestamp(submitted, ORG_ZONE).date().isoformat(),
                "requested_classes": json.dumps(dropped, ensure_ascii=False, separators=(",", ":")) if dropped else None,
                "academic_email": student["Academic_Email"], "moodle_user_id": user, "origin": "moodle",
                "timecreated": submitted, "timemodified": submitted,
            })

    def autonumber_plain(self, module: str) -> int:
        self.numbers[module] = self.numbers.get(module, 0) + 1
        return self.numbers[module]

    # -------------------------------------------------------------- the Moodle side's fate

    def assign_fates(self) -> None:
        """Exact quotas per module (70/10/20 %), over a seeded shuffle: small modules too
        get their share of drift and creates, and the profile never wanders with luck."""
        rng = random.Random(f"{self.seed}:fates")
        for module in sorted(self.school.records):
            ids = [r["id"] for r in self.school.records[module]]
            rng.shuffle(ids)
            drifted = max(1, round(len(ids) * 0.10)) if len(ids) >= 3 else 0
            missing = max(1, round(len(ids) * 0.20)) if len(ids) >= 3 else 0
            in_sync = len(ids) - drifted - missing
            fates = self.school.fates.setdefault(module, {})
            for index, record_id in enumerate(ids):
                fates[record_id] = IN_SYNC if index < in_sync else DRIFTED if index < in_sync + drifted else MISSING
            self.school.fates[module] = dict(sorted(fates.items()))

    def make_orphans(self) -> None:
        """Records that reached Moodle and were later deleted in Zoho (recycle bin)."""
        rng = random.Random(f"{self.seed}:orphans")
        makers = {
            "BTEC_Students": lambda i: self.student(self.n_students + i, rng.choice(self.programs)),
            "BTEC_Teachers": lambda i: self.teacher(len(self.teachers) + i),
            "Products": lambda i: self.program(rng.choice(CATALOGUE[len(self.programs):] or PROGRAMS)),
            "BTEC": lambda i: self.unit(*rng.choice(self.programs), 0),
            "BTEC_Classes": lambda i: self.klass(len(self.classes) + i, *rng.choice(
                [p for p in self.programs if self.units.get(p[1]["id"])])),
            "BTEC_Enrollments": lambda i: self._orphan_enrollment(rng),
            "BTEC_Registrations": lambda i: self.registration(*self._student_and_program(rng)),
            "BTEC_Payments": lambda i: {**rng.choice(self.school.records["BTEC_Payments"]), "id": self.new_id(),
                                        "Name": self.autonumber("BTEC_Payments")},
            "BTEC_Grades": lambda i: self.grade(rng.choice(self.students)[0], rng.choice(self.classes),
                                                ASSIGNMENTS_PER_CLASS),
            # still open when deleted, so the soft delete has something to say
            "BTEC_Student_Requests": lambda i: {**self.request(rng.choice(self.students)[0], []), "Status": "Pending"},
        }
        for module, count in ORPHANS.items():
            if not self.school.records.get(module):
                continue
            for index in range(count):
                record = makers[module](index)
                self.school.fates[module][record["id"]] = ORPHAN
                self.delete(module, record, "recycle", rng)

    def _student_and_program(self, rng: random.Random) -> tuple[dict[str, Any], ProgramDef, dict[str, Any]]:
        student, (definition, product) = rng.choice(self.students)
        return student, definition, product

    def _orphan_enrollment(self, rng: random.Random) -> dict[str, Any]:
        student, (definition, _) = rng.choice(self.students)
        taken = {e["Classes"]["id"] for e in self.enrollments if e["Enrolled_Students"]["id"] == student["id"]}
        free = [c for c in self.classes if c["id"] not in taken] or self.classes
        return self.enrollment(student, rng.choice(free), definition)

    def delete(self, module: str, record: dict[str, Any], kind: str, rng: random.Random) -> None:
        name_field = self.meta[module].name_field
        modified = datetime.fromisoformat(record["Modified_Time"]).timestamp()
        when = modified + rng.randint(3600, max(3601, int(BASE_TS - modified) - 600))
        self.school.deleted.setdefault(module, []).append({
            "id": record["id"], "display_name": str(record.get(name_field) or ""), "deleted_time": zoho_time(when),
            "type": kind, "data": record if kind == "recycle" else None,
        })

    def make_blocked(self) -> None:
        """One enrollment whose student was deleted permanently and never reached Moodle."""
        rng = random.Random(f"{self.seed}:blocked")
        program = rng.choice(self.programs)
        ghost = self.student(self.n_students + 100, program)
        self.school.moodle_users = [u for u in self.school.moodle_users if u["username"] != ghost["Academic_Email"]]
        self.users_by_email.pop(ghost["Academic_Email"], None)
        self.delete("BTEC_Students", ghost, "permanent", rng)
        klass = rng.choice(self.classes)
        enrollment = self.add("BTEC_Enrollments", self.enrollment(ghost, klass, program[0]))
        self.school.fates["BTEC_Enrollments"][enrollment["id"]] = MISSING
        self.school.blocked = (enrollment["id"], ghost["id"])

    def run(self) -> DemoSchool:
        self.make_programs()
        self.make_units()
        self.make_teachers(max(8, round(self.n_students / STUDENTS_PER_TEACHER)))
        self.make_students()
        self.make_registrations()
        self.make_payments()
        self.make_classes()
        self.make_enrollments()
        self.make_grades()
        self.make_requests()
        self.assign_fates()
        self.make_moodle_requests()
        self.make_orphans()
        if self.blocked_example:
            self.make_blocked()
        return self.school


def generate(students: int = 150, seed: int = 7, *, blocked_example: bool = False) -> DemoSchool:
    """The demo school for ``students`` students; same arguments, same bytes."""
    if students < 1:
        raise ValueError("a school needs at least one student")
    generator = _Generator(students, seed)
    generator.blocked_example = blocked_example
    return generator.run()


# ------------------------------------------------------------------ install

def install(sandbox_dir: Path, school: DemoSchool, *, specs: dict[str, Spec] | None = None,
            unmatched_users: bool = False) -> None:
    """Write ``school`` into a fresh sandbox: the Zoho store, then the Moodle database."""
    sandbox_dir.mkdir(parents=True, exist_ok=True)
    _install_zoho(sandbox_dir / ZOHO_DB, school)
    _install_moodle(sandbox_dir / MOODLE_DB, school, load_specs() if specs is None else specs, unmatched_users)


def _install_zoho(path: Path, school: DemoSchool) -> None:
    store = ZohoStore(path)
    try:
        with store.transaction():
            for module in sorted(school.records):
                store.load(module, school.records[module])
            for module in sorted(school.deleted):
                store.add_deleted(module, school.deleted[module])
            _set_autonumber_counters(store, school)
    finally:
        store.close()


def _set_autonumber_counters(store: ZohoStore, school: DemoSchool) -> None:
    """Records inserted later through the API continue the school's numbering."""
    modules = load_metadata()
    for module, records in school.records.items():
        gone = [e["data"] for e in school.deleted.get(module, []) if e.get("data")]
        for api_name in modules[module].autonumber_fields:
            numbers = [int(str(r[api_name]).rsplit("-", 1)[-1]) for r in records + gone
                       if str(r.get(api_name) or "").rsplit("-", 1)[-1].isdigit()]
            if numbers:
                store.set_setting(f"counter:autonumber:{module}:{api_name}", str(max(numbers)))


def _install_moodle(path: Path, school: DemoSchool, specs: dict[str, Spec], unmatched_users: bool = False) -> None:
    from .moodle.db import open_db, schema_for, seed_core

    conn = open_db(path)
    try:
        seed_core(conn)
        conn.execute("BEGIN")
        _insert_users(conn, school.moodle_users)
        schema = schema_for()
        users = {u["username"]: u["id"] for u in school.moodle_users}
        for spec in sorted(specs.values(), key=lambda s: s.kind):
            if spec.target.system != "moodle" or spec.moodle_resource is not None or spec.key.zoho != "id" \
                    or spec.moodle_table not in schema.tables:
                continue  # reverse-direction kinds and Moodle resources are not mirrored rows
            _insert_mirror(conn, schema.tables[spec.moodle_table], spec, school, users)
        if "local_mzi_requests" in schema.tables:
            _insert_moodle_requests(conn, school.moodle_requests)
        if "course" in specs:
            _install_courses(conn, school, specs["course"])
        install_users(conn, school.records, specs, school.seed, int(BASE_TS), unmatched=unmatched_users)  # demo_users.py
        install_enrolments(conn, school.seed, int(BASE_TS))  # demo_enrolments.py
        install_grades(conn, school.records, school.seed, int(BASE_TS))  # demo_grades.py
        conn.execute("COMMIT")
    finally:
        conn.close()


def _install_courses(conn: sqlite3.Connection, school: DemoSchool, spec: Spec) -> None:
    """Some classes with a Moodle row start with a course, linked or not (demo_courses.py)."""
    from .demo_courses import install_courses

    classes = school.records.get("BTEC_Classes", [])
    mirrored = {c["id"] for c in classes if school.fates.get("BTEC_Classes", {}).get(c["id"], MISSING) != MISSING}
    stamp = max((int(datetime.fromisoformat(c["Modified_Time"]).timestamp()) for c in classes), default=0) + 600
    install_courses(conn, spec, classes, mirrored, school.seed, stamp)


def _insert_users(conn: sqlite3.Connection, users: list[dict[str, Any]]) -> None:
    columns = ("id", "username", "email", "firstname", "lastname", "auth", "idnumber", "timecreated", "timemodified")
    conn.executemany(f"INSERT INTO mdl_user ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                     [tuple(u[c] for c in columns) for u in users])


def moodle_rows(spec: Spec, school: DemoSchool, users: dict[str, int]) -> list[dict[str, Any]]:
    """The rows of ``spec``'s Moodle table for this school: in-sync, drifted and orphan ones."""
    module = spec.zoho_module
    fates = school.fates.get(module, {})
    rng = random.Random(f"{school.seed}:drift:{spec.kind}")
    orphans = [e["data"] for e in school.deleted.get(module, []) if e.get("data")]
    rows = []
    for raw in school.records.get(module, []) + orphans:
        fate = fates.get(raw["id"], MISSING)
        if fate == MISSING:
            continue
        # a subform kind mirrors its parent's rows (installments of a registration), in the parent's fate
        records = subform_records(spec, raw) if spec.subform else [record_from_zoho(spec, raw)]
        for record in records:
            row = moodle_row(spec, record.address.key, record.fields)
            if fate == DRIFTED:
                _drift(spec, row, rng)
            if "moodle_user_id" in spec.fields and spec.owner_of("moodle_user_id") == "moodle" \
                    and isinstance(raw.get("Academic_Email"), str):
                row["moodle_user_id"] = users.get(raw["Academic_Email"].lower())
            stamp = int(datetime.fromisoformat(raw["Modified_Time"]).timestamp()) + 600
            row["timecreated"], row["timemodified"] = stamp, stamp
            rows.append(row)
    return rows


def _drift(spec: Spec, row: dict[str, Any], rng: random.Random) -> None:
    """One or two hand edits in Moodle, on text fields a person would retouch."""
    deps = {d.field for d in spec.depends_on}
    keys = set(spec.key.columns)
    editable = [n for n in spec.compared_fields if spec.fields[n].const is None and n not in deps and n not in keys]
    candidates = [n for n in editable if spec.fields[n].type in ("string", "text")] \
        or [n for n in editable if spec.fields[n].type == "picklist"]  # e.g. an installment's status
    if not candidates:
        return
    pool = [n for n in DRIFT_HINTS if n in candidates] or candidates
    for name in pool[: rng.randint(1, min(2, len(pool)))]:
        old = row.get(name)
        if name == "city":
            row[name] = rng.choice([c[0] for c in CITIES if c[0] != old])
        else:
            row[name] = f"{old} (edited in Moodle)" if old not in (None, "") else "edited in Moodle"


def _insert_mirror(conn: sqlite3.Connection, table: Any, spec: Spec, school: DemoSchool, users: dict[str, int]) -> None:
    """Rows stored exactly as the plugin's upsert would store them (``mirror.check_value``)."""
    from .moodle.mirror import check_value, stored

    columns = {c.name: c for c in table.columns}
    for row in moodle_rows(spec, school, users):
        names = [n for n in row if n in columns and n != "id"]
        values = [stored(columns[n], check_value(columns[n], row[n])) for n in names]
        conn.execute(f"INSERT INTO mdl_{table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})", values)


def _insert_moodle_requests(conn: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
    """The submitted requests, each numbered MDL-<row id> as ``requests::create`` numbers it."""
    from .moodle.requests import number

    for row in rows:
        names = list(row)
        cursor = conn.execute(f"INSERT INTO mdl_local_mzi_requests ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                              [row[n] for n in names])
        assert cursor.lastrowid is not None
        conn.execute("UPDATE mdl_local_mzi_requests SET request_number = ? WHERE id = ?",
                     (number(cursor.lastrowid), cursor.lastrowid))
