"""What to fit: the outcome and the random-intercept components, from a formula or a list.

Two front ends give the same :class:`ModelSpec`:

- a factor list, ``factors=["person", "persona", "person:persona", "item"]``, where
  ``a:b`` is the interaction of columns ``a`` and ``b`` and ``a/b`` means ``b`` nested in
  ``a`` (expands to ``a`` and ``a:b``);
- an lme4/bambi/brms-style formula with random intercepts only,
  ``"y ~ 1 + (1|person) + (1|persona) + (1|person:persona) + (1|item)"``, where
  ``(1|a/b)`` nests ``b`` in ``a`` (``(1|a) + (1|a:b)``); a binomial outcome names its
  trials as ``"p(k, n) ~ ..."`` (bambi) or ``"k | trials(n) ~ ..."`` (brms).

The residual (replicate rows of one cell: the runs) is always the last component.

>>> spec = parse_formula("y ~ 1 + (1|person) + (1|persona) + (1|person:persona)")
>>> spec.outcome, [c.name for c in spec.components]
('y', ['person', 'persona', 'person:persona'])
>>> [c.name for c in components_from_factors(["experiment/participant"])]
['experiment', 'experiment:participant']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from study.errors import ConfigError


@dataclass(frozen=True)
class Component:
    """One random-intercept term: the columns whose level combinations it varies over."""

    columns: tuple[str, ...]

    @property
    def name(self) -> str:
        return ":".join(self.columns)


@dataclass(frozen=True)
class ModelSpec:
    """Outcome column, optional trials column (binomial) and random-intercept components."""

    outcome: str
    components: tuple[Component, ...]
    trials: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        """Every factor column the components use, in first-mention order."""
        seen: dict[str, None] = {}
        for component in self.components:
            for column in component.columns:
                seen.setdefault(column, None)
        return tuple(seen)


SUPPORTED = (
    "supported: the intercept '1' (or '0'), random intercepts '(1|a)', interactions "
    "'(1|a:b)' and nesting '(1|a/b)' (= '(1|a) + (1|a:b)'); outcomes 'y', 'p(k, n)' and "
    "'k | trials(n)'. This library estimates variance components: no fixed effects, "
    "random slopes or correlated terms"
)


def expand_factor(term: str) -> list[tuple[str, ...]]:
    """The components of one factor: ``a/b/c`` nests (``a``, ``a:b``, ``a:b:c``), each
    nesting level may be an interaction (``a:b/c`` gives ``a:b`` and ``a:b:c``).

    >>> expand_factor("experiment/participant")
    [('experiment',), ('experiment', 'participant')]
    """
    expanded: list[tuple[str, ...]] = []
    outer: tuple[str, ...] = ()
    for level in term.split("/"):
        outer = (*outer, *level.split(":"))
        expanded.append(outer)
    return expanded


def components_from_factors(factors: list[str] | tuple[str, ...]) -> tuple[Component, ...]:
    """Turn ``["a", "b", "a:b", "c/d"]`` into components; duplicates are an error."""
    components: list[Component] = []
    for raw in factors:
        term = raw.strip().replace(" ", "")
        if not term:
            raise ConfigError("empty factor name in the factor list")
        for columns in expand_factor(term):
            if any(not re.fullmatch(r"[^:/|()~+*,]+", c) for c in columns):
                raise ConfigError(
                    f"cannot read factor {raw!r}: expected 'a', 'a:b' or 'a/b' ({SUPPORTED})"
                )
            component = Component(columns)
            if component in components:
                raise ConfigError(f"factor {component.name!r} is listed twice")
            components.append(component)
    if not components:
        raise ConfigError("no factors given: name at least one grouping column")
    return tuple(components)


_FORMULA = re.compile(r"^\s*(?P<lhs>[^~]+?)\s*~\s*(?P<rhs>.+?)\s*$")
_TRIALS = re.compile(r"^(?P<k>[^|]+?)\s*\|\s*trials\(\s*(?P<n>[^)]+?)\s*\)$")
_PROPORTION = re.compile(r"^p\(\s*(?P<k>[^,()]+?)\s*,\s*(?P<n>[^,()]+?)\s*\)$")
_COLUMN = re.compile(r"^[^:/|()~+*,]+$")
_RANDOM_INTERCEPT = re.compile(r"^\(\s*1\s*\|\s*(?P<group>[^)|]+?)\s*\)$")


def parse_formula(formula: str) -> ModelSpec:
    """Read an lme4/bambi/brms-style random-intercepts formula.

    >>> parse_formula("k | trials(n) ~ (1|rater) + (1|rater:text)").trials
    'n'
    >>> parse_formula("p(k, n) ~ (1|rater)").outcome
    'k'
    >>> parse_formula("y ~ x + (1|g)")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    study.errors.ConfigError: formula term 'x' is not supported; supported: ...
    """
    match = _FORMULA.match(formula)
    if match is None:
        raise ConfigError(
            f"formula {formula!r} needs the form 'outcome ~ (1|group) + ...'; {SUPPORTED}"
        )
    lhs, trials = _outcome(match["lhs"].strip())
    factors: list[str] = []
    for term in _split_terms(match["rhs"]):
        if term in {"1", "0"}:
            continue
        intercept = _RANDOM_INTERCEPT.match(term)
        if intercept is None:
            raise ConfigError(f"formula term {term!r} is not supported; {SUPPORTED}")
        factors.append(intercept["group"])
    if not factors:
        raise ConfigError(f"formula {formula!r} has no random intercept '(1|group)'; {SUPPORTED}")
    return ModelSpec(outcome=lhs, components=components_from_factors(factors), trials=trials)


def _outcome(lhs: str) -> tuple[str, str | None]:
    """The outcome column and the trials column (binomial) of a formula's left side."""
    for pattern in (_TRIALS, _PROPORTION):
        found = pattern.match(lhs)
        if found is not None:
            successes, trials = found["k"].strip(), found["n"].strip()
            break
    else:
        successes, trials = lhs, None
    for column in (successes, trials):
        if column is not None and not _COLUMN.match(column):
            raise ConfigError(
                f"formula outcome {lhs!r} is not supported: expected a column name "
                f"(here {column!r} is not one); {SUPPORTED}"
            )
    return successes, trials


def _split_terms(rhs: str) -> list[str]:
    """Split on top-level '+' (a '+' inside parentheses belongs to its term)."""
    terms: list[str] = []
    current: list[str] = []
    depth = 0
    for char in rhs:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "+" and depth == 0:
            terms.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    terms.append("".join(current).strip())
    return [t for t in terms if t]
