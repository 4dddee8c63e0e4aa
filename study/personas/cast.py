"""How one profile value is written in a preamble answer (``PreambleField``'s rules).

The rules are data (``conf/preamble/``) so that a user can correct them; this module
only applies them. A value that comes out missing gives no preamble line at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from study.errors import ConfigError
from study.personas.config import CASTS, PreambleField
from study.records import ProfileValue


def format_value(value: ProfileValue) -> str | None:
    """A value as the ``text`` cast writes it (before replacements and spellings);
    None when it is missing.

    Whole numbers lose their point (the profile stores every number as a float, so
    ``31`` and ``31.0`` in the source both arrive as 31.0); other numbers read as
    Python writes them; text is stripped.

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


@dataclass(frozen=True, slots=True)
class FieldRule:
    """A checked :class:`PreambleField`: the question and the casting of one field."""

    name: str
    question: str
    cast: str
    low: float | None
    high: float | None
    replace: tuple[tuple[str, str], ...]
    # Spelling (lower-cased when ignore_case) -> the written value, or None: missing.
    spellings: dict[str, str | None]
    ignore_case: bool

    @classmethod
    def of(cls, name: str, spec: PreambleField) -> FieldRule:
        """Check ``spec`` (the config of field ``name``) and compile its spellings.

        >>> FieldRule.of("age", PreambleField(question="Age?", cast="years"))
        Traceback (most recent call last):
        ...
        study.errors.ConfigError: preamble.fields.age.cast: unknown cast 'years'; use \
float, integer or text
        """
        where = f"preamble.fields.{name}"
        if not spec.question or not spec.question.strip():
            raise ConfigError(f"{where}.question is empty; every field needs its question")
        if spec.cast not in CASTS:
            raise ConfigError(
                f"{where}.cast: unknown cast {spec.cast!r}; use float, integer or text"
            )
        if spec.low is not None and spec.high is not None and spec.low > spec.high:
            raise ConfigError(f"{where}: low ({spec.low}) is above high ({spec.high})")
        spellings: dict[str, str | None] = {}
        listed: list[tuple[str | None, str]] = [
            (w, s) for w, group in spec.values.items() for s in group
        ]
        listed += [(None, s) for s in spec.missing]
        for written, spelling in listed:
            key = spelling.lower() if spec.ignore_case else spelling
            if key in spellings and spellings[key] != written:
                raise ConfigError(
                    f"{where}: spelling {spelling!r} is listed under both "
                    f"{spellings[key]!r} and {written!r} (null: missing)"
                )
            spellings[key] = written
        return cls(
            name=name,
            question=spec.question.strip(),
            cast=spec.cast,
            low=spec.low,
            high=spec.high,
            replace=tuple(spec.replace.items()),
            spellings=spellings,
            ignore_case=spec.ignore_case,
        )

    def write(self, value: ProfileValue) -> str | None:
        """The answer for ``value``, or None when there is none to give.

        >>> age = FieldRule.of("age", PreambleField("Age?", cast="float", low=0, high=100))
        >>> age.write(37.0), age.write(101.0), age.write("eighteen")
        ('37.0', None, None)
        >>> sex = FieldRule.of("gender", PreambleField("Gender?", values={"female": ["F"]},
        ...                                            missing=["Prefer not to say"]))
        >>> sex.write("F"), sex.write("Prefer not to say"), sex.write("nonbinary")
        ('female', None, 'nonbinary')
        """
        text = self._cast(value)
        if text is None:
            return None
        for old, new in self.replace:
            text = text.replace(old, new)
        text = text.strip()
        key = text.lower() if self.ignore_case else text
        written = self.spellings.get(key, text)
        if written is None:
            return None
        return written.strip() or None

    def _cast(self, value: ProfileValue) -> str | None:
        if value is None or isinstance(value, str):
            # Numbers arrive as floats (study.data.values), so text here is not a number.
            return format_value(value) if self.cast == "text" else None
        if math.isnan(value) or not self._in_range(value):
            return None
        if self.cast == "float":
            return str(float(value))
        if self.cast == "integer":
            return None if math.isinf(value) else str(int(value))
        return format_value(value)

    def _in_range(self, value: float) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)
