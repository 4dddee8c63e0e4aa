"""The prompts of C4's designs (STUDY.md, "C4"), built from ``conf/hosting/``.

For every target person p (its first session) of an experiment, in this order:

- ``alone``: the labelled K = 1 prompt, header, one profile block under label 0, the
  attribution to label 0, then p's transcript; with p's own preamble (`own`), its donor's
  (`other`, the donor of :func:`study.personas.derangement.assign_donors`, as in the
  `other` condition), and each partner's that some co-hosted prompt of p uses
  (`partner`, the baseline of leakage);
- ``cohosted``: for each K > 1 of ``ks``, partner rule and position, the K profile blocks
  (labels 0..K-1, in slot order), the attribution to the target's label, then p's
  transcript; the target's slot holds p's preamble (`own`) or its donor's (`other`);
  ``first`` puts the target in slot 0, ``last`` in slot K-1, the partners fill the other
  slots best-ranked first (:mod:`study.hosting.partners`; never the target's donor, so
  that `own` and `other` share their partners);
- ``interleaved``: p and the next person q of a seeded ring of the experiment's persons,
  their trials (:mod:`study.hosting.trials`) alternating p0 q0 p1 q1 ..., the longer one
  continuing alone; label 0 for p, label 1 for q; both persons' responses are scored;
- ``solo``: p's trials alone in the same turn format under label 0 (the baseline of the
  interleaved prompt's delta NLL);
- ``probe`` (only when both p and q have an option set): the interleaved prompt cut
  right after p's choice k, with q's last response before it (``ct``) or p's own
  previous one (``ss``) replaced by the next option of that owner's option list;
  ``crosstalk_probes`` choice points k >= 1 spread evenly, each with both swaps (a point
  where one swap is impossible, say a person who only ever gave one answer, has none).

Persons without a preamble get no ``alone``/``cohosted`` prompts (they still pair in
interleaved prompts); a target with fewer candidate partners than K - 1 gets no prompt
of that K; both are logged with counts. Every prompt is cut to the preamble config's
``max_prompt_chars`` like any other (:func:`study.personas.truncate.cut_point`, never
inside an open ``<<``); a probe whose probed response would be cut is not built.
Which prompts exist and what they read depends on the persons, the configs and ``seed``,
not on the input order (except which persons are targets when ``hosting.targets`` keeps
the first N of each experiment).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from study.engines.seeds import stable_int
from study.errors import ConfigError
from study.hosting.config import HostingConfig
from study.hosting.layout import (
    Scored,
    alternate,
    fill,
    last_before,
    person_turns,
    probe_points,
    profile_head,
    spread,
    swapped,
    transcript_prompt,
    turns_prompt,
)
from study.hosting.partners import Partners, check_rules
from study.hosting.records import (
    ALONE,
    COHOSTED,
    CROSS,
    INTERLEAVED,
    PROBE,
    SELF,
    SOLO,
    HostedPrompt,
)
from study.personas.config import PreambleConfig
from study.personas.derangement import Donors, Person, assign_donors
from study.personas.preamble import Preamble
from study.records import Participant

log = logging.getLogger(__name__)

POSITIONS = ("first", "last")
# The persona slots of the profile designs: the target's own preamble, or its donor's.
OWN, OTHER, PARTNER, NONE = "own", "other", "partner", "none"

OptionsOf = Callable[[Participant], tuple[str, ...] | None]


# ---- configuration -------------------------------------------------------------------


def check_hosting(cfg: HostingConfig) -> None:
    """Refuse a hosting config that cannot build prompts, naming the ``hosting.X`` key.

    >>> check_hosting(HostingConfig(ks=[1, 8]))
    Traceback (most recent call last):
    ...
    study.errors.ConfigError: hosting.labels: 4 labels, but prompts hold up to 8 persons \
(hosting.ks, and 2 per interleaved pair); give at least 8
    """
    if not cfg.ks or any(k < 1 for k in cfg.ks):
        raise ConfigError(f"hosting.ks must be positive numbers of profiles, got {cfg.ks}")
    needed = max(2, *cfg.ks)  # an interleaved pair needs two
    if len(cfg.labels) < needed:
        raise ConfigError(
            f"hosting.labels: {len(cfg.labels)} labels, but prompts hold up to {needed} "
            f"persons (hosting.ks, and 2 per interleaved pair); give at least {needed}"
        )
    if len(set(cfg.labels)) < len(cfg.labels):
        raise ConfigError(f"hosting.labels must differ from each other, got {cfg.labels}")
    bad = [p for p in cfg.positions if p not in POSITIONS]
    if bad:
        raise ConfigError(
            f"hosting.positions: unknown position {bad[0]!r}; use {' or '.join(POSITIONS)}"
        )
    check_rules(cfg.partners)
    if cfg.crosstalk_probes < 0:
        raise ConfigError(f"hosting.crosstalk_probes must be >= 0, got {cfg.crosstalk_probes}")
    if cfg.targets is not None and cfg.targets < 1:
        raise ConfigError(f"hosting.targets must be positive or null, got {cfg.targets}")
    _check_templates(cfg)


def _check_templates(cfg: HostingConfig) -> None:
    labels = " and ".join(cfg.labels[:2])
    fill(cfg.cohost_header, "cohost_header", labels=labels)
    fill(cfg.profile_block, "profile_block", label="A", preamble="")
    fill(cfg.attribution, "attribution", label="A")
    fill(cfg.interleave_header, "interleave_header", labels=labels)
    fill(cfg.turn_separator, "turn_separator")
    if cfg.turn.count("{trial}") != 1:
        raise ConfigError(
            f"hosting.turn must hold {{trial}} exactly once (where the trial's text goes), "
            f"got {cfg.turn!r}"
        )
    fill(cfg.turn, "turn", label="A", trial="")


# ---- the designs of one target -------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """What every target's prompts are built from."""

    cfg: HostingConfig
    preamble: Preamble
    seed: int
    options: OptionsOf
    texts: dict[Person, str]
    donors: Donors
    partners: Partners
    # Person -> the next person of its experiment's seeded ring (absent: alone in it).
    ring: dict[Person, Participant]

    @property
    def max_chars(self) -> int | None:
        return self.preamble.max_chars


def hosted(
    setting: Setting,
    design: str,
    target: Participant,
    scored: Scored,
    **identity: object,
) -> HostedPrompt:
    cut = scored.cut(setting.max_chars)
    fields: dict = {
        "slot": NONE,
        "slots": (),
        "target_slot": -1,
        "position": "",
        "partners": "",
        **identity,
    }
    return HostedPrompt(
        design=design,
        experiment=target.experiment,
        target=target.participant,
        session=target.session,
        prompt=cut.prompt,
        spans=cut.spans,
        owners=cut.owners,
        choices=cut.choices,
        responses=cut.responses,
        **fields,
    )


def profile_prompt(
    setting: Setting,
    target: Participant,
    sources: Sequence[Participant],
    target_slot: int,
    **identity: object,
) -> HostedPrompt:
    """A prompt with one profile block per participant of ``sources`` (slot order)."""
    preambles = [setting.texts[s.person] for s in sources]
    head = profile_head(setting.cfg, preambles, target_slot)
    design = ALONE if len(sources) == 1 else COHOSTED
    return hosted(
        setting,
        design,
        target,
        transcript_prompt(head, target),
        slots=tuple(s.participant for s in sources),
        target_slot=target_slot,
        **identity,
    )


def profile_prompts(setting: Setting, target: Participant, short: Counter) -> list[HostedPrompt]:
    """The ``alone`` and ``cohosted`` prompts of ``target`` (none without a preamble);
    counts in ``short`` the (experiment, K) with too few partners."""
    if not setting.texts[target.person]:
        return []
    donor = setting.donors.of(target)
    slots = {OWN: target} | ({OTHER: donor} if donor is not None else {})
    alone = [profile_prompt(setting, target, [s], 0, slot=name) for name, s in slots.items()]
    cohosted: list[HostedPrompt] = []
    used: dict[Person, Participant] = {}  # the partners, in order of first use
    for k, rule, chosen in partner_sets(setting, target, donor, short):
        used.update((p.person, p) for p in chosen if p.person not in used)
        for position in setting.cfg.positions:
            where = 0 if position == "first" else k - 1
            for name, source in slots.items():
                order = [source, *chosen] if position == "first" else [*chosen, source]
                cohosted.append(
                    profile_prompt(
                        setting, target, order, where, slot=name, position=position, partners=rule
                    )
                )
    alone += [profile_prompt(setting, target, [p], 0, slot=PARTNER) for p in used.values()]
    return alone + cohosted


def partner_sets(
    setting: Setting, target: Participant, donor: Participant | None, short: Counter
) -> list[tuple[int, str, tuple[Participant, ...]]]:
    """(K, rule, the K - 1 partners) for each K > 1 and rule; a K with too few candidates
    is left out and counted in ``short``. The donor never partners its recipient, so
    that `own` and `other` share their partners and no prompt shows one person twice."""
    exclude = {donor.person} if donor is not None else set()
    sets = []
    for k in (k for k in setting.cfg.ks if k > 1):
        if len(setting.partners.candidates(target, exclude)) < k - 1:
            short[(target.experiment, k)] += 1
            continue
        for rule in setting.cfg.partners:
            sets.append((k, rule, setting.partners.pick(target, rule, k - 1, exclude) or ()))
    return sets


def interleaved_prompts(setting: Setting, target: Participant) -> list[HostedPrompt]:
    """The ``interleaved``, ``solo`` and ``probe`` prompts of ``target`` and its ring
    partner (none when it is alone in its experiment)."""
    partner = setting.ring.get(target.person)
    if partner is None:
        return []
    first, second = setting.cfg.labels[:2]
    own_turns = person_turns(first, target)
    full = turns_prompt(setting.cfg, alternate(own_turns, person_turns(second, partner)))
    prompts = [
        hosted(setting, INTERLEAVED, target, full),
        hosted(setting, SOLO, target, turns_prompt(setting.cfg, own_turns)),
    ]
    return prompts + probes(setting, target, partner, full)


def probes(
    setting: Setting, target: Participant, partner: Participant, full: Scored
) -> list[HostedPrompt]:
    """The ``ct`` and ``ss`` probes of the pair (discrete options for both only)."""
    option_sets = {p.participant: setting.options(p) for p in (target, partner)}
    if any(options is None for options in option_sets.values()):
        return []
    kept = full.cut(setting.max_chars)
    points = spread(probe_points(kept, target.participant), setting.cfg.crosstalk_probes)
    built = []
    for probed in points:
        pair = []
        for swap, same in ((CROSS, False), (SELF, True)):
            at = last_before(full, probed, target.participant, same)
            probe = swapped(full, probed, at, option_sets[full.owners[at]] or ())
            if probe is not None:
                pair.append(hosted(setting, PROBE, target, probe, swap=swap, probed=probed))
        # CT/SS compares the two swaps of one choice point: keep both or neither (a
        # response outside its owner's options, a one-option person, or a cut probed
        # response leaves one out).
        if len(pair) == 2 and all(len(p.spans) == probed + 1 for p in pair):
            built += pair
    return built


# ---- all targets ---------------------------------------------------------------------


def first_sessions(participants: Iterable[Participant]) -> list[Participant]:
    """Each person's session 0, in input order."""
    return [p for p in participants if p.session == 0]


def rings(persons: Sequence[Participant], seed: int) -> dict[Person, Participant]:
    """Person -> the next person in its experiment's ring, ordered by a seeded hash
    (no entry for a person alone in its experiment)."""
    by_experiment: dict[str, list[Participant]] = {}
    for person in persons:
        by_experiment.setdefault(person.experiment, []).append(person)
    following = {}
    for experiment, members in by_experiment.items():
        if len(members) < 2:
            continue
        ring = sorted(members, key=lambda p: stable_int("ring", seed, experiment, p.participant))
        for i, person in enumerate(ring):
            following[person.person] = ring[(i + 1) % len(ring)]
    return following


def targets_of(persons: Sequence[Participant], limit: int | None) -> list[Participant]:
    """The first ``limit`` persons of each experiment (all when None), input order."""
    seen: Counter = Counter()
    chosen = []
    for person in persons:
        if limit is None or seen[person.experiment] < limit:
            chosen.append(person)
        seen[person.experiment] += 1
    return chosen


def hosted_prompts(
    participants: Sequence[Participant],
    cfg_hosting: HostingConfig,
    preamble_config: Preamble | PreambleConfig,
    *,
    seed: int,
    options: OptionsOf,
) -> list[HostedPrompt]:
    """Every C4 prompt of every target (see the module doc), target-major: all prompts
    of the first target, then the next. Targets are the persons' first sessions (the
    first ``hosting.targets`` of each experiment, all when null); ``options`` gives a
    participant's option set (None: not a discrete choice, no probes)."""
    check_hosting(cfg_hosting)
    preamble = (
        preamble_config if isinstance(preamble_config, Preamble) else Preamble(preamble_config)
    )
    persons = first_sessions(participants)
    texts = {p.person: preamble.text(p.experiment, p.profile) for p in persons}
    setting = Setting(
        cfg=cfg_hosting,
        preamble=preamble,
        seed=seed,
        options=options,
        texts=texts,
        donors=assign_donors(persons, seed, lambda p: texts[p.person]),
        partners=Partners(persons, preamble, seed),
        ring=rings(persons, seed),
    )
    short: Counter = Counter()
    prompts = []
    targets = targets_of(persons, cfg_hosting.targets)
    for target in targets:
        prompts += profile_prompts(setting, target, short)
        prompts += interleaved_prompts(setting, target)
    _log_gaps(setting, targets, short)
    return prompts


def _log_gaps(setting: Setting, targets: Sequence[Participant], short: Counter) -> None:
    without = Counter(t.experiment for t in targets if not setting.texts[t.person])
    for experiment, n in sorted(without.items()):
        log.info(
            "hosting: %s: %d targets have no preamble: no alone/cohosted prompts", experiment, n
        )
    for (experiment, k), n in sorted(short.items()):
        log.warning(
            "hosting: %s: %d targets have fewer than %d candidate partners (a preamble that "
            "differs from theirs, not their donor): no K=%d prompts for them",
            experiment,
            n,
            k - 1,
            k,
        )
    alone = sorted({t.experiment for t in targets if t.person not in setting.ring})
    if alone:
        log.warning("hosting: only one person in %s: no interleaved prompts", ", ".join(alone))
