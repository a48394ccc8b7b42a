"""Figures of the dedicated security run, merged into one JSON file.

``MZI_SECURITY_SUMMARY=path`` names the file; each suite (leak scan, webhook fuzz, plugin
checks) writes its section, so one run gives every count the report quotes. Unset, nothing
is written and the tests only pass or fail.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: the environment variable naming the JSON file the counts are merged into
SUMMARY_ENV = "MZI_SECURITY_SUMMARY"


def record_summary(section: str, data: Mapping[str, Any]) -> None:
    """Merge ``data`` under ``section`` into ``$MZI_SECURITY_SUMMARY`` (nothing when unset)."""
    target = os.environ.get(SUMMARY_ENV, "").strip()
    if not target:
        return
    path = Path(target)
    current = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    current[section] = dict(data)
    path.write_text(json.dumps(current, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
