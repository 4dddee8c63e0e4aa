"""Properties of the transcript parser (hypothesis): round trips, marker edge cases,
offsets that point at the response."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from study.data import iter_participants
from study.data.transcript import MarkerError, find_responses

# Prose and responses that cannot form a marker by themselves or with their neighbours:
# no "<<" or ">>" inside, prose not ending in "<" and responses not ending in ">" (those
# would fuse with the marker next to them, see the edge-case tests below).
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
PROSE = TEXT.filter(lambda s: "<<" not in s and ">>" not in s and not s.endswith("<"))
RESPONSE = TEXT.filter(
    lambda s: s != "" and "<<" not in s and ">>" not in s and not s.endswith(">")
)


def reference_spans(text: str) -> list[tuple[int, int]] | None:
    """A deliberately simple reader: markers left to right, None if they do not pair."""
    spans, opened = [], None
    for marker in re.finditer("<<|>>", text):
        if marker.group() == "<<":
            if opened is not None:
                return None
            opened = marker.end()
        else:
            if opened is None:
                return None
            spans.append((opened, marker.start()))
            opened = None
    return None if opened is not None else spans


def build(prose: list[str], responses: list[str]) -> str:
    parts = [prose[0]]
    for response, after in zip(responses, prose[1:], strict=True):
        parts += ["<<", response, ">>", after]
    return "".join(parts)


@st.composite
def transcripts(draw: st.DrawFn) -> tuple[str, list[str]]:
    responses = draw(st.lists(RESPONSE, min_size=0, max_size=12))
    prose = draw(st.lists(PROSE, min_size=len(responses) + 1, max_size=len(responses) + 1))
    return build(prose, responses), responses


@given(transcripts())
def test_round_trip_of_generated_transcripts(case: tuple[str, list[str]]) -> None:
    transcript, responses = case
    found = find_responses(transcript)
    assert found.texts == responses
    for text, start, end in zip(found.texts, found.starts, found.ends, strict=True):
        assert transcript[start:end] == text
        assert transcript[start - 2 : start] == "<<"
        assert transcript[end : end + 2] == ">>"


MARKERISH = st.text(alphabet="<>a \n", max_size=40)


@given(MARKERISH)
def test_agrees_with_a_simple_left_to_right_reader(text: str) -> None:
    expected = reference_spans(text)
    try:
        found = find_responses(text)
    except MarkerError as err:
        assert expected is None
        assert text[err.offset : err.offset + 2] in {"<<", ">>"}
        return
    assert expected == list(zip(found.starts, found.ends, strict=True))


@pytest.mark.parametrize(
    ("transcript", "responses"),
    [
        ("<<<a>>", ["<a"]),  # a third "<" belongs to the response
        ("<<a>>>", ["a"]),  # a third ">" follows the response
        ("<<a>b>> <<a<b>>", ["a>b", "a<b"]),  # single angle brackets are text
        ("<<crest CAUSES take>>", ["crest CAUSES take"]),  # multi-token responses
        ("<<line\nbreak>>", ["line\nbreak"]),
        ("<<ünï ✓>> then <<日本>>", ["ünï ✓", "日本"]),
    ],
)
def test_marker_edge_cases(transcript: str, responses: list[str]) -> None:
    assert find_responses(transcript).texts == responses


@pytest.mark.parametrize(
    ("transcript", "offset"),
    [("<<a", 0), ("a>>", 1), ("<<a <<b>>", 4), ("<<a>> >>", 6), ("<<<<a>>", 2)],
)
def test_marker_errors_point_at_the_offending_marker(transcript: str, offset: int) -> None:
    with pytest.raises(MarkerError) as caught:
        find_responses(transcript)
    assert caught.value.offset == offset


@settings(max_examples=40, deadline=None)
@given(st.lists(transcripts().filter(lambda c: len(c[1]) > 0), min_size=1, max_size=5))
def test_loaded_offsets_point_at_the_response(tmp_path_factory, cases) -> None:
    """Through JSON escaping and UTF-8: offsets index the decoded transcript."""
    folder: Path = tmp_path_factory.mktemp("exp")
    lines = [
        json.dumps({"text": transcript, "participant": i, "experiment": "x"}, ensure_ascii=i % 2)
        for i, (transcript, _) in enumerate(cases)
    ]
    (folder / "prompts.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    people = list(iter_participants(folder / "prompts.jsonl"))
    assert len(people) == len(cases)
    for person, (transcript, responses) in zip(people, cases, strict=True):
        assert person.transcript == transcript
        assert [c.response for c in person.choices] == responses
        for choice in person.choices:
            assert person.transcript[choice.start : choice.end] == choice.response
            assert person.transcript[: choice.marker_start].count("<<") == choice.index
