"""The Psych-201 profile preamble: one Interviewer/Interviewee pair per known field."""

from __future__ import annotations

import math
from collections.abc import Mapping

from study.records import ProfileValue


def format_value(value: ProfileValue) -> str | None:
    """How a profile value reads in an answer; None when the value is missing.

    >>> format_value(31.0), format_value(2.5), format_value(" Female "), format_value(None)
    ('31', '2.5', 'Female', None)
    >>> format_value(float("nan")) is None, format_value("") is None
    (True, True)
    """
    if value is None:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    text = str(value).strip()
    return text or None


def render_preamble(profile: Mapping[str, ProfileValue], questions: Mapping[str, str]) -> str:
    """The preamble for ``profile``: pairs in the order of ``questions``, blank line
    between pairs, fields missing from the profile skipped.

    >>> print(render_preamble({"age": 31.0, "gender": None},
    ...       {"age": "What is your age?", "gender": "What is your gender?"}))
    Interviewer: What is your age?
    Interviewee: 31
    >>> render_preamble({"condition": "repeated"}, {"age": "What is your age?"})
    ''
    """
    pairs = []
    for field_name, question in questions.items():
        answer = format_value(profile.get(field_name))
        if answer is not None:
            pairs.append(f"Interviewer: {question}\nInterviewee: {answer}")
    return "\n\n".join(pairs)
