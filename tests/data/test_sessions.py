"""Sessions: a participant with several lines in one experiment (as held-back Psych-201
experiments have, e.g. one transcript per day) loads as one person with numbered
sessions, through the loader, the tables and the data stage alike."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import yaml

from study.config import Config
from study.data import iter_participants, load_tables
from study.data.stage import run
from study.errors import StudyInputError

DAYS = 3
PEOPLE = ("a1", "a2", "b7")


def day_text(person: str, day: int) -> str:
    """Each session its own transcript: other trials, other responses."""
    responses = ["L", "R"] if day % 2 == 0 else ["R", "R", "L"]
    trials = "".join(
        f"Day {day + 1}, trial {t}: you press <<{r}>>.\n" for t, r in enumerate(responses)
    )
    return f"Participant {person}, day {day + 1}.\n{trials}"


def three_day_lines(order: str = "by_day") -> list[dict]:
    """Every person's three sessions; ``by_day`` interleaves persons (all day-1 lines,
    then day 2, ...), ``by_person`` keeps each person's lines together."""
    pairs = (
        [(p, d) for d in range(DAYS) for p in PEOPLE]
        if order == "by_day"
        else [(p, d) for p in PEOPLE for d in range(DAYS)]
    )
    return [
        {
            "text": day_text(person, day),
            "experiment": "metacontrol",
            "participant": person,
            "age": 30 + PEOPLE.index(person),
        }
        for person, day in pairs
    ]


def write(folder: Path, records: list[dict]) -> Path:
    path = folder / "metacontrol" / "prompts.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.mark.parametrize("order", ["by_day", "by_person"])
def test_each_line_is_a_session_numbered_in_file_order(tmp_path: Path, order: str) -> None:
    records = three_day_lines(order)
    path = write(tmp_path, records)
    sessions = list(iter_participants(path))
    assert len(sessions) == len(PEOPLE) * DAYS
    for i, (record, session) in enumerate(zip(records, sessions, strict=True)):
        # In file order: how many lines of this participant came before.
        day = sum(r["participant"] == record["participant"] for r in records[:i])
        assert session.participant == record["participant"]
        assert session.session == day
        assert session.transcript == record["text"]
        assert session.key == ("metacontrol", record["participant"], day)
        assert session.person == ("metacontrol", record["participant"])
        assert {c.session for c in session.choices} == {day}
        assert session.profile["age"] == float(record["age"])
    assert len({s.key for s in sessions}) == len(sessions)
    assert len({s.person for s in sessions}) == len(PEOPLE)


@pytest.mark.parametrize("order", ["by_day", "by_person"])
def test_limit_counts_persons_with_all_their_sessions(tmp_path: Path, order: str) -> None:
    path = write(tmp_path, three_day_lines(order))
    kept = list(iter_participants(path, limit=2))
    assert sorted(s.key[1:] for s in kept) == [(p, d) for p in PEOPLE[:2] for d in range(DAYS)]
    participants, choices = load_tables(path, limit=2)
    assert participants.height == 2 * DAYS
    assert choices.select("participant", "session").unique().height == 2 * DAYS


def test_the_data_stage_writes_a_row_per_session_and_cards_count_them(tmp_path: Path) -> None:
    path = write(tmp_path / "in", three_day_lines())
    cfg = Config(stage="data", out=str(tmp_path / "out"))
    cfg.data.path = str(path.parent)
    run(cfg)
    out = tmp_path / "out"
    participants = pl.read_parquet(out / "participants.parquet")
    assert participants.columns[:3] == ["experiment", "participant", "session"]
    # File order is by day: the first three rows are everyone's first session.
    assert participants.select("participant", "session").rows()[:4] == [
        ("a1", 0),
        ("a2", 0),
        ("b7", 0),
        ("a1", 1),
    ]
    assert sorted(participants.select("participant", "session").rows()) == [
        (p, d) for p in PEOPLE for d in range(DAYS)
    ]
    choices = pl.read_parquet(out / "choices.parquet")
    per_session = choices.group_by("participant", "session").len().sort("participant", "session")
    # Even days have two responses, odd days three.
    assert per_session["len"].to_list() == [2, 3, 2] * len(PEOPLE)
    # The choice spans index the session's own transcript.
    texts = {(p, d): day_text(p, d) for p in PEOPLE for d in range(DAYS)}
    for row in choices.iter_rows(named=True):
        text = texts[(row["participant"], row["session"])]
        assert text[row["start"] : row["end"]] == row["response"]
    card = yaml.safe_load((out / "data_cards" / "metacontrol.yaml").read_text())
    counts = card["counts"]
    assert counts["participants"] == len(PEOPLE)
    assert counts["sessions"] == len(PEOPLE) * DAYS
    assert counts["sessions_per_participant"]["min"] == DAYS
    assert counts["choices_per_participant"]["max"] == 2 + 3 + 2
    markdown = (out / "data_cards" / "metacontrol.md").read_text()
    assert f"- sessions (transcripts, one per line): {len(PEOPLE) * DAYS}" in markdown
    summary = pl.read_csv(out / "summary.csv").row(0, named=True)
    assert (summary["participants"], summary["sessions"]) == (len(PEOPLE), len(PEOPLE) * DAYS)
    assert summary["sessions_per_participant_max"] == DAYS


def test_a_repeated_line_is_a_duplicate_naming_both_lines(tmp_path: Path) -> None:
    records = three_day_lines()
    # The first person's day-2 line again, as the last line (line 10).
    path = write(tmp_path, [*records, records[3]])
    with pytest.raises(StudyInputError) as caught:
        list(iter_participants(path))
    error = caught.value
    assert (error.line, error.participant, error.field) == (10, "a1", "text")
    assert error.file is not None and error.file.endswith("prompts.jsonl")
    assert "duplicate session" in str(error) and f"{path}:4" in str(error)
    with pytest.raises(StudyInputError, match="duplicate session"):
        load_tables(path)


def test_a_records_own_session_field_is_kept_apart(tmp_path: Path) -> None:
    records = [{**r, "session": "day one"} for r in three_day_lines()[:2]]
    path = write(tmp_path, records)
    first = next(iter_participants(path))
    assert first.session == 0 and first.profile["session_field"] == "day one"
    participants, _ = load_tables(path)
    assert participants["session"].to_list() == [0, 0]
    assert participants["session_field"].to_list() == ["day one", "day one"]
