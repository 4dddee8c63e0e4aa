"""When a sampled run's response is finished.

A run generates a response after a choice point's ``<<`` and stops at an
end-of-generation token (not part of the text), when its text contains the stop marker
(the text before it is the response), or after ``max_tokens`` tokens. With
``stop_at_mismatch`` (``sampling.mode=match``) it also stops as soon as its text can no
longer become the human's response followed by the marker: from then on every
continuation's response differs from the human's, so whether the run matches is
decided (it does not), and the rest of the response is not generated. The draws up to
that point are the ones free generation makes, so the match of every run is the same in
both modes; only the text of a run that missed is cut after the token that left the
human's response.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from study.engines.base import SampleRequest

# The marker that ends a response in a transcript (``<<response>>``).
STOP = b">>"
# What the bytes of a run's response are decoded with; a response holding the
# replacement character could match after decoding without matching as bytes.
REPLACEMENT = "\ufffd"


@dataclass(frozen=True)
class StopRule:
    """The stop rule of one prompt's runs; ``expected[k]``: the human's response at
    choice point ``k`` followed by the stop marker, or None to generate freely there."""

    max_tokens: int
    stop: bytes = STOP
    expected: Sequence[bytes | None] = ()

    @classmethod
    def for_responses(
        cls, max_tokens: int, responses: Sequence[str] | None, stop: bytes = STOP
    ) -> StopRule:
        """The rule for runs that stop at a mismatch with ``responses`` (None: never).

        >>> rule = StopRule.for_responses(16, ["O"])
        >>> [rule.finished(0, text, 1) for text in (b"O", b"O>", b"Q", b" O")]
        [False, False, True, True]
        >>> StopRule.for_responses(16, None).finished(0, b"Q", 1)
        False
        """
        if responses is None:
            return cls(max_tokens, stop)
        expected = [
            None if REPLACEMENT in response else response.encode() + stop for response in responses
        ]
        return cls(max_tokens, stop, expected)

    def finished(self, choice: int, text: bytes, depth: int) -> bool:
        """Whether a run whose text at ``choice`` is ``text`` after ``depth`` tokens
        stops there (an end-of-generation token is the caller's to check)."""
        if self.stop in text or depth >= self.max_tokens:
            return True
        expected = self.expected[choice] if self.expected else None
        return expected is not None and not expected.startswith(text)

    def response(self, text: bytes) -> bytes:
        """The response a finished run's text stands for: the text before the marker."""
        return text.split(self.stop)[0]


def stop_rule(request: SampleRequest) -> StopRule:
    """The stop rule of ``request``'s runs.

    >>> stop_rule(SampleRequest("a <<b>>", ((4, 5),), seed=1, stop_at_mismatch=True)).expected
    [b'b>>']
    """
    responses = None
    if request.stop_at_mismatch:
        responses = [request.prompt[start:end] for start, end in request.spans]
    return StopRule.for_responses(request.max_tokens, responses)
