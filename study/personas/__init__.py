"""Persona conditions (STUDY.md, "Persona condition"): what the model reads before the
transcript.

``none`` (the transcript alone), ``own`` (the participant's profile as an
Interviewer/Interviewee preamble), ``other`` (another participant's preamble, from a
seeded derangement within the experiment), ``archetype:NAME`` (a fixed text from
config) and ``assistant`` (the model's chat template, no persona).

>>> from study.records import Participant
>>> from study.personas.config import PersonaTextsConfig
>>> texts = PersonaTextsConfig(questions={"age": "How old are you?"})
>>> alice = Participant("exp", "a", "I choose <<A>>.", profile={"age": 31.0})
>>> print(render(alice, parse_condition("own", texts), texts).prompt)
Interviewer: How old are you?
Interviewee: 31
<BLANKLINE>
I choose <<A>>.
"""

from study.personas.conditions import PersonaCondition, parse_condition
from study.personas.derangement import assign_donors
from study.personas.preamble import format_value, render_preamble
from study.personas.render import RenderedPrompt, render, render_all

__all__ = [
    "PersonaCondition",
    "RenderedPrompt",
    "assign_donors",
    "format_value",
    "parse_condition",
    "render",
    "render_all",
    "render_preamble",
]
