"""Reading in batches (the tables) and line by line (Participant objects) agree: the
same responses and spans for good input, the same first error for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from study.data import iter_participants
from study.data.batches import iter_batches
from study.data.loader import SHIPPED_DATA
from study.data.reader import iter_records
from study.data.tables import build_tables
from study.errors import StudyInputError

PIECE = st.text(alphabet="ab <>é\n", max_size=12)
PROSE = st.text(alphabet="ab é\n", max_size=12)
GOOD_TEXT = st.lists(
    st.tuples(PROSE, st.text("xyé ", min_size=1)),
    min_size=1,
    max_size=6,
).map(lambda parts: "".join(f"{prose}<<{response}>>" for prose, response in parts))


@st.composite
def lines(draw: st.DrawFn) -> list[bytes]:
    """Mostly good lines, some with a bad transcript, RTs or id, in any order; ids repeat
    (a participant's later lines are sessions; the same id and text, a duplicate)."""
    out = []
    for i in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(["good", "good", "good", "markers", "rts", "id", "json"]))
        text = draw(GOOD_TEXT) if kind != "markers" else draw(PIECE)
        record: dict[str, object] = {"text": text, "participant": i % 4, "experiment": "e"}
        if draw(st.booleans()):
            n = text.count("<<")
            record["RTs"] = [str(100 + k) for k in range(n + (kind == "rts"))]
        if kind == "id":
            record["participant"] = draw(st.sampled_from([0, None, " "]))
        line = json.dumps(record).encode()
        out.append(line[:-1] if kind == "json" else line)
    return out


@settings(max_examples=40, deadline=None)
@given(lines(), st.integers(1, 40))
def test_batches_and_lines_agree(tmp_path_factory, raw: list[bytes], batch_chars: int) -> None:
    path: Path = tmp_path_factory.mktemp("e") / "prompts.jsonl"
    path.write_bytes(b"\n".join(raw) + b"\n")
    try:
        people = list(iter_participants(path))
    except StudyInputError as line_error:
        with pytest.raises(StudyInputError) as batch_error:
            build_tables(iter_batches(path, batch_chars=batch_chars))
        assert str(batch_error.value) == str(line_error)
        return
    _, choices = build_tables(iter_batches(path, batch_chars=batch_chars))
    expected = [
        (p.participant, c.session, c.index, c.response, c.start, c.end, c.rt)
        for p in people
        for c in p.choices
    ]
    assert choices.drop("experiment").rows() == expected


def test_shipped_data_in_small_batches_matches_line_by_line() -> None:
    _, choices = build_tables(iter_batches(SHIPPED_DATA, limit=15, batch_chars=20_000))
    expected = pl.DataFrame(
        [
            (r.experiment, r.participant, r.session, k, text, start, end)
            for r in iter_records(SHIPPED_DATA, limit=15)
            for k, (text, start, end) in enumerate(
                zip(r.responses.texts, r.responses.starts, r.responses.ends, strict=True)
            )
        ],
        schema=["experiment", "participant", "session", "index", "response", "start", "end"],
        orient="row",
    )
    assert choices.drop("rt").rows() == expected.rows()
