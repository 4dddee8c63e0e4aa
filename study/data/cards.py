"""Data cards computed from the data: counts, fields, distributions, options, quirks.

A card is a plain dictionary (written as ``<experiment>.yaml``, the machine-readable
half) and a Markdown rendering of it (``<experiment>.md``, see
:mod:`study.data.card_markdown`). Everything numeric on a card comes from the tables
the data stage writes; only the provenance (source, licence, citation) is read from
the experiment's README.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from study.data.provenance import Provenance
from study.data.tables import FIXED_PARTICIPANT_COLUMNS
from study.hosting.trials import after_last, cut_trials

# A discrete-choice experiment: nobody gives more distinct responses than this.
MAX_DISCRETE_OPTIONS = 12
# The option set is fixed (listed on the card) when at least this share of
# participants used every option the experiment has.
FIXED_OPTIONS_SHARE = 0.5
TOP_VALUES = 12
# Transcripts longer than this get a quirk line (they stress context windows).
LONG_TRANSCRIPT_CHARS = 50_000
# A trial example on a card keeps this many characters at each end.
EXCERPT_CHARS = 300


def compute_card(
    experiment: str,
    participants: pl.DataFrame,
    choices: pl.LazyFrame,
    provenance: Provenance,
    quirks: list[str],
    trials: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The card of one experiment from its rows of the two tables (and ``trials``, its
    first line's trial cut, :func:`trial_section`).

    Counts per participant are per person (all their sessions together); transcript
    lengths and profile fields are per session (a line of the input)."""
    sessions = participants.filter(pl.col("experiment") == experiment)
    # A person is a participant id (within this experiment), with one or more sessions.
    people = sessions.group_by("participant", maintain_order=True).agg(
        pl.len().alias("sessions"), pl.col("n_choices").sum()
    )
    its_choices = choices.filter(pl.col("experiment") == experiment)
    per_person = (
        its_choices.group_by("participant")
        .agg(pl.col("response").n_unique().alias("distinct"))
        .collect(engine="streaming")
    )
    response_counts = (
        its_choices.group_by("response")
        .agg(pl.len().alias("n"))
        .sort(["n", "response"], descending=[True, False])
        .collect(engine="streaming")
    )
    discrete, options = option_set(per_person["distinct"], response_counts["response"])
    card = {
        "experiment": experiment,
        "source": provenance.source,
        "licence": provenance.licence,
        "citation": provenance.citations,
        "counts": {
            "participants": people.height,
            "sessions": sessions.height,
            "sessions_per_participant": describe(people["sessions"]),
            "choices": int(response_counts["n"].sum()),
            "choices_per_participant": describe(people["n_choices"]),
            "transcript_chars": describe(sessions["transcript_chars"]),
            "response_chars": describe_lazy(its_choices, pl.col("response").str.len_chars()),
        },
        "experiment_field": top_values(sessions["experiment_field"], 3),
        "fields": {
            name: describe_field(sessions[name])
            for name in sessions.columns
            if name not in FIXED_PARTICIPANT_COLUMNS
            and sessions[name].null_count() < sessions.height
        },
        "responses": {
            "distinct": response_counts.height,
            "top": {r: int(n) for r, n in response_counts.head(TOP_VALUES).iter_rows()},
            "distinct_per_participant": describe(per_person["distinct"]),
        },
        "rts": describe_lazy(its_choices, pl.col("rt")),
        "discrete": discrete,
        "options": options,
        "quirks": quirks,
    }
    if trials is not None:
        card["trials"] = trials
    card["quirks"] = sorted({*quirks, *derived_quirks(card)})
    return card


def trial_section(transcript: str, spans: list[tuple[int, int]], participant: str) -> dict:
    """How C4's interleaving cuts one transcript into trials (study.hosting.trials): the
    first trial's length (it holds the instructions), the second trial's text (what
    every later trial holds) and the text after the last response (which no trial holds).

    >>> trial_section("Go <<L>> won. Go <<R>> lost.", [(5, 6), (19, 20)], "7")["example"]
    ' won. Go <<R>>'
    """
    cut = cut_trials(transcript, spans)
    return {
        "participant": participant,
        "first_trial_chars": len(cut[0].text) if cut else 0,
        "example": _shortened(cut[1].text) if len(cut) > 1 else None,
        "after_last": _shortened(after_last(transcript, spans)),
    }


def _shortened(text: str, keep: int = EXCERPT_CHARS) -> str:
    """``text``, or its start and end around `` … `` when longer than 2 x ``keep``."""
    return text if len(text) <= 2 * keep else f"{text[:keep]} … {text[-keep:]}"


def derived_quirks(card: dict[str, Any]) -> list[str]:
    """Quirks visible in the computed card (the loader notes those of the raw format)."""
    quirks = []
    for raw in card["experiment_field"]:
        if any(sep in raw.strip("/\\") for sep in "/\\"):
            quirks.append(
                "the raw `experiment` field holds a file path, not a name; the `experiment` "
                "column uses the folder name instead (raw value kept as `experiment_field`)"
            )
        elif raw != card["experiment"]:
            quirks.append(
                f"the raw `experiment` field (`{raw}`) differs from the folder name, which "
                "the `experiment` column uses (raw value kept as `experiment_field`)"
            )
    longest = (card["counts"]["transcript_chars"] or {}).get("max", 0)
    if longest > LONG_TRANSCRIPT_CHARS:
        quirks.append(f"very long transcripts (up to {longest} characters)")
    if (card["counts"]["response_chars"] or {}).get("max", 0) > 1:
        example = max(card["responses"]["top"], key=len)
        quirks.append(
            f"responses longer than one character (e.g. `{example}`): a response may span "
            "several tokens"
        )
    per_person = card["responses"]["distinct_per_participant"] or {}
    if card["discrete"] and not card["options"] and card["responses"]["distinct"] > 2:
        quirks.append(
            f"option labels differ between participants ({card['responses']['distinct']} "
            "distinct responses in all); there is no experiment-wide option list"
        )
        if per_person.get("max", 0) > 2:
            quirks.append(
                f"a participant gives up to {per_person['max']} distinct responses "
                f"(median {per_person['median']}): check whether every choice point offers "
                "all of a participant's options, or only some"
            )
    return quirks


def option_set(
    distinct_per_person: pl.Series, responses: pl.Series
) -> tuple[bool, list[str] | None]:
    """Whether the experiment is a discrete choice, and its fixed option list if it has one.

    >>> option_set(pl.Series([2, 2, 1]), pl.Series(["L", "R"]))
    (True, ['L', 'R'])
    >>> option_set(pl.Series([2, 2, 2]), pl.Series(list("ABCDEF")))
    (True, None)
    """
    if distinct_per_person.is_empty() or distinct_per_person.max() > MAX_DISCRETE_OPTIONS:  # type: ignore[operator]
        return False, None
    n_options = responses.len()
    used_all = (distinct_per_person == n_options).mean()
    if used_all is not None and float(used_all) >= FIXED_OPTIONS_SHARE:  # type: ignore[arg-type]
        return True, sorted(responses.to_list())
    return True, None


def describe(values: pl.Series) -> dict[str, float | int] | None:
    """min, quartiles, max and mean of a numeric column (nulls dropped)."""
    return describe_lazy(values.to_frame("x").lazy(), pl.col("x"))


def describe_lazy(frame: pl.LazyFrame, column: pl.Expr) -> dict[str, float | int] | None:
    """:func:`describe` of an expression over a lazy frame, computed without first
    collecting the column (a choices table may hold millions of rows).

    >>> describe(pl.Series([1.0, None, 3.0, 2.0]))
    {'min': 1, 'q25': 1.5, 'median': 2, 'q75': 2.5, 'max': 3, 'mean': 2}
    """
    stats = frame.select(
        min=column.min(),
        q25=column.quantile(0.25, interpolation="linear"),
        median=column.median(),
        q75=column.quantile(0.75, interpolation="linear"),
        max=column.max(),
        mean=column.mean(),
    ).collect(engine="streaming")
    if stats["min"][0] is None:
        return None
    return {name: tidy_number(value) for name, value in stats.row(0, named=True).items()}


def describe_field(values: pl.Series) -> dict[str, Any]:
    """A profile field's type, how often it is present, and its distribution."""
    summary: dict[str, Any] = {
        "type": "number" if values.dtype == pl.Float64 else "text",
        "present": values.len() - values.null_count(),
        "missing": values.null_count(),
    }
    if values.dtype == pl.Float64:
        summary["distribution"] = describe(values)
    else:
        summary["distinct"] = values.drop_nulls().n_unique()
        summary["top"] = top_values(values, TOP_VALUES)
    return summary


def top_values(values: pl.Series, k: int) -> dict[str, int]:
    """The k most frequent values with their counts (ties broken alphabetically)."""
    counts = (
        values.drop_nulls()
        .cast(pl.String)
        .value_counts(name="n")
        .sort(["n", values.name], descending=[True, False])
        .head(k)
    )
    return {str(v): int(n) for v, n in counts.iter_rows()}


def tidy_number(value: float | int) -> float | int:
    """Round to 4 significant digits; whole numbers become ints (cards are read by people).

    >>> tidy_number(3.14159), tidy_number(12.0), tidy_number(123456.7)
    (3.142, 12, 123457)
    """
    value = float(value)
    if not math.isfinite(value):
        return value
    if value.is_integer():
        return int(value)
    digits = 4 - math.floor(math.log10(abs(value))) - 1
    rounded = round(value, max(digits, 0))
    return int(rounded) if float(rounded).is_integer() else rounded


def write_card_yaml(card: dict[str, Any], path: Path) -> None:
    """The machine-readable card (key order kept, so the file diffs well)."""
    text = yaml.safe_dump(card, sort_keys=False, allow_unicode=True, width=100)
    path.write_text(f"# Generated by `python -m study stage=cards`; do not edit.\n{text}")


def read_card_yaml(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        card = yaml.safe_load(handle)
    if not isinstance(card, dict):
        raise ValueError(f"{path}: a data card must be a YAML mapping")
    return card
