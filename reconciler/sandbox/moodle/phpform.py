"""Form bodies decoded the way PHP fills ``$_POST``/``$_GET``.

Moodle never sees the raw body: PHP has already turned ``records[0][city]=Irbid`` into
nested arrays, mangled odd variable names and, past ``max_input_vars``, silently dropped
the rest of the request. The emulator must behave the same or the provider's batching
is never really tested, so this module reproduces ``php_register_variable_ex`` and the
``max_input_vars`` cut of ``main/php_variables.c``:

- a top-level name loses leading spaces; ``.`` and space become ``_`` up to the first
  ``[``; an unterminated first ``[`` becomes ``_`` and the name is then plain;
- ``[]`` appends at the next free integer index, ``[k]`` uses key ``k`` (a canonical
  decimal integer becomes an int key, like PHP's symtable), text after a ``]`` that is not
  followed by ``[`` is ignored, an unterminated later ``[`` ends the index list;
- a scalar standing where an array is needed is replaced by an array; a later value for
  the same key overwrites it in place (insertion order kept, as in a PHP array);
- nesting deeper than ``max_input_nesting_level`` (64) drops the variable;
- only the first ``max_input_vars`` variables are registered; the rest are dropped
  without a trace (PHP logs a warning nobody reads).

PHP arrays are ordered maps, so every array decodes to a ``dict`` whose keys are ``int``
or ``str``; callers that want a list take ``.values()`` — exactly what Moodle's
``external_multiple_structure`` does with ``foreach``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

MAX_INPUT_NESTING_LEVEL = 64
_PHP_INT = re.compile(r"^(0|-?[1-9][0-9]*)$")
_PHP_INT_MAX = 2**63 - 1
#: the shape of every name a well-behaved client sends; such names skip the slow path
_PLAIN_NAME = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[[^\[\]]*\])*)\Z")
_INDEX = re.compile(r"\[([^\[\]]*)\]")

PhpArray = dict[int | str, Any]


@dataclass(frozen=True)
class DecodedForm:
    """The PHP view of a request body: the variables and how many PHP dropped."""

    values: PhpArray
    received: int
    dropped: int


def php_key(text: str) -> int | str:
    """A PHP array key: decimal integer strings become ints (``"007"`` stays text)."""
    if _PHP_INT.match(text):
        number = int(text)
        if -_PHP_INT_MAX - 1 <= number <= _PHP_INT_MAX:
            return number
    return text


def _next_index(array: PhpArray) -> int:
    ints = [k for k in array if isinstance(k, int)]
    return max(max(ints) + 1, 0) if ints else 0


def _split_name(raw: str) -> tuple[str, list[str | None]] | None:
    """(base name, indices) of a variable name; ``None`` index means ``[]``."""
    plain = _PLAIN_NAME.match(raw)
    if plain:
        return plain.group(1), [i or None for i in _INDEX.findall(plain.group(2))]
    name = raw.lstrip(" ")
    base_chars: list[str] = []
    rest = ""
    for pos, char in enumerate(name):
        if char == "[":
            rest = name[pos:]
            break
        base_chars.append("_" if char in " ." else char)
    base = "".join(base_chars)
    if not rest:
        return (base, []) if base else None
    close = rest.find("]")
    if close < 0:  # unterminated first bracket: PHP makes it part of the name
        base = base + "_" + rest[1:]
        return (base, []) if base else None
    if not base:
        return None
    indices: list[str | None] = []
    while True:
        inner = rest[1:close]
        indices.append(inner if inner else None)
        rest = rest[close + 1:]
        if not rest.startswith("["):
            break  # anything after `]` that is not `[` is ignored
        close = rest.find("]")
        if close < 0:
            break  # unterminated later bracket: the index list ends here
    return base, indices


def register_variable(target: PhpArray, raw_name: str, value: str) -> None:
    """Store one ``name=value`` pair into ``target`` as PHP would."""
    parsed = _split_name(raw_name)
    if parsed is None:
        return
    base, indices = parsed
    if len(indices) >= MAX_INPUT_NESTING_LEVEL:
        return
    path: list[int | str | None] = [php_key(base)]
    path += [None if i is None else php_key(i) for i in indices]
    current = target
    for step in path[:-1]:
        key = _next_index(current) if step is None else step
        child = current.get(key)
        if not isinstance(child, dict):
            child = {}
            current[key] = child
        current = child
    last = path[-1]
    current[_next_index(current) if last is None else last] = value


def decode_pairs(pairs: list[tuple[str, str]], max_input_vars: int | None) -> DecodedForm:
    """Register ``pairs`` in order, keeping only the first ``max_input_vars``."""
    kept = pairs if max_input_vars is None else pairs[:max_input_vars]
    values: PhpArray = {}
    for name, value in kept:
        register_variable(values, name, value)
    return DecodedForm(values, len(pairs), len(pairs) - len(kept))


def decode_php_form(body: str, max_input_vars: int | None = None) -> DecodedForm:
    """An ``application/x-www-form-urlencoded`` body (or query string), decoded like PHP."""
    pairs = parse_qsl(body, keep_blank_values=True, encoding="utf-8", errors="replace")
    return decode_pairs(pairs, max_input_vars)


def count_leaves(values: PhpArray) -> int:
    """Scalar leaves of a decoded form: what the plugin counts against max_input_vars."""
    return sum(count_leaves(v) if isinstance(v, dict) else 1 for v in values.values())


def php_view(value: Any) -> Any:
    """What PHP would decode for a Python value sent by ``encode_php_params``.

    Lists become int-keyed dicts, scalars their form text, empty arrays vanish (a form
    cannot carry them). The round-trip property test states
    ``decode(encode(x)) == php_view(x)``.
    """
    if isinstance(value, dict):
        items = {php_key(str(k)): php_view(v) for k, v in value.items()}
        return {k: v for k, v in items.items() if v != {}}
    if isinstance(value, (list, tuple)):
        items = {i: php_view(v) for i, v in enumerate(value)}
        return {k: v for k, v in items.items() if v != {}}
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)
