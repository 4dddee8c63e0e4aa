"""What a claim rests on, and whether its interval decides it (STUDY.md, "Precision,
stated").

Every claim's report section states the persons, items (choice points), personas and
runs behind it, counted from the very rows its estimate used (:func:`count`), and a
verdict from its interval and a region of practical equivalence (:func:`rope_verdict`):
an interval inside ``[-rope, rope]`` decides "no practical effect", one wholly outside
decides "an effect", anything else leaves the claim "undecided at this size".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import numpy as np
import polars as pl

PERSON = ["experiment", "participant"]


@dataclass(frozen=True)
class Evidence:
    """Counts of the rows behind an estimate. ``runs`` is None for scored (deterministic,
    teacher-forced) rows, which have one value per prompt."""

    persons: int
    experiments: int
    sessions: int
    choice_points: int
    items: int
    personas: tuple[str, ...]
    runs: int | None
    rows: int

    def sentence(self) -> str:
        """One line for a report.

        >>> print(Evidence(12, 3, 12, 240, 60, ("none", "own"), 3, 1440).sentence())
        ... # doctest: +NORMALIZE_WHITESPACE
        12 persons in 3 experiments; 240 choice points (60 items); 2 personas (none, own);
        3 runs each (1440 rows)
        """
        sessions = f" ({_n(self.sessions, 'session')})" if self.sessions != self.persons else ""
        runs = "scored once each (deterministic)" if self.runs is None else _n(self.runs, "run")
        return (
            f"{_n(self.persons, 'person')} in {_n(self.experiments, 'experiment')}{sessions}; "
            f"{_n(self.choice_points, 'choice point')} ({_n(self.items, 'item')}); "
            f"{_n(len(self.personas), 'persona')} ({', '.join(self.personas)}); "
            f"{runs}{' each' if self.runs is not None else ''} ({_n(self.rows, 'row')})"
        )


def _n(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def count(frame: pl.DataFrame) -> Evidence:
    """The evidence in long response rows (a respond step's ``scores.parquet`` or
    ``samples.parquet``): a person is (experiment, participant), a session adds the
    ``session`` column where the data has one, an item is (experiment, choice), a choice
    point is one transcript's choice, runs are the most runs of any choice point.

    >>> rows = pl.DataFrame({"experiment": ["a", "a", "b", "b"], "participant": ["1"] * 4,
    ...     "persona": ["none", "own", "none", "own"], "choice": [0, 0, 0, 0]})
    >>> e = count(rows)
    >>> e.persons, e.items, e.choice_points, e.personas, e.runs
    (2, 2, 2, ('none', 'own'), None)
    """
    session = [*PERSON, "session"] if "session" in frame.columns else PERSON
    personas = tuple(frame["persona"].unique(maintain_order=True).cast(pl.String).to_list())
    runs = None
    if "run" in frame.columns and frame.height:
        per_point = frame.group_by([*session, "persona", "choice"]).agg(pl.col("run").n_unique())
        runs = int(per_point["run"].max())  # type: ignore[arg-type]
    return Evidence(
        persons=frame.select(PERSON).n_unique() if frame.height else 0,
        experiments=frame["experiment"].n_unique(),
        sessions=frame.select(session).n_unique() if frame.height else 0,
        choice_points=frame.select([*session, "choice"]).n_unique() if frame.height else 0,
        items=frame.select("experiment", "choice").n_unique() if frame.height else 0,
        personas=personas,
        runs=runs,
        rows=frame.height,
    )


def persons_without(frame: pl.DataFrame, persona: str, *, having: str = "none") -> int:
    """How many persons have ``having`` rows but no ``persona`` rows. With
    ``persona="other", having="own"``: persons with a preamble whose experiment has no
    participant with a different one, so no placebo exists for them (persons without
    any profile field have neither row and are not counted).

    >>> rows = pl.DataFrame({"experiment": ["a", "a", "a"], "participant": ["1", "1", "2"],
    ...     "persona": ["none", "other", "none"]})
    >>> persons_without(rows, "other")
    1
    """
    persons = frame.select([*PERSON, "persona"]).unique()
    have = persons.filter(pl.col("persona") == having).select(PERSON)
    got = persons.filter(pl.col("persona") == persona).select(PERSON)
    return have.join(got, on=PERSON, how="anti").height


class Decision(Enum):
    INSIDE = "inside"
    OUTSIDE = "outside"
    UNDECIDED = "undecided"


def rope_verdict(lower: float, upper: float, rope: float) -> Decision:
    """Whether an interval decides a claim against the ROPE ``[-rope, rope]``.

    >>> [rope_verdict(*i, 0.01).value for i in [(-0.005, 0.008), (0.02, 0.05), (-0.02, 0.005)]]
    ['inside', 'outside', 'undecided']
    """
    if lower > rope or upper < -rope:
        return Decision.OUTSIDE
    if -rope <= lower and upper <= rope:
        return Decision.INSIDE
    return Decision.UNDECIDED


def decision_text(decision: Decision) -> str:
    """The verdict in words (the section states the ROPE's width once).

    >>> decision_text(Decision.UNDECIDED)
    'undecided at this size'
    """
    match decision:
        case Decision.INSIDE:
            return "inside the ROPE (no practical effect)"
        case Decision.OUTSIDE:
            return "outside the ROPE (a practical effect)"
    return "undecided at this size"


def rests_on(by_model: dict[str, Evidence]) -> str:
    """The "Rests on" paragraph of a section: one line when every model's estimate used
    the same counts, else one list item per model.

    >>> e = Evidence(2, 1, 2, 20, 10, ("none",), None, 20)
    >>> print(rests_on({"a": e, "b": e}))  # doctest: +NORMALIZE_WHITESPACE
    Rests on, for each of 2 models: 2 persons in 1 experiment; 20 choice points
    (10 items); 1 persona (none); scored once each (deterministic) (20 rows).
    """
    sentences = {model: e.sentence() for model, e in by_model.items()}
    if len(set(sentences.values())) == 1:
        (sentence,) = set(sentences.values())
        who = "" if len(sentences) == 1 else f", for each of {len(sentences)} models"
        return f"Rests on{who}: {sentence}."
    return "Rests on, per model:\n" + "\n".join(f"- {m}: {s}" for m, s in sentences.items())


def share_draws(v1_folder: Path, component: str) -> np.ndarray:
    """A V1 fit's posterior draws of one component's data-scale share, flattened over
    chains (draws paired by index across components of the same fit)."""
    from study.variance import load_tree

    tree = load_tree(v1_folder / "posterior.nc")
    shares = tree["posterior"]["data_share"].sel(data_component=component)
    return np.asarray(shares.values).ravel()
