"""The profile preamble of the `own` and `other` conditions (STUDY.md, "Preamble").

For each configured field the participant has, in order, ``Interviewer: QUESTION``,
``Interviewee: VALUE`` and a blank line; the transcript follows the last blank line. A
participant with no field gets the empty preamble (and no `own` or `other` prompt).
Which profile key feeds which field, and how values are written, is data
(:class:`~study.personas.config.PreambleConfig`); :class:`Preamble` checks it once and
applies it to every participant.
"""

from __future__ import annotations

from collections.abc import Mapping

from study.errors import ConfigError
from study.personas.cast import FieldRule
from study.personas.config import PreambleConfig
from study.personas.truncate import check_limit
from study.records import ProfileValue


class Preamble:
    """A checked preamble configuration.

    >>> from study.personas.config import PreambleField
    >>> cfg = PreambleConfig(
    ...     fields={"age": PreambleField("What is your age?", cast="float"),
    ...             "clinical diagnosis": PreambleField("Any diagnosis?", missing=["Healthy"])},
    ...     keys={"age": "age", "diagnosis": "clinical diagnosis"})
    >>> print(Preamble(cfg).text("e", {"age": 31.0, "diagnosis": "Bipolar"}), end="|")
    Interviewer: What is your age?
    Interviewee: 31.0
    <BLANKLINE>
    Interviewer: Any diagnosis?
    Interviewee: Bipolar
    <BLANKLINE>
    |
    >>> Preamble(cfg).text("e", {"diagnosis": "Healthy", "condition": "A"})
    ''
    """

    def __init__(self, cfg: PreambleConfig) -> None:
        check_limit(cfg.max_prompt_chars)
        # Every rendered prompt is cut to this many characters (None: never).
        self.max_chars = cfg.max_prompt_chars
        self.rules = [FieldRule.of(name, spec) for name, spec in cfg.fields.items()]
        known = {rule.name for rule in self.rules}
        self._default = _checked_keys(dict(cfg.keys), known, "preamble.keys")
        self._overrides = {
            experiment: _checked_keys(dict(keys), known, f"preamble.experiments.{experiment}")
            for experiment, keys in cfg.experiments.items()
        }
        self._sources: dict[str, dict[str, tuple[str, ...]]] = {}

    def sources(self, experiment: str) -> dict[str, tuple[str, ...]]:
        """Field -> the profile keys read for it in ``experiment``, the winner last.

        >>> from study.personas.config import PreambleField
        >>> cfg = PreambleConfig(fields={"gender": PreambleField("Gender?")},
        ...                      keys={"gender": "gender", "sex": "gender"},
        ...                      experiments={"kids": {"sex": None}})
        >>> Preamble(cfg).sources("adults"), Preamble(cfg).sources("kids")
        ({'gender': ('gender', 'sex')}, {'gender': ('gender',)})
        """
        if experiment not in self._sources:
            merged = {**self._default, **self._overrides.get(experiment, {})}
            by_field: dict[str, list[str]] = {rule.name: [] for rule in self.rules}
            for key, target in merged.items():
                if target is not None:
                    by_field[target].append(key)
            self._sources[experiment] = {f: tuple(keys) for f, keys in by_field.items()}
        return self._sources[experiment]

    def answers(
        self, experiment: str, profile: Mapping[str, ProfileValue]
    ) -> list[tuple[FieldRule, ProfileValue, str]]:
        """(field, the profile value read, its written answer) for each field the
        participant has, in the configured order (C4's partner distances compare them)."""
        sources = self.sources(experiment)
        found = []
        for rule in self.rules:
            present = [key for key in sources[rule.name] if key in profile]
            if not present:
                continue
            value = profile[present[-1]]
            answer = rule.write(value)
            if answer is not None:
                found.append((rule, value, answer))
        return found

    def lines(self, experiment: str, profile: Mapping[str, ProfileValue]) -> list[tuple[str, str]]:
        """(question, answer) for each field the participant has, in the configured order."""
        return [(rule.question, answer) for rule, _, answer in self.answers(experiment, profile)]

    def text(self, experiment: str, profile: Mapping[str, ProfileValue]) -> str:
        """The preamble, each pair followed by a blank line; '' when there is none."""
        return "".join(
            f"Interviewer: {question}\nInterviewee: {answer}\n\n"
            for question, answer in self.lines(experiment, profile)
        )


def _checked_keys(keys: dict[str, str | None], known: set[str], where: str) -> dict:
    for key, target in keys.items():
        if target is not None and target not in known:
            raise ConfigError(
                f"{where}: key {key!r} is mapped to {target!r}, which is not one of "
                f"preamble.fields ({', '.join(sorted(known)) or 'none configured'})"
            )
    return keys


def render_preamble(
    profile: Mapping[str, ProfileValue], cfg: PreambleConfig, experiment: str = ""
) -> str:
    """The preamble of one profile (checks ``cfg`` each call; use :class:`Preamble` for
    many participants).

    >>> from study.personas.config import PreambleField
    >>> cfg = PreambleConfig(fields={"age": PreambleField("How old are you?")},
    ...                      keys={"age": "age"})
    >>> render_preamble({"age": 31.0}, cfg)
    'Interviewer: How old are you?\\nInterviewee: 31\\n\\n'
    """
    return Preamble(cfg).text(experiment, profile)
