"""The documents stakeholders are extracted from, their passages, and the evidence check.

By default an experiment's documents are what the package ships about it: the README
beside its prompts file (the reference and data source), its data card (data_cards/ or
beside the data: source, citation, counts) and the task's instructions as participants
read them (the first transcript's text before its first response). With
``stakeholders.documents=FOLDER`` every ``.md`` and ``.txt`` file of the folder, in name
order, serves every experiment instead.

A persona's evidence must come from the documents: a generated quote that is found in
them (ignoring case and spacing) is kept as ``quoted``; otherwise the passage with the
most words in common with the persona is attached as ``matched``, and the persona's
record says so. A small model rarely quotes exactly; the flag keeps that visible.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from study.data.options import PROJECT_CARDS
from study.errors import StudyInputError
from study.records import Participant

SUFFIXES = (".md", ".txt")
# Sections of the package's data cards that describe the package's handling of the data
# (where it lies, its licence, counts, how C4 cuts trials), not the experiment.
CARD_SECTIONS_LEFT_OUT = ("Source", "Licence", "Counts", "How a trial is cut")
# A quote shorter than this (in words) is too generic to count as found.
MIN_QUOTE_WORDS = 4


@dataclass(frozen=True)
class Document:
    name: str
    text: str


def experiment_documents(experiment: Participant, folder: str | None) -> list[Document]:
    """The documents of ``experiment`` (one of its sessions): ``folder``'s files, or the
    shipped README, data card and task instructions (see the module doc)."""
    if folder is not None:
        return folder_documents(Path(folder))
    documents = []
    source = Path(experiment.source.split("!")[0]) if experiment.source else None
    candidates = []
    if source is not None:
        candidates += [source.parent / "README.md", source.parent / "data_card.md"]
    candidates.append(PROJECT_CARDS / f"{experiment.experiment}.md")
    seen: set[Path] = set()
    for path in candidates:
        resolved = path.resolve()
        if path.is_file() and resolved not in seen:
            seen.add(resolved)
            text = _readable(path.read_text(encoding="utf-8"))
            if path.parent == PROJECT_CARDS or path.name == "data_card.md":
                text = about_the_experiment(text)
            documents.append(Document(path.name, text))
    first = experiment.choices[0].marker_start if experiment.choices else len(experiment.transcript)
    instructions = experiment.transcript[:first].strip()
    if instructions:
        documents.append(Document("task instructions", instructions))
    return documents


def folder_documents(folder: Path) -> list[Document]:
    """Every ``.md``/``.txt`` file of ``folder``, in name order; an error naming the
    folder when it holds none."""
    if not folder.is_dir():
        raise StudyInputError(
            "stakeholders.documents must be a folder of .md/.txt files", file=str(folder)
        )
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in SUFFIXES)
    if not files:
        raise StudyInputError(
            "no .md or .txt documents in stakeholders.documents", file=str(folder)
        )
    return [Document(p.name, _readable(p.read_text(encoding="utf-8"))) for p in files]


def about_the_experiment(card: str) -> str:
    """A data card without the sections about the package (CARD_SECTIONS_LEFT_OUT).

    >>> about_the_experiment("# Card\\n## Source\\npath\\n## Citation\\nA paper\\n")
    '# Card\\n## Citation\\nA paper'
    """
    kept = []
    for part in re.split(r"(?m)^(?=## )", card):
        title = part[3:].split("\n", 1)[0] if part.startswith("## ") else ""
        if not title.startswith(CARD_SECTIONS_LEFT_OUT):
            kept.append(part)
    return "".join(kept).strip()


def _readable(text: str) -> str:
    # HTML comments (a generated card's "do not edit") say nothing about the experiment.
    return re.sub(r"<!--.*?-->", "", text, flags=re.S).strip()


def joined(documents: list[Document], max_chars: int) -> str:
    """The documents as the extracting model reads them: each under its name, cut to
    ``max_chars`` characters in all (at a line end when one is near).

    >>> joined([Document("a.md", "one\\ntwo"), Document("b.md", "three")], 100)
    '[a.md]\\none\\ntwo\\n\\n[b.md]\\nthree'
    >>> joined([Document("a.md", "one\\ntwo")], 12)
    '[a.md]\\none'
    """
    text = "\n\n".join(f"[{d.name}]\n{d.text}" for d in documents)
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    line = cut.rfind("\n")
    return cut[:line] if line > max_chars // 2 else cut


def passages(text: str) -> list[str]:
    """The documents' passages: lines and sentences of at least three words, in order,
    without markdown markup.

    >>> passages("# Title\\n- one two three. Four five six seven!\\n\\nok")
    ['one two three.', 'Four five six seven!']
    """
    out = []
    for line in text.splitlines():
        if line.lstrip().startswith("|"):
            continue  # a table row: numbers, not a statement
        line = re.sub(r"^[#>*\-|\s\[\]]+", "", line).strip()
        for sentence in re.split(r"(?<=[.!?])\s+", line):
            if len(sentence.split()) >= 3:
                out.append(sentence.strip())
    return out


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


@dataclass(frozen=True)
class Evidence:
    passage: str
    # "quoted": the generated quote is in the documents; "matched": it is not, and the
    # passage most like the persona stands in; "none": the documents have no passage.
    kind: str


def evidence(quote: str, about: str, text: str) -> Evidence:
    """The supporting passage of a persona whose generated quote is ``quote`` and whose
    other fields read ``about``, from the documents ``text`` (see the module doc).

    >>> doc = "Children chose between two options. Each option paid sweets."
    >>> evidence('"children chose between  two options"', "", doc)
    Evidence(passage='children chose between  two options', kind='quoted')
    >>> evidence("made up words here", "sweets paid", doc)
    Evidence(passage='Each option paid sweets.', kind='matched')
    """
    cleaned = quote.strip().strip("\"'“”‘’").strip()
    words = _words(cleaned)
    if len(words) >= MIN_QUOTE_WORDS and " ".join(words) in " ".join(_words(text)):
        return Evidence(cleaned, "quoted")
    candidates = passages(text)
    if not candidates:
        return Evidence("", "none")
    wanted = set(_words(f"{about} {cleaned}"))

    def overlap(passage: str) -> float:
        have = set(_words(passage))
        return len(have & wanted) / len(have | wanted) if have else 0.0

    best = max(candidates, key=overlap)  # the first of equals: document order
    return Evidence(best, "matched")
