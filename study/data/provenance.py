"""Where an experiment comes from: source, licence and citation for its data card.

Psych-201 experiments carry a ``README.md`` beside their prompts file with a
``Reference`` section (the original paper) and a ``Data source`` section; the
collection itself is cited for every experiment. The collection's commit is read from
a ``SOURCE.md`` in an enclosing folder when there is one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

COLLECTION = "Psych-201"
COLLECTION_URL = "https://github.com/marcelbinz/Psych-201"
COLLECTION_LICENCE = "Apache-2.0"
COLLECTION_CITATION = (
    "Psych-201: a collection of human behavioural experiments transcribed into natural "
    f"language, {COLLECTION_URL}"
)
_HEADING = re.compile(r"^#+\s*(.+?)\s*:?\s*$")
_COMMIT = re.compile(r"commit\s+([0-9a-f]{40})")


@dataclass(frozen=True)
class Provenance:
    """The source, licence and citations a data card states."""

    source: dict[str, str]
    licence: str
    citations: list[str] = field(default_factory=list)


def readme_sections(text: str) -> dict[str, str]:
    """Markdown sections by lower-cased heading (trailing colon dropped).

    >>> readme_sections("### Reference:\\nA. Paper (2024).\\n\\n### Data source:\\nhttps://osf.io/x")
    {'reference': 'A. Paper (2024).', 'data source': 'https://osf.io/x'}
    """
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        heading = _HEADING.match(line)
        if heading:
            current = sections.setdefault(heading.group(1).lower(), [])
        elif current is not None:
            current.append(line)
    return {name: "\n".join(lines).strip() for name, lines in sections.items()}


def psych201_provenance(folder: Path, path_shown: str) -> Provenance:
    """Provenance of a Psych-201 experiment whose prompts file sits in ``folder``."""
    readme = folder / "README.md"
    sections = readme_sections(readme.read_text(encoding="utf-8")) if readme.exists() else {}
    paper = sections.get("reference", "")
    source = {"path": path_shown, "collection": COLLECTION, "repository": COLLECTION_URL}
    commit = _collection_commit(folder)
    if commit:
        source["commit"] = commit
    if sections.get("data source"):
        source["original data"] = sections["data source"]
    citations = [c for c in (paper, COLLECTION_CITATION) if c]
    return Provenance(
        source=source,
        licence=f"{COLLECTION_LICENCE} (the {COLLECTION} collection)",
        citations=citations,
    )


def _collection_commit(folder: Path) -> str | None:
    for parent in [folder, *folder.resolve().parents][:4]:
        note = parent / "SOURCE.md"
        if note.exists():
            found = _COMMIT.search(note.read_text(encoding="utf-8"))
            return found.group(1) if found else None
    return None
