"""The prompt length limit: at most N characters, never inside an open `<<`, spans kept
on their responses (STUDY.md, "Truncation")."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from study.errors import ConfigError
from study.personas import PersonaCondition, Preamble, render, render_all, truncate
from study.personas.render import RenderedPrompt
from study.records import ChoicePoint, Participant
from tests.personas.helpers import TEXTS, preamble_config, shipped

# Transcript pieces: text between responses (no markers), and responses.
filler = st.text(alphabet="ab .\n", max_size=12)
answer = st.text(alphabet="LR0123", min_size=1, max_size=4)


def transcript_with(pieces: list[tuple[str, str]], tail: str) -> Participant:
    text, choices = "", []
    for k, (before, response) in enumerate(pieces):
        text += before + "<<"
        choices.append(ChoicePoint("e", "p", k, response, len(text), len(text) + len(response)))
        text += response + ">>"
    return Participant("e", "p", text + tail, choices=tuple(choices))


@settings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(st.tuples(filler, answer), max_size=12),
    tail=filler,
    head=st.text(alphabet="xy:\n", max_size=20),
    limit=st.integers(1, 200),
)
def test_kept_spans_lie_inside_and_dropped_ones_start_past_the_cut(
    pieces: list[tuple[str, str]], tail: str, head: str, limit: int
) -> None:
    person = transcript_with(pieces, tail)
    full = RenderedPrompt(
        "e",
        "p",
        "own",
        "p",
        head + person.transcript,
        tuple((c.start + len(head), c.end + len(head)) for c in person.choices),
        tuple(c.response for c in person.choices),
    )
    cut = truncate(full, limit)
    assert len(cut.prompt) <= limit
    assert full.prompt.startswith(cut.prompt)
    assert cut.prompt.count("<<") == cut.prompt.count(">>"), "no open << at the end"
    kept = len(cut.spans)
    assert cut.spans == full.spans[:kept] and cut.responses == full.responses[:kept]
    for (start, end), response in zip(cut.spans, cut.responses, strict=True):
        assert end + 2 <= len(cut.prompt) and cut.prompt[start:end] == response
        assert cut.prompt[end : end + 2] == ">>"
    for start, _ in full.spans[kept:]:
        assert start - 2 >= len(cut.prompt), "a dropped choice point opens past the cut"
    # Nothing is dropped that fits: the first dropped one closes beyond the limit.
    if kept < len(full.spans):
        assert full.spans[kept][1] + 2 > limit
    if len(full.prompt) <= limit:
        assert cut == full


def test_every_condition_is_cut_at_the_paper_limit_on_long_transcripts() -> None:
    people = shipped("dezfouli2019", limit=10)
    assert {"Depression", "Bipolar"} <= {p.profile["diagnosis"] for p in people}
    assert max(len(p.transcript) for p in people) > 32768
    preamble = Preamble(preamble_config("paper"))
    conditions = [PersonaCondition(kind) for kind in ("none", "own", "other")]
    prompts = render_all(people, conditions, TEXTS, preamble, seed=0)
    assert {r.persona for r in prompts} == {"none", "own", "other"}
    for rendered in prompts:
        assert len(rendered.prompt) <= 32768
        assert [rendered.prompt[s:e] for s, e in rendered.spans] == list(rendered.responses)
        whole = next(p for p in people if p.participant == rendered.participant)
        assert 0 < len(rendered.spans) < len(whole.choices)
    by = {(r.participant, r.persona): r for r in prompts}
    for (participant, persona), rendered in by.items():
        if persona == "own":
            # The preamble takes room: `own` keeps no more choice points than `none`.
            assert len(rendered.spans) <= len(by[(participant, "none")].spans)


def test_no_limit_keeps_whole_transcripts() -> None:
    person = shipped("dezfouli2019", limit=1)[0]
    uncut = preamble_config("paper", "preamble.max_prompt_chars=null")
    rendered = render(person, PersonaCondition("none"), TEXTS, uncut)
    assert rendered.prompt == person.transcript and len(rendered.spans) == len(person.choices)


@pytest.mark.parametrize("limit", [0, -5])
def test_a_limit_below_one_is_a_configuration_error(limit: int) -> None:
    with pytest.raises(ConfigError, match="max_prompt_chars"):
        Preamble(preamble_config("paper", f"preamble.max_prompt_chars={limit}"))
