"""The runs of one (person, persona): sample requests that differ only in their seed.

Engines that can share work between such requests (the llama.cpp engine evaluates their
transcript once) take them as a group. Requests keep their order, so results still come
back in request order; the store stays keyed per run, so a group is whatever runs of a
prompt the store lacks (a resumed request computes only the missing runs).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from study.engines.base import SampleRequest


def _shared(request: SampleRequest) -> tuple[object, ...]:
    """What the runs of a group have in common: everything but the seed."""
    return (
        request.prompt,
        request.spans,
        request.template_chars,
        request.max_tokens,
        request.temperature,
        request.options,
        request.tags,
        request.stop_at_mismatch,
    )


def run_groups(requests: Sequence[SampleRequest]) -> Iterator[list[SampleRequest]]:
    """Consecutive requests that differ only in their seed, as lists, in order.

    >>> a = SampleRequest("x <<y>>", ((4, 5),), seed=1)
    >>> b = SampleRequest("x <<y>>", ((4, 5),), seed=2)
    >>> c = SampleRequest("z <<y>>", ((4, 5),), seed=1)
    >>> [[r.seed for r in g] for g in run_groups([a, b, c, a])]
    [[1, 2], [1], [1]]
    """
    group: list[SampleRequest] = []
    for request in requests:
        if group and _shared(group[0]) != _shared(request):
            yield group
            group = []
        group.append(request)
    if group:
        yield group


def attribute(shared: int, runs: int) -> list[int]:
    """Split ``shared`` evaluated tokens among ``runs`` runs so that they sum to it
    (cost accounting per stored request): equal shares, the remainder one token each to
    the first runs.

    >>> attribute(10, 3)
    [4, 3, 3]
    >>> sum(attribute(1001, 30))
    1001
    """
    base, extra = divmod(shared, runs)
    return [base + (1 if run < extra else 0) for run in range(runs)]


def group_batches(requests: Sequence[SampleRequest], size: int) -> Iterator[list[SampleRequest]]:
    """Batches of at most ``size`` requests that never split the runs of a prompt (a
    group larger than ``size`` is a batch of its own), so an engine that schedules a
    batch together computes each shared prefix once within it.

    >>> a, b = (SampleRequest(p, (), seed=s) for p, s in (("x", 1), ("y", 1)))
    >>> [len(batch) for batch in group_batches([a, a, a, b, b, a], 4)]
    [3, 3]
    >>> [len(batch) for batch in group_batches([a] * 5 + [b], 4)]
    [5, 1]
    """
    batch: list[SampleRequest] = []
    for group in run_groups(requests):
        if batch and len(batch) + len(group) > size:
            yield batch
            batch = []
        batch.extend(group)
    if batch:
        yield batch
