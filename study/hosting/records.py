"""The prompts of C4's designs, and what each scored span of them is about.

A hosted prompt may hold responses of more than one person (an interleaved pair), so
every span carries its owner and its choice index in the owner's own transcript;
results map back to (experiment, owner, session, choice) whatever the design.
"""

from __future__ import annotations

from dataclasses import dataclass

Span = tuple[int, int]

# The designs (``HostedPrompt.design``).
ALONE = "alone"  # one profile slot (K = 1), the target's transcript
COHOSTED = "cohosted"  # K > 1 profile slots, the target's transcript under its label
INTERLEAVED = "interleaved"  # two persons' trials alternating, no profiles
SOLO = "solo"  # one person's trials in the interleaved format, alone (its baseline)
PROBE = "probe"  # an interleaved prompt cut after one choice, a response swapped
DESIGNS = (ALONE, COHOSTED, INTERLEAVED, SOLO, PROBE)

# Swaps of a probe (``HostedPrompt.swap``).
CROSS = "ct"  # the partner's last response before the probed choice
SELF = "ss"  # the target's own last response before it


@dataclass(frozen=True, slots=True)
class HostedPrompt:
    design: str
    experiment: str
    # The person the prompt is built for (the transcript's owner; for an interleaved
    # pair, the first person of the pair).
    target: str
    session: int
    # What fills the target's profile slot: `own`, `other` (the target's donor, as in
    # the `other` condition) or `partner` (a partner's profile alone, the baseline of
    # leakage); `none` for the designs without profiles.
    slot: str
    # Whose profiles fill the slots, in slot order (participant ids; K = its length;
    # empty for the designs without profiles).
    slots: tuple[str, ...]
    # Index of the target's slot in ``slots`` (its label), -1 without profiles.
    target_slot: int
    # `first` or `last` (co-hosted), the partner rule (`similar`, `contrasting`); ""
    # where not applicable.
    position: str
    partners: str
    prompt: str
    spans: tuple[Span, ...]
    # Per span: the owner's participant id and the choice's index in the owner's
    # transcript.
    owners: tuple[str, ...]
    choices: tuple[int, ...]
    # Per span: the response text in this prompt (a probe's swapped one included).
    responses: tuple[str, ...]
    # Probes: which swap (CROSS or SELF), and the probed span (an index into ``spans``,
    # the last one); "" and -1 otherwise.
    swap: str = ""
    probed: int = -1

    @property
    def participant(self) -> str:
        """The target (what the store's progress and run seeds call the participant)."""
        return self.target

    @property
    def k(self) -> int:
        """Profiles in the context (0 for the designs without profiles)."""
        return len(self.slots)

    @property
    def name(self) -> str:
        """The prompt's condition, unique among one target's prompts: the persona label of
        its rows and of its run seeds, e.g. ``hosted:cohosted:own:K4:last:similar``."""
        parts = [self.design, self.slot]
        if self.slots:
            parts.append(f"K{self.k}")
        if self.design == ALONE and self.slot == "partner":
            parts.append(self.slots[self.target_slot])
        parts += [p for p in (self.position, self.partners) if p]
        if self.swap:
            parts += [self.swap, f"at{self.choices[self.probed]}"]
        return "hosted:" + ":".join(parts)

    def tags(self) -> tuple[tuple[str, str], ...]:
        """Request tags: who and what the prompt is (store keys include them; the
        simulated engine answers from them, see study.engines.simulated)."""
        return (
            ("experiment", self.experiment),
            ("participant", self.target),
            ("session", str(self.session)),
            ("persona", self.name),
            ("design", self.design),
            ("slot", self.slot),
            ("slots", ",".join(self.slots)),
            ("target_slot", str(self.target_slot)),
            ("owners", ",".join(self.owners)),
            ("choices", ",".join(map(str, self.choices))),
        )
