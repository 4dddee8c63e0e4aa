"""Configuration of what the model reads before a transcript (Hydra structured configs).

``conf/persona_texts/`` holds the fixed persona texts (archetypes, the assistant
request); ``conf/preamble/`` holds the profile preamble of the `own` and `other`
conditions: which fields, asked how, their values written how, and where the prompt is
cut (``preamble=paper``, the Psych-201 paper's, is the default; ``preamble=clean`` the
package's own).

The group is named ``persona_texts`` rather than ``personas`` because ``personas`` is the
top-level list of conditions (``personas=[none,own,other]``); a config group of the same
name would swallow that override.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# How a preamble field writes a value (PreambleField.cast).
CASTS = ("float", "integer", "text")

# The Psych-201 paper's prompt length limit, in characters (STUDY.md, "Truncation").
PAPER_MAX_PROMPT_CHARS = 32768


@dataclass
class PersonaTextsConfig:
    # archetype NAME -> the persona text placed before the transcript.
    archetypes: dict[str, str] = field(default_factory=dict)
    # The one user message of the `assistant` condition, rendered with the model's chat
    # template; the transcript follows as the assistant's reply.
    assistant_request: str = "Please take part in the following experiment."


@dataclass
class PreambleField:
    """One question of the preamble and how its answer is written.

    A value is cast first (``cast``: ``float`` writes a number as Python writes a float,
    ``18.0``; ``integer`` truncates it, ``12``; ``text`` writes whole numbers without a
    point, ``31``, other numbers as Python does, and text as given, stripped); ``float``
    and ``integer`` treat text that is not a number as missing, as do numbers outside
    [``low``, ``high``]. Then every ``replace`` pair is applied in order (substring ->
    replacement), then the spelling is looked up: one listed under ``values[WRITTEN]``
    is written as WRITTEN, one listed in ``missing`` means no answer, and any other is
    written as it stands. ``ignore_case`` compares spellings case-insensitively.
    """

    question: str = ""
    cast: str = "text"
    low: float | None = None
    high: float | None = None
    replace: dict[str, str] = field(default_factory=dict)
    values: dict[str, list[str]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    ignore_case: bool = False


@dataclass
class PreambleConfig:
    """The profile preamble (``conf/preamble/``) and the prompt length limit.

    For each field of ``fields`` (in order) that the participant has after casting, the
    preamble holds ``Interviewer: QUESTION``, ``Interviewee: VALUE`` and a blank line; the
    transcript follows. A participant's profile key K is read as field ``keys[K]``,
    unless ``experiments[EXPERIMENT]`` maps K itself (to another field, or to null: not
    read). When several keys of one participant map to the same field, the one listed
    last wins. Keys mapped nowhere (the experimental condition, say) stay out.
    """

    # A label for outputs and reports (paper, clean, ...).
    name: str = ""
    # Field -> its question and casting, in the order asked.
    fields: dict[str, PreambleField] = field(default_factory=dict)
    # Profile key -> field, for every experiment.
    keys: dict[str, str] = field(default_factory=dict)
    # Experiment (its folder name) -> profile key -> field or null, over ``keys``.
    experiments: dict[str, dict[str, str | None]] = field(default_factory=dict)
    # Every rendered prompt (any condition, `none` too) is cut to at most this many
    # characters, never inside an open `<<`; null scores whole transcripts.
    max_prompt_chars: int | None = PAPER_MAX_PROMPT_CHARS
