"""Type the loose values of Psych-201 records: numbers stored as strings, "nan", lists.

Profile values become a float (any number, also one written as text), ``None``
(missing: JSON null, "nan", "", "NA", ...) or a string (everything else). A list or an
object is kept as its compact JSON text so that no information is lost.
"""

from __future__ import annotations

import functools
import json
import math
from typing import Any

from study.records import ProfileValue

# Written-out ways the collection says "no value".
MISSING_TEXT = frozenset({"", "nan", "na", "n/a", "none", "null", "missing", "-"})


def profile_value(raw: Any) -> ProfileValue:
    """Type one profile value.

    >>> [profile_value(v) for v in ["31.0", "nan", 7, " 2e3 ", "Female", None, True]]
    [31.0, None, 7.0, 2000.0, 'Female', None, 1.0]
    >>> profile_value([1, "a"])
    '[1,"a"]'
    """
    kind = type(raw)
    if kind is str:
        return _typed_text(raw)
    if raw is None:
        return None
    if kind is bool:
        return 1.0 if raw else 0.0
    if kind is int or kind is float:
        return None if math.isnan(raw) else float(raw)
    return json.dumps(raw, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


# Profile text repeats ("Female", "Healthy", "31.0"): remember how each was typed.
@functools.lru_cache(maxsize=1 << 16)
def _typed_text(raw: str) -> ProfileValue:
    number = number_or_none(raw)
    if number is not None:
        return number
    return None if raw.strip().lower() in MISSING_TEXT else raw


def number_or_none(text: str) -> float | None:
    """The finite or infinite number ``text`` spells, or None (also for "nan").

    >>> number_or_none("1,5"), number_or_none("-0.25"), number_or_none("NaN")
    (None, -0.25, None)
    """
    if "_" in text:  # float() reads "1_000" as 1000; the collection never means that
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return None if math.isnan(number) else number


def reaction_times(raw: list[Any]) -> list[float | None]:
    """A whole ``RTs`` list; raises ValueError naming the first entry that is not a time.

    >>> reaction_times(["1534", "nan", " 859"]), reaction_times([412, 3.5])
    ([1534.0, None, 859.0], [412.0, 3.5])
    """
    kinds = set(map(type, raw))
    # Fast path for the usual lists (all numbers, or all plain numeric strings), in C.
    if kinds <= {int, float} or (kinds == {str} and "_" not in "".join(raw)):
        try:
            times: list[float | None] = list(map(float, raw))
        except ValueError:
            pass
        else:
            if any(map(math.isnan, times)):  # type: ignore[arg-type]
                times = [None if math.isnan(t) else t for t in times]  # type: ignore[arg-type]
            return times
    checked = []
    for k, entry in enumerate(raw):
        try:
            checked.append(reaction_time(entry))
        except ValueError as err:
            raise ValueError(f"entry {k}: {err}") from None
    return checked


def reaction_time(raw: Any) -> float | None:
    """One entry of an ``RTs`` list; raises ValueError for text that is not a number.

    >>> reaction_time("1534"), reaction_time(None), reaction_time("nan"), reaction_time(412)
    (1534.0, None, None, 412.0)
    """
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise ValueError(f"{raw!r} is not a reaction time")
    if isinstance(raw, int | float):
        return None if math.isnan(raw) else float(raw)
    if isinstance(raw, str):
        if raw.strip().lower() in MISSING_TEXT:
            return None
        number = number_or_none(raw)
        if number is None:
            raise ValueError(f"{raw!r} is not a number")
        return number
    raise ValueError(f"{raw!r} is not a reaction time")


def participant_id(raw: Any) -> str | None:
    """A participant id as text: strings stay, integers (also 5.0) print without a point.

    >>> participant_id(12), participant_id("s_9_da"), participant_id(3.0), participant_id(None)
    ('12', 's_9_da', '3', None)
    """
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        return str(int(raw)) if raw.is_integer() else repr(raw)
    if isinstance(raw, str):
        return raw if raw.strip() else None
    return None
