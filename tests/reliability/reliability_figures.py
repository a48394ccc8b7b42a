"""The suite's size, seed and the figures its tests add up (printed and saved by conftest)."""

from __future__ import annotations

import os
from typing import Any


def _int_env(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    try:
        return int(text) if text else default
    except ValueError:
        raise ValueError(f"{name}={text!r} is not a whole number") from None


RUNS = _int_env("MZI_RELIABILITY_RUNS", 6)
CRASH_POINTS = _int_env("MZI_RELIABILITY_CRASH_POINTS", max(3, RUNS // 4))
SEED = _int_env("MZI_RELIABILITY_SEED", 14)

#: section → figures; filled by the tests, printed and written at the end of the session
FIGURES: dict[str, dict[str, Any]] = {}


def add(section: str, **figures: Any) -> None:
    """Add counts (ints and dicts of ints) into ``FIGURES[section]``."""
    into = FIGURES.setdefault(section, {})
    for name, value in figures.items():
        if isinstance(value, dict):
            bucket = into.setdefault(name, {})
            for key, count in value.items():
                bucket[key] = bucket.get(key, 0) + count
        else:
            into[name] = into.get(name, 0) + value
