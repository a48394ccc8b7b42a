"""The PHP plugin, the emulator and the specs agree — checked by reading the PHP source.

No PHP is needed: ``db/services.php`` and ``classes/external/*.php`` are parsed with
regular expressions, relying on the plugin's conventions (single-quoted literal keys in
``new external_value(PARAM_…)`` structures; mirror classes declaring ``TABLE``,
``DELETE_FIELD``, ``DELETE_VALUE`` constants). The emulator's side is data too:
``contract_keys(build_registry(schema))``. Every failure names the function and field.

These tests fail (they do not skip) while the plugin files are missing: the plugin is
part of the product, and a missing file is a broken contract.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pytest

from reconciler.sandbox.moodle import build_registry, contract_keys
from reconciler.sandbox.moodle.mirror import DELETE_POLICY, MIRROR_NAMES
from reconciler.schema.xmldb import load_schema
from reconciler.specs import load_specs

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "moodle_plugin"
SERVICES = PLUGIN / "db" / "services.php"
EXTERNAL = PLUGIN / "classes" / "external"

_KEY = re.compile(r"""['"](\w+)['"]\s*=>\s*new\s+\\?(?:[\w\\]+\\)?external_(?:value|single_structure|multiple_structure)\b""")
_CONST = re.compile(r"""const\s+(TABLE|DELETE_FIELD|DELETE_VALUE)\s*=\s*(?:['"]([^'"]*)['"]|(null|NULL))\s*;""")
_CALL = re.compile(r"""(?:self|static|parent|[\w\\]+)::(\w+)\s*\(""")


@dataclass(frozen=True)
class PhpFunction:
    name: str
    classname: str

    @property
    def path(self) -> Path:
        return EXTERNAL / f"{self.classname.rsplit(chr(92), 1)[-1]}.php"


def _read(path: Path, what: str) -> str:
    if not path.is_file():
        pytest.fail(f"{path.relative_to(ROOT)} does not exist yet: {what}. The plugin engineer produces it; "
                    "until then the contract between plugin, emulator and provider is unchecked.")
    return path.read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def services_text() -> str:
    return _read(SERVICES, "it declares the web-service functions and the 'mzi' service")


def php_functions() -> dict[str, PhpFunction]:
    """``$functions`` of services.php: name → classname."""
    text = services_text()
    head = text.split("$services", 1)[0]
    pattern = re.compile(r"""['"](\w+)['"]\s*=>\s*(?:\[|array\s*\()(.*?)['"]classname['"]\s*=>\s*['"]([^'"]+)['"]""", re.S)
    return {m.group(1): PhpFunction(m.group(1), m.group(3).replace("\\\\", "\\")) for m in pattern.finditer(head)}


def service_functions() -> set[str]:
    """Function names listed in the ``$services`` definition (the token's service)."""
    parts = services_text().split("$services", 1)
    if len(parts) < 2:
        return set()
    return set(re.findall(r"""['"]((?:local_mzi|core|enrol)_\w+)['"]""", parts[1]))


def method_body(text: str, name: str) -> str | None:
    """The text of ``function name(...) { … }`` (brace-matched), or None."""
    match = re.search(rf"function\s+{name}\s*\(", text)
    if not match:
        return None
    start = text.find("{", match.end())
    depth = 0
    for pos in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[pos], 0)
        if depth == 0:
            return text[start:pos + 1]
    return text[start:]


@lru_cache(maxsize=1)
def all_php() -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for p in (PLUGIN / "classes").rglob("*.php")} if (PLUGIN / "classes").is_dir() else {}


def structure_keys(body: str, depth: int = 3) -> set[str]:
    """Keys of ``'k' => new external_…`` in ``body`` and in helper methods it calls."""
    keys = set(_KEY.findall(body))
    if depth:
        for helper in set(_CALL.findall(body)) - {"validate_parameters", "validate_context", "get_string", "instance"}:
            for text in all_php().values():
                found = method_body(text, helper)
                if found is not None and found != body:
                    keys |= structure_keys(found, depth - 1)
    return keys


def php_keys(fn: PhpFunction) -> dict[str, set[str]]:
    text = _read(fn.path, f"the external class of {fn.name}")
    params = method_body(text, "execute_parameters")
    returns = method_body(text, "execute_returns")
    assert params is not None and returns is not None, \
        f"{fn.name}: {fn.path.relative_to(ROOT)} has no execute_parameters()/execute_returns()"
    return {"params": structure_keys(params), "returns": structure_keys(returns)}


def _class_file(name: str) -> str | None:
    """The text of the plugin file declaring ``class name``, if any."""
    pattern = re.compile(rf"\b(?:abstract\s+|final\s+)?class\s+{re.escape(name)}\b")
    return next((text for text in all_php().values() if pattern.search(text)), None)


def php_constants(fn: PhpFunction) -> dict[str, str | None]:
    """TABLE / DELETE_FIELD / DELETE_VALUE of the class, inherited ones included."""
    text: str | None = _read(fn.path, f"the external class of {fn.name}")
    consts: dict[str, str | None] = {}
    for _ in range(5):  # the class, then up its parents within the plugin
        if text is None:
            break
        for match in _CONST.finditer(text):
            consts.setdefault(match.group(1), None if match.group(3) else match.group(2))
        parent = re.search(r"\bclass\s+\w+\s+extends\s+\\?(?:[\w\\]+\\)?(\w+)", text)
        text = _class_file(parent.group(1)) if parent else None
    return consts


# ------------------------------------------------------------------ the data both sides must match

SCHEMA = load_schema()
REGISTRY = build_registry(SCHEMA)
EMULATED = contract_keys(REGISTRY)
MIRROR_FUNCTIONS = {n for n, fn in REGISTRY.items() if fn.mirror_table}
PLUGIN_FUNCTIONS = sorted(n for n in REGISTRY if n.startswith("local_mzi_"))
NON_MIRROR = sorted(n for n in PLUGIN_FUNCTIONS if n not in MIRROR_FUNCTIONS)
#: the kind that mirrors each table (Zoho -> Moodle); reverse kinds read a mirror table, they do not own its deletes
SPECS_BY_TABLE = {spec.moodle_table: spec for spec in load_specs().values()
                  if spec.moodle_resource is None and spec.target.system == "moodle"}


def test_the_emulator_serves_the_three_functions_of_every_contract_mirror_table() -> None:
    missing = [f"local_mzi_{verb}_{name}" for name in MIRROR_NAMES for verb in ("upsert", "get", "delete")
               if f"local_mzi_{verb}_{name}" not in REGISTRY]
    assert not missing, f"install.xml lacks (or gives no unique key to) the tables behind {missing}"


@pytest.mark.parametrize("table", sorted(t for t in SPECS_BY_TABLE if t.removeprefix("local_mzi_") in MIRROR_NAMES))
def test_spec_delete_policy_agrees_with_the_contract_table(table: str) -> None:
    spec = SPECS_BY_TABLE[table]
    expected = DELETE_POLICY[table]
    actual = (spec.delete.field, spec.delete.value) if spec.delete.policy == "soft" else None
    assert actual == expected, f"specs/{spec.kind}.toml [delete] is {actual}, the contract table says {expected}"


@pytest.mark.parametrize("name", PLUGIN_FUNCTIONS)
def test_every_function_the_provider_and_emulator_use_is_declared_in_services_php(name: str) -> None:
    declared = php_functions()
    assert name in declared, f"db/services.php does not declare {name} (declared: {sorted(declared)})"


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_function_is_in_the_mzi_service(name: str) -> None:
    assert name in service_functions(), \
        f"the 'mzi' service ($services in db/services.php) does not list {name}; a token of that service could not call it"


@pytest.mark.parametrize("name", PLUGIN_FUNCTIONS)
def test_every_declared_class_file_exists(name: str) -> None:
    fn = php_functions().get(name)
    assert fn is not None, f"db/services.php does not declare {name}"
    assert fn.path.is_file(), f"{name}: classname {fn.classname} but {fn.path.relative_to(ROOT)} does not exist"


@pytest.mark.parametrize("name", NON_MIRROR)
def test_parameters_and_returns_of_non_mirror_functions_match_the_emulator(name: str) -> None:
    fn = php_functions().get(name)
    assert fn is not None, f"db/services.php does not declare {name}"
    php = php_keys(fn)
    problems = []
    for part in ("params", "returns"):
        only_php = sorted(php[part] - EMULATED[name][part])
        only_emulator = sorted(EMULATED[name][part] - php[part])
        if only_php:
            problems.append(f"{name} {part}: PHP has {only_php} which the emulator lacks")
        if only_emulator:
            problems.append(f"{name} {part}: the emulator has {only_emulator} which PHP lacks")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("table", [f"local_mzi_{n}" for n in MIRROR_NAMES])
def test_mirror_delete_policy_agrees_across_plugin_emulator_and_spec(table: str) -> None:
    name = f"local_mzi_delete_{table.removeprefix('local_mzi_')}"
    fn = php_functions().get(name)
    assert fn is not None, f"db/services.php does not declare {name}"
    consts = php_constants(fn)
    assert consts.get("TABLE") == table, f"{name}: class {fn.classname} declares TABLE = {consts.get('TABLE')!r}, expected {table!r}"
    expected = DELETE_POLICY[table]
    php_policy = (consts.get("DELETE_FIELD"), consts.get("DELETE_VALUE")) if consts.get("DELETE_FIELD") else None
    assert php_policy == expected, f"{name}: PHP deletes with {php_policy}, the contract table says {expected}"
    spec = SPECS_BY_TABLE.get(table)
    if spec is not None:
        spec_policy = (spec.delete.field, spec.delete.value) if spec.delete.policy == "soft" else None
        assert spec_policy == expected, f"specs/{spec.kind}.toml [delete] is {spec_policy}, the contract table says {expected}"


@pytest.mark.parametrize("name", sorted(MIRROR_FUNCTIONS))
def test_every_mirror_class_names_its_table(name: str) -> None:
    fn = php_functions().get(name)
    assert fn is not None, f"db/services.php does not declare {name}"
    table = REGISTRY[name].mirror_table
    declared = php_constants(fn).get("TABLE")
    assert declared == table, f"{name}: class {fn.classname} declares TABLE = {declared!r}, expected {table!r}"


def test_get_courses_checks_context_and_capability_and_binds_every_value() -> None:
    """The course read serves every course's name and dates: only to a manager, and its SQL
    takes values through placeholders, never by pasting them in."""
    fn = php_functions().get("local_mzi_get_courses")
    assert fn is not None, "db/services.php does not declare local_mzi_get_courses"
    body = method_body(_read(fn.path, "the external class of local_mzi_get_courses"), "execute") or ""
    assert "validate_context(" in body and "require_capability('local/mzi:manage'" in body, body[:400]
    sql = re.findall(r'"((?:SELECT|\s*FROM|\s*WHERE|c\.id)[^"]*)"', body)
    pasted = [s for s in sql if re.search(r"\{\$params|\$params\[", s)]
    assert not pasted, f"values pasted into SQL: {pasted}"
    assert "local_mzi_get_courses" in service_functions(), "the 'mzi' service does not list local_mzi_get_courses"


def test_get_enrolments_checks_context_and_capability_and_binds_every_value() -> None:
    """Who is enrolled where is served only to a manager, and its SQL takes values through
    placeholders, never by pasting them in."""
    fn = php_functions().get("local_mzi_get_enrolments")
    assert fn is not None, "db/services.php does not declare local_mzi_get_enrolments"
    text = _read(fn.path, "the external class of local_mzi_get_enrolments")
    body = method_body(text, "execute") or ""
    assert "validate_context(" in body and "require_capability('local/mzi:manage'" in body, body[:400]
    sql = re.findall(r'"((?:SELECT|\s*FROM|\s*JOIN|\s*WHERE|ue\.id)[^"]*)"', text)
    pasted = [s for s in sql if re.search(r"\{\$params|\$params\[|\$row|\$ra", s)]
    assert not pasted, f"values pasted into SQL: {pasted}"
    assert "local_mzi_get_enrolments" in service_functions(), "the 'mzi' service does not list local_mzi_get_enrolments"


def _php_list_constant(path: Path, name: str) -> list[str]:
    text = path.read_text(encoding="utf-8")
    match = re.search(rf"const\s+{name}\s*=\s*\[(.*?)\];", text, flags=re.DOTALL)
    assert match is not None, f"{path.relative_to(ROOT)} declares no const {name}"
    return re.findall(r"'([^']*)'", match.group(1))


def test_the_columns_moodle_owns_on_a_submitted_request_agree_across_plugin_emulator_and_spec() -> None:
    """requests::MOODLE_OWNED (kept by the plugin's upsert), the emulator's copy and request.toml's
    target_owns name the same columns, and on the same rows (origin moodle)."""
    from reconciler.sandbox.moodle import requests as emulated

    php = _php_list_constant(ROOT / "moodle_plugin" / "classes" / "local" / "requests.php", "MOODLE_OWNED")
    spec = load_specs()["request"]
    assert spec.target_owns is not None
    assert sorted(php) == sorted(emulated.MOODLE_OWNED) == sorted(spec.target_owns.fields), \
        f"PHP {php}, emulator {list(emulated.MOODLE_OWNED)}, spec {spec.target_owns.fields}"
    assert spec.target_owns.when == {"origin": [emulated.ORIGIN_MOODLE]}
    assert load_specs()["outbound_request"].source.only == {"origin": [emulated.ORIGIN_MOODLE]}


def test_the_request_number_prefix_agrees_across_plugin_and_emulator() -> None:
    from reconciler.sandbox.moodle import requests as emulated

    text = (ROOT / "moodle_plugin" / "classes" / "local" / "requests.php").read_text(encoding="utf-8")
    match = re.search(r"const NUMBER_PREFIX = '([^']*)';", text)
    assert match is not None and match.group(1) == emulated.NUMBER_PREFIX


def test_the_rules_a_submitted_request_must_meet_agree_across_plugin_and_emulator() -> None:
    """requests::NEEDS_REASON and class_drop's bounds and ended statuses, as the emulator's
    local_mzi_submit_request applies them (it cannot run the PHP)."""
    from reconciler.sandbox.moodle import requests as emulated

    local = ROOT / "moodle_plugin" / "classes" / "local"
    assert _php_list_constant(local / "requests.php", "NEEDS_REASON") == list(emulated.NEEDS_REASON)
    assert _php_list_constant(local / "class_drop.php", "ENDED") == list(emulated.ENDED)
    text = (local / "class_drop.php").read_text(encoding="utf-8")
    bounds = [int(re.search(rf"const {name} = (\d+);", text).group(1))  # type: ignore[union-attr]
              for name in ("MIN_CLASSES", "MAX_CLASSES")]
    assert bounds == [emulated.MIN_CLASSES, emulated.MAX_CLASSES]
