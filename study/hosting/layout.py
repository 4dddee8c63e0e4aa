"""The text of one C4 prompt and where its responses are (what
:mod:`study.hosting.prompts` assembles into the designs).

Every builder returns a :class:`Scored`: the prompt and, per scored response, its span
(``prompt[start:end]`` is the response), its owner and its choice index in the owner's
transcript. Templates come from :class:`~study.hosting.config.HostingConfig`; a
template that does not fill raises a ConfigError naming its ``hosting.X`` key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from study.errors import ConfigError
from study.hosting.config import HostingConfig
from study.hosting.records import Span
from study.hosting.trials import Trial, trials
from study.personas.truncate import CLOSE, cut_point
from study.records import Participant


@dataclass(frozen=True, slots=True)
class Scored:
    """A prompt's text and its scored spans, with each span's owner, choice index and
    response (``prompt[s:e] == response``)."""

    prompt: str
    spans: tuple[Span, ...]
    owners: tuple[str, ...]
    choices: tuple[int, ...]
    responses: tuple[str, ...]

    def cut(self, max_chars: int | None) -> Scored:
        """Cut to ``max_chars`` characters, never inside an open ``<<`` (unchanged when
        it fits or the limit is None)."""
        if max_chars is None or len(self.prompt) <= max_chars:
            return self
        length, kept = cut_point(len(self.prompt), self.spans, max_chars)
        return Scored(
            self.prompt[:length],
            self.spans[:kept],
            self.owners[:kept],
            self.choices[:kept],
            self.responses[:kept],
        )


def fill(template: str, key: str, **values: str) -> str:
    """``template`` with its placeholders filled; a ConfigError naming ``hosting.KEY``
    when it uses one that is not among ``values`` or is not a valid template.

    >>> fill("{label}:", "turn", label="Person A")
    'Person A:'
    >>> fill("{name}:", "turn", label="Person A")
    Traceback (most recent call last):
    ...
    study.errors.ConfigError: hosting.turn: unknown placeholder {name} in '{name}:'; \
known here: {label}
    """
    try:
        return template.format(**values)
    except KeyError as error:
        known = ", ".join("{" + name + "}" for name in values) or "none"
        raise ConfigError(
            f"hosting.{key}: unknown placeholder {{{error.args[0]}}} in {template!r}; "
            f"known here: {known}"
        ) from None
    except (ValueError, IndexError) as error:
        raise ConfigError(
            f"hosting.{key}: not a valid template ({error}): {template!r}; write a literal "
            "brace as {{ or }}"
        ) from None


def transcript_prompt(head: str, person: Participant) -> Scored:
    """``head`` followed by ``person``'s whole transcript, every response scored."""
    shift = len(head)
    return Scored(
        head + person.transcript,
        tuple((c.start + shift, c.end + shift) for c in person.choices),
        (person.participant,) * len(person.choices),
        tuple(c.index for c in person.choices),
        tuple(c.response for c in person.choices),
    )


def profile_head(cfg: HostingConfig, preambles: Sequence[str], target_slot: int) -> str:
    """Header, one block per slot (labels in slot order), the attribution line."""
    labels = cfg.labels[: len(preambles)]
    blocks = [
        fill(cfg.profile_block, "profile_block", label=label, preamble=preamble)
        for label, preamble in zip(labels, preambles, strict=True)
    ]
    return (
        fill(cfg.cohost_header, "cohost_header", labels=" and ".join(labels))
        + "".join(blocks)
        + fill(cfg.attribution, "attribution", label=labels[target_slot])
    )


Turn = tuple[str, str, Trial]  # label, owner's participant id, trial


def alternate(*persons: Sequence[Turn]) -> list[Turn]:
    """Turns of several persons alternating, the longer ones continuing alone.

    >>> alternate("abc", "d")
    ['a', 'd', 'b', 'c']
    """
    longest = max((len(turns) for turns in persons), default=0)
    return [turns[i] for i in range(longest) for turns in persons if i < len(turns)]


def turns_prompt(cfg: HostingConfig, turns: Sequence[Turn]) -> Scored:
    """The interleaving header (naming the labels in order of appearance), then one turn
    per trial, each trial without its leading whitespace."""
    labels = list(dict.fromkeys(label for label, _, _ in turns))
    parts = [fill(cfg.interleave_header, "interleave_header", labels=" and ".join(labels))]
    length = len(parts[0])
    separator = fill(cfg.turn_separator, "turn_separator")
    before, after = cfg.turn.split("{trial}")
    spans, owners, choices, responses = [], [], [], []
    for i, (label, owner, trial) in enumerate(turns):
        stripped = trial.lstripped()
        lead = (separator if i else "") + fill(before, "turn", label=label)
        offset = length + len(lead)
        spans.append((offset + stripped.span[0], offset + stripped.span[1]))
        owners.append(owner)
        choices.append(stripped.choice)
        responses.append(stripped.response)
        piece = lead + stripped.text + fill(after, "turn", label=label)
        parts.append(piece)
        length += len(piece)
    return Scored("".join(parts), tuple(spans), tuple(owners), tuple(choices), tuple(responses))


def person_turns(label: str, person: Participant) -> list[Turn]:
    return [(label, person.participant, trial) for trial in trials(person)]


def spread(items: Sequence[int], n: int) -> list[int]:
    """``n`` of ``items`` spread evenly (the middle of n equal parts; all when fewer).

    >>> spread(list(range(10)), 4), spread([5, 6], 4), spread(list(range(9)), 1)
    ([1, 3, 6, 8], [5, 6], [4])
    """
    if len(items) <= n:
        return list(items)
    return [items[(2 * i + 1) * len(items) // (2 * n)] for i in range(n)]


def swapped(
    interleaved: Scored, probed: int, swap_at: int, options: Sequence[str]
) -> Scored | None:
    """``interleaved`` cut right after span ``probed``'s ``>>``, with the response at
    span ``swap_at`` replaced by the next of ``options`` (cyclically); None when that
    response is not among the options or there is no other option."""
    old = interleaved.responses[swap_at]
    if old not in options or len(options) < 2:
        return None
    new = options[(options.index(old) + 1) % len(options)]
    start, end = interleaved.spans[swap_at]
    delta = len(new) - len(old)
    spans = list(interleaved.spans[: probed + 1])
    spans[swap_at] = (start, end + delta)
    spans[swap_at + 1 :] = [(s + delta, e + delta) for s, e in spans[swap_at + 1 :]]
    text = interleaved.prompt[: interleaved.spans[probed][1] + CLOSE]
    responses = list(interleaved.responses[: probed + 1])
    responses[swap_at] = new
    return Scored(
        text[:start] + new + text[end:],
        tuple(spans),
        interleaved.owners[: probed + 1],
        interleaved.choices[: probed + 1],
        tuple(responses),
    )


def probe_points(interleaved: Scored, target: str) -> list[int]:
    """Span indices of the target's choices k >= 1 with a partner's response and one
    of the target's own before them."""
    points, partner_seen = [], False
    for i, owner in enumerate(interleaved.owners):
        if owner != target:
            partner_seen = True
        elif interleaved.choices[i] >= 1 and partner_seen:
            points.append(i)
    return points


def last_before(scored: Scored, index: int, owner: str, same: bool) -> int:
    """The last span before ``index`` whose owner is (``same``) or is not ``owner``."""
    return max(i for i in range(index) if (scored.owners[i] == owner) == same)
