"""Seeded fault decisions shared by both emulators' fault models.

Every decision is a pure function of ``(seed, request number, kind of fault)``: the same
sequence of requests meets the same faults run after run, and one kind of fault never
shifts the draws of another.
"""

from __future__ import annotations

import random
from typing import Any


def draw(seed: int, rate: float, sequence: int, what: str) -> bool:
    """Whether request ``sequence`` meets fault ``what``, which strikes at ``rate``."""
    return rate > 0 and random.Random(f"{seed}:{sequence}:{what}").random() < rate


def check_rates(model: Any, *names: str) -> None:
    """Refuses a rate outside 0..1, naming the field (a dataclass's ``__post_init__``)."""
    for name in names:
        value = getattr(model, name)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be within 0..1, not {value}")
