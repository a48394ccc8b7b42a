"""The configuration as text, written from the pydantic models so it cannot drift from them:
the reference (``docs/config.md``; a test fails when it is out of date) and a commented
``mzi.toml`` (``mzi init``).

Regenerate the reference after changing ``config.py``::

    python -m reconciler.config_text > docs/config.md
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from .config import Config

#: the sections of mzi.toml, in the order the reference and ``mzi init`` write them
SECTIONS = ("zoho", "moodle", "safety", "sandbox", "serve")


def _sections() -> Iterator[tuple[str, type[BaseModel]]]:
    yield "", Config
    for name in SECTIONS:
        annotation = Config.model_fields[name].annotation
        assert isinstance(annotation, type) and issubclass(annotation, BaseModel)
        yield name, annotation


def _keys(model: type[BaseModel]) -> Iterator[tuple[str, FieldInfo]]:
    for name, info in model.model_fields.items():
        if info.exclude or name in SECTIONS:
            continue
        yield name, info


def _type_name(annotation: Any) -> str:
    if typing.get_origin(annotation) is typing.Literal:
        return " \\| ".join(f"`{v}`" for v in typing.get_args(annotation))
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return " or ".join(_type_name(a) for a in typing.get_args(annotation) if a is not type(None))
    names = {str: "text", int: "integer", float: "number", bool: "true/false", Path: "path"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _toml_value(value: Any) -> str | None:
    """``value`` as TOML writes it (tomli-w does the quoting), or None when TOML has no null."""
    if value is None:
        return None
    if isinstance(value, Path):
        value = str(value)
    return tomli_w.dumps({"v": value}).partition("=")[2].strip()


def reference() -> str:
    """``docs/config.md``: every key of every section with its type, default and meaning."""
    lines = ["# Configuration reference", "",
             "Generated from `reconciler/config.py` by `python -m reconciler.config_text > docs/config.md`;",
             "a test fails when this file is out of date. `mzi init` writes a commented `mzi.toml` from the",
             "same descriptions. Secrets are never in the file: the `*_env` keys name the environment",
             "variables they are read from.", ""]
    for section, model in _sections():
        lines += [f"## {'top level' if not section else f'[{section}]'}", "",
                  "| key | type | default | meaning |", "|---|---|---|---|"]
        for name, info in _keys(model):
            default = _toml_value(info.default)
            lines.append(f"| `{name}` | {_type_name(info.annotation)} | "
                         f"{f'`{default}`' if default not in (None, '') else '—'} | {info.description or ''} |")
        lines.append("")
    return "\n".join(lines)


def commented_toml(values: Mapping[str, Any], sections: tuple[str, ...] = SECTIONS) -> str:
    """A ``mzi.toml`` with ``values`` set (top-level keys, and one table per section) and
    every other key of ``sections`` present as a commented-out default, under its description."""
    out = ["# mzi configuration, written by `mzi init`. Reference: docs/config.md.",
           "# Secrets are not in this file: export the environment variables the *_env keys name.", ""]
    for section, model in _sections():
        if section and section not in sections:
            continue
        given = dict(values.get(section, {})) if section else {k: v for k, v in values.items() if k not in SECTIONS}
        if section:
            out += [f"[{section}]"]
        for name, info in _keys(model):
            out.append(f"# {info.description}")
            if name in given:
                out.append(tomli_w.dumps({name: _plain(given[name])}).strip())
            else:
                default = _toml_value(info.default)
                out.append(f"# {name} = {default}" if default is not None else f"# {name} = …  (unset)")
        out.append("")
    return "\n".join(out)


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Path) else value


if __name__ == "__main__":
    print(reference(), end="")
