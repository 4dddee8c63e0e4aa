"""The three end-to-end uses in docs/sections/variance.md run as written."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "sections" / "variance.md"


def _example(heading: str) -> str:
    """The first python block after the paragraph that starts with ``heading``."""
    section = DOC.read_text().split(f"**{heading}", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None, f"no python block after {heading!r}"
    return match.group(1)


def _run(heading: str) -> dict:
    namespace: dict = {}
    with warnings.catch_warnings():
        # Short chains may fail the gate: the doc's point is the calls, not the verdict.
        warnings.filterwarnings("ignore", message=".*FAILED its diagnostics.*")
        exec(compile(_example(heading), str(DOC), "exec"), namespace)
    return namespace


def test_binary_annotations(capsys):
    namespace = _run("Binary annotations")
    printed = capsys.readouterr().out
    for term in ("(1|person)", "(1|item)", "(1|annotator)", "(1|person:annotator)"):
        assert term in printed
    assert "P(annotator >= person)" in printed
    components = namespace["result"].components
    assert list(components["component"]) == [
        "person",
        "item",
        "annotator",
        "person:annotator",
        "repeat",
        "nonadditive",
    ]
    assert "sigma[annotator]" in printed  # az.summary's row for the annotator SD


def test_gaussian_ratings_with_reml(capsys):
    namespace = _run("Gaussian ratings")
    reml = namespace["result"].reml
    assert reml is not None
    assert set(reml["component"]) == {"rater", "essay", "rater:essay", "occasion"}
    assert "inside" in capsys.readouterr().out


def test_loo_comparison_finds_the_persona_factor():
    namespace = _run("Is the persona factor needed?")
    comparison = namespace["comparison"]
    fits = namespace["fits"]
    cells = {name: fit.tree["log_likelihood"].sizes["cell"] for name, fit in fits.items()}
    assert len(set(cells.values())) == 1  # both models score the same 150 cells
    assert cells["with persona"] == 10 * 5 * 3
    # A persona SD of 1 on the logit scale across 5 personas: the factor is needed.
    assert comparison.index[0] == "with persona"
    worse = comparison.loc["without persona"]
    assert abs(worse["elpd_diff"]) > 2 * worse["dse"], comparison
