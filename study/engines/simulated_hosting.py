"""The simulated engine's truth for C4's hosted prompts (requests with a ``design`` tag).

A hosted request's tags (:meth:`study.hosting.records.HostedPrompt.tags`) say what each
scored span is: its owner and choice index, and for the profile designs whose profiles
fill the slots. :class:`~study.engines.simulated.SimulatedEngine` gives each span a
log-odds ``L`` of the human response (see there); this module turns those into option
distributions, the same for every design:

- ``z_h = L`` for the human response ``h`` (the text at the span), 0 for the other
  options of the span's option set ``O`` (its owner's);
- plus ``beta`` (``hosting_persistence``) at the option equal to the owner's previous
  response in the prompt: a person tends to repeat themselves;
- plus ``ct * beta`` at the option whose index in ``O`` equals (mod ``|O|``) the index
  of the partner's previous response in the partner's own option set, in the designs
  where two persons' responses alternate (interleaved, probe): cross-talk, the
  partner's choice bleeding into the owner's;
- probabilities ``softmax(z)``, NLL ``-log p(h)``. Without an option set, or when ``h``
  is not in it, ``P(h) = sigmoid(L)`` (the option probabilities, if asked, are then the
  softmax of the other terms alone).

Probing with a swapped earlier response therefore moves ``beta`` (the owner's own
response, SS) or ``ct * beta`` (the partner's, CT) from one option to another, and the
norm of the change of the centred log option probabilities is ``sqrt(2) beta`` and
``sqrt(2) ct beta``: their ratio is ``ct``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from study.engines.base import Tags

# The designs of study.hosting.records (not imported: engines do not depend on the
# study stages that use them).
PROFILE_DESIGNS = ("alone", "cohosted")
PAIR_DESIGNS = ("interleaved", "probe")
NO_PROFILE_DESIGNS = ("interleaved", "solo", "probe")
NEEDED = ("experiment", "design", "slots", "target_slot", "owners", "choices")


@dataclass(frozen=True, slots=True)
class Hosted:
    """The parsed tags of one hosted request."""

    design: str
    experiment: str
    # Participant ids in slot order (empty without profiles), and the target's slot.
    slots: tuple[str, ...]
    target_slot: int
    # Per span: its owner and the choice's index in the owner's transcript.
    owners: tuple[str, ...]
    choices: tuple[int, ...]

    @classmethod
    def of(cls, tags: Tags, n_spans: int) -> Hosted:
        """Parse ``tags``; ValueError naming what is missing or inconsistent.

        >>> Hosted.of((("design", "solo"),), 1)
        Traceback (most recent call last):
        ...
        ValueError: a hosted request needs tags ['choices', 'experiment', 'owners', \
'slots', 'target_slot']
        """
        who = dict(tags)
        missing = sorted(set(NEEDED) - who.keys())
        if missing:
            raise ValueError(f"a hosted request needs tags {missing}")
        hosted = cls(
            design=who["design"],
            experiment=who["experiment"],
            slots=_split(who["slots"]),
            target_slot=int(who["target_slot"]),
            owners=_split(who["owners"]),
            choices=tuple(int(c) for c in _split(who["choices"])),
        )
        if hosted.design not in PROFILE_DESIGNS + NO_PROFILE_DESIGNS:
            raise ValueError(f"unknown hosted design {hosted.design!r}")
        if len(hosted.owners) != n_spans or len(hosted.choices) != n_spans:
            raise ValueError(
                f"hosted request ({hosted.design}): {n_spans} spans but "
                f"{len(hosted.owners)} owners and {len(hosted.choices)} choices in its tags"
            )
        if hosted.design in PROFILE_DESIGNS and not 0 <= hosted.target_slot < len(hosted.slots):
            raise ValueError(
                f"hosted request ({hosted.design}): target_slot {hosted.target_slot} is not "
                f"a slot of {hosted.slots}"
            )
        return hosted


def _split(joined: str) -> tuple[str, ...]:
    return tuple(joined.split(",")) if joined else ()


@dataclass(frozen=True, slots=True)
class SpanOdds:
    """One span's outcome: P(human response), and the option distribution (None
    without an option set)."""

    p_human: float
    options: dict[str, float] | None


def softmax(z: Sequence[float]) -> list[float]:
    """Normalised exponentials of ``z``.

    >>> [round(p, 3) for p in softmax([0.0, math.log(3.0)])]
    [0.25, 0.75]
    """
    top = max(z)
    weights = [math.exp(v - top) for v in z]
    total = sum(weights)
    return [w / total for w in weights]


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def span_odds(
    hosted: Hosted,
    logits: Sequence[float],
    responses: Sequence[str],
    options: Sequence[Sequence[str]] | None,
    persistence: float,
    crosstalk: Callable[[str, str], float],
) -> list[SpanOdds]:
    """The outcome at every span (see the module doc); ``crosstalk(owner, partner)``
    is the pair's ``ct``.

    >>> h = Hosted("solo", "e", (), -1, ("p", "p"), (0, 1))
    >>> first, second = span_odds(h, [0.0, 0.0], ["L", "R"], [("L", "R")] * 2, 1.0,
    ...                           lambda o, p: 0.0)
    >>> first.p_human, round(second.options["L"] / second.options["R"], 6)  # persistence
    (0.5, 2.718282)
    """
    odds = []
    for i, (logit, response, owner) in enumerate(
        zip(logits, responses, hosted.owners, strict=True)
    ):
        option_set = tuple(options[i]) if options is not None else ()
        if not option_set:
            odds.append(SpanOdds(sigmoid(logit), None))
            continue
        z = [logit if o == response else 0.0 for o in option_set]
        own = _previous(hosted.owners, i, owner, same=True)
        if own is not None and responses[own] in option_set:
            z[option_set.index(responses[own])] += persistence
        other = _previous(hosted.owners, i, owner, same=False)
        if hosted.design in PAIR_DESIGNS and other is not None and options is not None:
            partner_set = tuple(options[other])
            if responses[other] in partner_set:
                at = partner_set.index(responses[other]) % len(option_set)
                z[at] += crosstalk(owner, hosted.owners[other]) * persistence
        probs = dict(zip(option_set, softmax(z), strict=True))
        # A response outside its option set has no option term: P(h) from L alone.
        odds.append(SpanOdds(probs.get(response, sigmoid(logit)), probs))
    return odds


def _previous(owners: Sequence[str], index: int, owner: str, same: bool) -> int | None:
    """The last span before ``index`` whose owner is (``same``) or is not ``owner``."""
    for j in range(index - 1, -1, -1):
        if (owners[j] == owner) == same:
            return j
    return None
