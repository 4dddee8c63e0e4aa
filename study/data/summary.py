"""Flat summary tables from data cards: one row per experiment, one per profile field.

They restate what the cards hold, as CSV for people who compare experiments in a
spreadsheet: participants, their sessions, choices, profile fields and response lengths.
"""

from __future__ import annotations

from typing import Any

import polars as pl

FIELD_SCHEMA = {
    "experiment": pl.String,
    "field": pl.String,
    "type": pl.String,
    "present": pl.Int64,
    "missing": pl.Int64,
    "distinct": pl.Int64,
    "min": pl.Float64,
    "median": pl.Float64,
    "max": pl.Float64,
    "most_frequent": pl.String,
}


def summary_row(card: dict[str, Any]) -> dict[str, Any]:
    """One experiment's counts, response lengths and profile fields."""
    counts = card["counts"]
    per_person = counts["choices_per_participant"] or {}
    response_chars = counts["response_chars"] or {}
    transcript_chars = counts["transcript_chars"] or {}
    return {
        "experiment": card["experiment"],
        "participants": counts["participants"],
        "sessions": counts["sessions"],
        "sessions_per_participant_max": (counts["sessions_per_participant"] or {}).get("max"),
        "choices": counts["choices"],
        "choices_per_participant_min": per_person.get("min"),
        "choices_per_participant_median": per_person.get("median"),
        "choices_per_participant_max": per_person.get("max"),
        "distinct_responses": card["responses"]["distinct"],
        "response_chars_mean": response_chars.get("mean"),
        "response_chars_max": response_chars.get("max"),
        "transcript_chars_median": transcript_chars.get("median"),
        "transcript_chars_max": transcript_chars.get("max"),
        "has_rts": card["rts"] is not None,
        "discrete": card["discrete"],
        "options": " ".join(card["options"] or []),
        "profile_fields": " ".join(card["fields"]),
    }


def field_rows(card: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per profile field of the experiment: type, coverage and distribution."""
    rows = []
    for name, field in card["fields"].items():
        distribution = field.get("distribution") or {}
        top = field.get("top") or {}
        rows.append(
            {
                "experiment": card["experiment"],
                "field": name,
                "type": field["type"],
                "present": field["present"],
                "missing": field["missing"],
                "distinct": field.get("distinct"),
                "min": _float_or_none(distribution.get("min")),
                "median": _float_or_none(distribution.get("median")),
                "max": _float_or_none(distribution.get("max")),
                "most_frequent": next(iter(top), None),
            }
        )
    return rows


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)
