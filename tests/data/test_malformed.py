"""A corpus of malformed inputs, each with the error it must give.

Every case names the file, line, participant and field it expects in the error (None
where the input cannot say), runs through the real data stage, and must leave no
output behind. A few run through the command line to check the exit status.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from study.config import Config
from study.data.reader import ReadOptions, iter_records
from study.data.stage import run
from study.errors import StudyInputError

ROOT = Path(__file__).resolve().parents[2]


def line(participant: object = "1", text: object = "You pick <<A>>.", **extra: object) -> bytes:
    record: dict[str, object] = {"experiment": "exp", **extra}
    if participant is not ...:
        record["participant"] = participant
    if text is not ...:
        record["text"] = text
    return json.dumps(record).encode() + b"\n"


GOOD = line("0", "You pick <<B>>.")


# The line at which a damaged archive is noticed depends on read buffering.
ANY_LINE = -1


@dataclass
class Case:
    name: str
    # Writes the bad input under the given folder and returns the path to load.
    make: Callable[[Path], Path]
    message: str
    # Expected location: the file's name (its last path part, or "zip!member"), the
    # line, the participant and the field; None where the input cannot say.
    file: str
    line: int | None
    participant: str | None
    field: str | None


def jsonl(*lines: bytes) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / "exp" / "prompts.jsonl"
        path.parent.mkdir(parents=True)
        path.write_bytes(b"".join(lines))
        return path

    return make


def zipped(members: dict[str, bytes], *, method: int = zipfile.ZIP_DEFLATED) -> Callable:
    def make(folder: Path) -> Path:
        path = folder / "exp" / "prompts.jsonl.zip"
        path.parent.mkdir(parents=True)
        with zipfile.ZipFile(path, "w", compression=method) as archive:
            for name, data in members.items():
                archive.writestr(name, data)
        return path

    return make


def damaged_zip(damage: Callable[[bytes], bytes]) -> Callable[[Path], Path]:
    """A valid zip of good lines, then damaged on disk."""
    body = b"".join(line(str(i), "x <<A>> " * 50) for i in range(200))

    def make(folder: Path) -> Path:
        path = zipped({"prompts.jsonl": body}, method=zipfile.ZIP_STORED)(folder)
        path.write_bytes(damage(path.read_bytes()))
        return path

    return make


def flip_middle(data: bytes) -> bytes:
    """Turn one transcript ``x`` into ``y``: still valid JSON, but the CRC no longer fits."""
    at = data.index(b"x", len(data) // 2)
    return data[:at] + b"y" + data[at + 1 :]


CASES = [
    Case("unclosed marker", jsonl(GOOD, line("7", "You press <<left after 3 ms")),
         "'<<' at offset 10 is never closed", "prompts.jsonl", 2, "7", "text"),
    Case("closing marker without opening", jsonl(line("7", "You press left>> then <<A>>")),
         "'>>' at offset 14 has no opening '<<'", "prompts.jsonl", 1, "7", "text"),
    Case("nested markers", jsonl(line("7", "a <<b <<c>> d>>")),
         "nested '<<' at offset 6 inside response 0", "prompts.jsonl", 1, "7", "text"),
    Case("second response unclosed", jsonl(line("7", "<<A>> then <<B")),
         "'<<' at offset 11 is never closed", "prompts.jsonl", 1, "7", "text"),
    Case("empty transcript", jsonl(line("7", "")),
         "empty transcript", "prompts.jsonl", 1, "7", "text"),
    Case("blank transcript", jsonl(line("7", " \n\t ")),
         "empty transcript", "prompts.jsonl", 1, "7", "text"),
    Case("transcript without responses", jsonl(line("7", "Instructions only.")),
         "no responses", "prompts.jsonl", 1, "7", "text"),
    Case("empty response", jsonl(line("7", "You pick <<>>.")),
         "response 0 at offset 9 is empty", "prompts.jsonl", 1, "7", "text"),
    Case("missing transcript", jsonl(GOOD, GOOD.replace(b'"0"', b'"8"'), line("9", ...)),
         "missing transcript", "prompts.jsonl", 3, "9", "text"),
    Case("transcript not a string", jsonl(line("9", 42)),
         "missing transcript", "prompts.jsonl", 1, "9", "text"),
    Case("missing participant", jsonl(GOOD, line(...)),
         "missing or empty participant id", "prompts.jsonl", 2, None, "participant"),
    Case("empty participant id", jsonl(line("  ")),
         "missing or empty participant id", "prompts.jsonl", 1, None, "participant"),
    # Line 3 is participant 5's second session (another text); line 4 repeats line 1.
    Case("duplicate session", jsonl(line("5"), GOOD, line("5", "<<B>>"), line("5")),
         "duplicate session: same participant and same text as", "prompts.jsonl", 4, "5",
         "text"),
    Case("duplicate id as number and text", jsonl(line(5), line("5")),
         "duplicate session", "prompts.jsonl", 2, "5", "text"),
    Case("RTs shorter than responses", jsonl(line("4", "<<A>> <<B>>", RTs=["120"])),
         "RTs has 1 entries but the transcript has 2 responses", "prompts.jsonl", 1, "4", "RTs"),
    Case("RT that is not a number", jsonl(line("4", "<<A>> <<B>>", RTs=["120", "fast"])),
         "RTs entry 1: 'fast' is not a number", "prompts.jsonl", 1, "4", "RTs"),
    Case("RTs not a list", jsonl(line("4", RTs={"a": 1})),
         "RTs must be a list", "prompts.jsonl", 1, "4", "RTs"),
    Case("invalid UTF-8", jsonl(GOOD, b'{"participant": "3", "text": "caf\xe9 <<A>>"}\n'),
         "invalid UTF-8", "prompts.jsonl", 2, "3", "text"),
    Case("truncated JSON line", jsonl(GOOD, b'{"participant": "3", "text": "<<A>>'),
         "not valid JSON", "prompts.jsonl", 2, None, None),
    Case("line is not an object", jsonl(b'["a", "<<b>>"]\n'),
         "a line must be a JSON object", "prompts.jsonl", 1, None, None),
    Case("profile field clashes with a column", jsonl(line("2", source="lab")),
         "clashes with a table column", "prompts.jsonl", 1, "2", "source"),
    Case("empty file", jsonl(b"\n\n"),
         "holds no participants", "prompts.jsonl", None, None, None),
    Case("not a zip at all", lambda f: _write(f / "exp" / "prompts.jsonl.zip", b"PK\x03\x04junk"),
         "not a readable zip archive", "prompts.jsonl.zip", None, None, None),
    Case("truncated zip", damaged_zip(lambda b: b[: len(b) // 2]),
         "not a readable zip archive", "prompts.jsonl.zip", None, None, None),
    Case("corrupted member (CRC)", damaged_zip(flip_middle),
         "archive is corrupt", "prompts.jsonl.zip!prompts.jsonl", ANY_LINE, None, None),
    Case("zip bomb", zipped({"prompts.jsonl": b"\x00" * (4 << 20)}),
         "zip bomb", "prompts.jsonl.zip!prompts.jsonl", None, None, None),
    Case("member path escapes with ..", zipped({"../../evil/prompts.jsonl": GOOD}),
         "escapes the archive's folder", "prompts.jsonl.zip!../../evil/prompts.jsonl",
         None, None, None),
    Case("absolute member path", zipped({"/etc/prompts.jsonl": GOOD}),
         "escapes the archive's folder", "prompts.jsonl.zip!/etc/prompts.jsonl",
         None, None, None),
    Case("bad line inside a zip", zipped({"prompts.jsonl": GOOD + line("6", "<<A")}),
         "never closed", "prompts.jsonl.zip!prompts.jsonl", 2, "6", "text"),
    Case("no such path", lambda f: f / "missing" / "prompts.jsonl",
         "no such file or folder", "prompts.jsonl", None, None, None),
]  # fmt: skip


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    return path


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 20


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_names_where_it_is(case: Case, tmp_path: Path) -> None:
    bad = case.make(tmp_path / "in")
    with pytest.raises(StudyInputError) as caught:
        for _ in iter_records(bad):
            pass
    err = caught.value
    assert case.message in err.message
    assert err.file is not None and err.file.endswith(case.file)
    assert (err.participant, err.field) == (case.participant, case.field)
    if case.line == ANY_LINE:
        assert err.line is not None and err.line >= 1
    else:
        assert err.line == case.line


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_data_stage_leaves_nothing_behind(case: Case, tmp_path: Path) -> None:
    bad = case.make(tmp_path / "in")
    fresh = tmp_path / "fresh"
    cfg = Config(stage="data", out=str(fresh))
    cfg.data.path = str(bad)
    with pytest.raises(StudyInputError) as from_stage:
        run(cfg)
    assert not fresh.exists()
    # The stage reads in batches; it must word the error as reading line by line does.
    with pytest.raises(StudyInputError) as line_by_line:
        list(iter_records(bad))
    assert str(from_stage.value) == str(line_by_line.value)
    # A folder that already held results keeps exactly what it had.
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "earlier.txt").write_text("earlier run")
    cfg.out = str(kept)
    with pytest.raises(StudyInputError):
        run(cfg)
    assert sorted(p.name for p in kept.iterdir()) == ["earlier.txt"]


def test_twin_files_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "exp"
    folder.mkdir()
    (folder / "prompts.jsonl").write_bytes(GOOD)
    with zipfile.ZipFile(folder / "prompts.jsonl.zip", "w") as archive:
        archive.writestr("prompts.jsonl", GOOD)
    with pytest.raises(StudyInputError, match="keep one"):
        list(iter_records(tmp_path))


def test_an_overlong_line_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    path = jsonl(GOOD, line("2", "<<A>> " + "x" * 5000))(tmp_path)
    with pytest.raises(StudyInputError, match="longer than 1000 bytes") as caught:
        list(iter_records(path, options=ReadOptions(max_line_bytes=1000)))
    assert caught.value.line == 2


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.name in {"nested markers", "zip bomb", "duplicate session"}]
)
def test_the_command_line_exits_2_with_the_message(case: Case, tmp_path: Path) -> None:
    bad = case.make(tmp_path / "in")
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "study", "stage=data", f"data.path={bad}", f"out={out}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2, result.stderr
    assert case.message in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()
