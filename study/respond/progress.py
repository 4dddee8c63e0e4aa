"""The progress bar of the engine steps (respond, activations): requests, participants,
tokens/s, ETA."""

from __future__ import annotations

import sys
import time

from tqdm import tqdm


class Progress:
    """Counts finished requests and evaluated tokens; shows participants and tokens/s.

    The ETA is tqdm's, over requests: it settles once a few participants are done.
    """

    def __init__(
        self, total: int, participants: int, *, enabled: bool = True, desc: str = "respond"
    ) -> None:
        self.participants = participants
        self.tokens = 0
        self.started = time.monotonic()
        self.bar = tqdm(
            total=total,
            unit="req",
            desc=desc,
            file=sys.stderr,
            disable=not enabled or total == 0,
            dynamic_ncols=True,
        )

    def advance(self, tokens: int, participant_number: int, mode: str) -> None:
        self.tokens += tokens
        elapsed = max(time.monotonic() - self.started, 1e-9)
        self.bar.set_postfix_str(
            f"{mode} participant {participant_number}/{self.participants}, "
            f"{self.tokens / elapsed:,.0f} tok/s",
            refresh=False,
        )
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()
