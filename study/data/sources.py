"""Find the ``prompts.jsonl`` streams inside a path: a jsonl, a zip, or a folder of them.

Zips are checked before anything is read: a member whose path would escape the
folder, a corrupt archive, or a member that inflates far beyond its compressed size
(a zip bomb) is refused with an error naming the archive and the member. macOS
resource forks (``__MACOSX/``, ``._*``) are skipped. A zip inside a zip (the whole
collection zipped, each experiment zipped within) is read without unpacking to disk.
"""

from __future__ import annotations

import contextlib
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

from study.errors import StudyInputError

JSONL = ".jsonl"
ZIP = ".zip"
# Files named like this hold "the" prompts of the folder they sit in; the folder names
# the experiment.
GENERIC_STEM = "prompts"
# A zip inside a zip is read; deeper nesting is refused (no legitimate layout needs it).
MAX_ZIP_DEPTH = 2


@dataclass(frozen=True)
class ZipLimits:
    """What a zip may inflate to before it is treated as a zip bomb."""

    # Largest inflated/compressed ratio for a member bigger than ``ratio_floor_bytes``;
    # Psych-201 transcripts compress about 60:1, a deflate bomb about 1000:1.
    max_ratio: float = 200.0
    ratio_floor_bytes: int = 1 << 20
    # Largest total inflated size of one archive.
    max_total_bytes: int = 256 << 30


@dataclass(frozen=True)
class Source:
    """One jsonl stream: where it is, which experiment it holds, how to open it."""

    # Shown in messages and stored with each record: the file, and for a zip member
    # ``archive.zip!member`` (``!`` separates each level of nesting).
    label: str
    experiment: str
    # Inflated size in bytes when known (progress bars), else None.
    size: int | None
    # The folder on disk nearest to the stream (where a data card may sit beside it).
    folder: Path
    _open: Callable[[contextlib.ExitStack], IO[bytes]] = field(repr=False, compare=False)
    # macOS resource-fork entries skipped in the archive that holds the stream.
    skipped: tuple[str, ...] = ()

    @contextlib.contextmanager
    def open(self) -> Iterator[IO[bytes]]:
        """The stream as binary lines; every enclosing archive stays open while it is read."""
        with contextlib.ExitStack() as stack:
            yield self._open(stack)


def experiment_name(parts: list[str]) -> str:
    """The experiment a prompts file belongs to, from its path (outermost part first).

    The nearest enclosing name that is not the generic ``prompts``, suffixes dropped:

    >>> experiment_name(["data", "dezfouli2019", "prompts.jsonl.zip", "prompts.jsonl"])
    'dezfouli2019'
    >>> experiment_name(["tmp", "thoma.jsonl"])
    'thoma'
    """
    for part in reversed(parts):
        stem = _strip_suffixes(part)
        if stem and stem != GENERIC_STEM:
            return stem
    return GENERIC_STEM


def _strip_suffixes(name: str) -> str:
    for suffix in (ZIP, JSONL, ZIP):
        name = name.removesuffix(suffix)
    return name


def discover(path: str | Path, limits: ZipLimits | None = None) -> list[Source]:
    """All jsonl streams under ``path``, in a stable order (sorted by path)."""
    limits = limits or ZipLimits()
    root = Path(path)
    shown = str(path)
    if not root.exists():
        raise StudyInputError("no such file or folder", file=shown)
    if root.is_dir():
        files = sorted(
            p
            for p in root.rglob("*")
            if p.is_file() and _wanted(p.relative_to(root).parts) and _is_data_name(p.name)
        )
        _refuse_twins(files)
        sources = [s for f in files for s in _file_sources(f, str(f), limits)]
        if not sources:
            raise StudyInputError("folder holds no .jsonl or .zip experiment", file=shown)
        return sources
    if not _is_data_name(root.name):
        raise StudyInputError("expected a .jsonl file, a .zip or a folder", file=shown)
    return _file_sources(root, shown, limits)


def _wanted(parts: tuple[str, ...]) -> bool:
    """Skip hidden entries, macOS resource forks and ``__MACOSX`` folders."""
    return not any(part.startswith(".") or part == "__MACOSX" for part in parts)


def _is_data_name(name: str) -> bool:
    return name.endswith(JSONL) or name.endswith(ZIP)


def _refuse_twins(files: list[Path]) -> None:
    """A folder with both ``x.jsonl`` and ``x.jsonl.zip`` would load everyone twice."""
    present = set(files)
    for f in files:
        if f.name.endswith(JSONL) and f.with_name(f.name + ZIP) in present:
            raise StudyInputError(
                f"both {f.name} and {f.name + ZIP} are present; keep one", file=str(f.parent)
            )


def _file_sources(path: Path, shown: str, limits: ZipLimits) -> list[Source]:
    parts = list(path.resolve().parts)
    if path.name.endswith(JSONL):
        return [
            Source(
                label=shown,
                experiment=experiment_name(parts),
                size=path.stat().st_size,
                folder=path.parent,
                _open=lambda stack: stack.enter_context(path.open("rb")),
            )
        ]

    def open_archive(stack: contextlib.ExitStack) -> zipfile.ZipFile:
        return stack.enter_context(_open_zip(path, shown))

    return _zip_sources(open_archive, shown, parts, path.parent, limits, depth=1)


def _open_zip(file: Path | IO[bytes], shown: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(file)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        raise StudyInputError(f"not a readable zip archive ({err})", file=shown) from None


def _zip_sources(
    open_archive: Callable[[contextlib.ExitStack], zipfile.ZipFile],
    shown: str,
    parts: list[str],
    folder: Path,
    limits: ZipLimits,
    depth: int,
) -> list[Source]:
    with contextlib.ExitStack() as stack:
        archive = open_archive(stack)
        members, skipped = _checked_members(archive, shown, limits)
    sources: list[Source] = []
    for info in members:
        label = f"{shown}!{info.filename}"
        member_parts = [*parts, *PurePosixPath(info.filename).parts]
        if info.filename.endswith(JSONL):
            sources.append(
                Source(
                    label=label,
                    experiment=experiment_name(member_parts),
                    size=info.file_size,
                    folder=folder,
                    skipped=skipped,
                    _open=_member_opener(open_archive, info, label),
                )
            )
        elif depth >= MAX_ZIP_DEPTH:
            raise StudyInputError(
                f"zip nested more than {MAX_ZIP_DEPTH} deep; unpack the outer archive",
                file=label,
            )
        else:
            sources.extend(
                _zip_sources(
                    _nested_opener(open_archive, info, label),
                    label,
                    member_parts,
                    folder,
                    limits,
                    depth + 1,
                )
            )
    return sources


def _member_opener(
    open_archive: Callable[[contextlib.ExitStack], zipfile.ZipFile],
    info: zipfile.ZipInfo,
    label: str,
) -> Callable[[contextlib.ExitStack], IO[bytes]]:
    def open_member(stack: contextlib.ExitStack) -> IO[bytes]:
        archive = open_archive(stack)
        try:
            return stack.enter_context(archive.open(info))
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as err:
            raise StudyInputError(f"cannot read zip member ({err})", file=label) from None

    return open_member


def _nested_opener(
    open_archive: Callable[[contextlib.ExitStack], zipfile.ZipFile],
    info: zipfile.ZipInfo,
    label: str,
) -> Callable[[contextlib.ExitStack], zipfile.ZipFile]:
    open_member = _member_opener(open_archive, info, label)

    def open_nested(stack: contextlib.ExitStack) -> zipfile.ZipFile:
        return stack.enter_context(_open_zip(open_member(stack), label))

    return open_nested


def _checked_members(
    archive: zipfile.ZipFile, shown: str, limits: ZipLimits
) -> tuple[list[zipfile.ZipInfo], tuple[str, ...]]:
    """The data members of ``archive`` and the skipped resource forks, after refusing
    unsafe or implausible members."""
    members = []
    skipped = []
    total = 0
    for info in archive.infolist():
        name = info.filename
        label = f"{shown}!{name}"
        _refuse_escaping_path(name, label)
        if info.is_dir():
            continue
        total += info.file_size
        if total > limits.max_total_bytes:
            raise StudyInputError(
                f"archive inflates to more than {limits.max_total_bytes} bytes "
                "(zip bomb?); raise data.max_unzipped_gb if this is real",
                file=shown,
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limits.ratio_floor_bytes and ratio > limits.max_ratio:
            raise StudyInputError(
                f"member inflates {ratio:.0f}:1 to {info.file_size} bytes, beyond the "
                f"{limits.max_ratio:.0f}:1 allowed (zip bomb?); raise data.max_zip_ratio "
                "if this is real",
                file=label,
            )
        parts = PurePosixPath(name).parts
        if not _wanted(parts):
            skipped.append(name)
        elif _is_data_name(name):
            members.append(info)
    return sorted(members, key=lambda i: i.filename), tuple(sorted(skipped))


def _refuse_escaping_path(name: str, label: str) -> None:
    """Refuse absolute paths, drive letters and ``..`` (the zip-slip attack)."""
    normalised = name.replace("\\", "/")
    parts = normalised.split("/")
    if normalised.startswith("/") or ".." in parts or (len(name) > 1 and name[1] == ":"):
        raise StudyInputError("member path escapes the archive's folder", file=label)
