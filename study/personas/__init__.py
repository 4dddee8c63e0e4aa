"""Persona conditions (STUDY.md, "Persona condition"): what the model reads before the
transcript.

``none`` (the transcript alone), ``own`` (the participant's profile as an
Interviewer/Interviewee preamble, ``conf/preamble/``), ``other`` (another participant's
preamble that reads differently, from a seeded derangement within the experiment),
``archetype:NAME`` (a fixed text from config) and ``assistant`` (the model's chat
template, no persona). Every prompt is cut to the preamble config's length limit.

>>> from study.records import Participant
>>> from study.personas.config import PersonaTextsConfig, PreambleConfig, PreambleField
>>> preamble = PreambleConfig(fields={"age": PreambleField("What is your age?", cast="float")},
...                           keys={"age": "age"})
>>> alice = Participant("exp", "a", "I choose <<A>>.", profile={"age": 31.0})
>>> texts = PersonaTextsConfig()
>>> print(render(alice, parse_condition("own", texts), texts, preamble).prompt)
Interviewer: What is your age?
Interviewee: 31.0
<BLANKLINE>
I choose <<A>>.
"""

from study.personas.conditions import PersonaCondition, parse_condition
from study.personas.derangement import Donors, assign_donors
from study.personas.preamble import Preamble, render_preamble
from study.personas.render import RenderedPrompt, render, render_all
from study.personas.truncate import truncate

__all__ = [
    "Donors",
    "PersonaCondition",
    "Preamble",
    "RenderedPrompt",
    "assign_donors",
    "parse_condition",
    "render",
    "render_all",
    "render_preamble",
    "truncate",
]
