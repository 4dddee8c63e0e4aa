"""The loader on the shipped Psych-201 experiments and on small hand-made inputs."""

from __future__ import annotations

import zipfile
from pathlib import Path

import polars as pl

from study.data import iter_participants, load_tables
from study.data.loader import SHIPPED_DATA as SHIPPED


def test_shipped_experiments_load_with_their_counts() -> None:
    people = list(iter_participants(SHIPPED))
    counts: dict[str, int] = {}
    for person in people:
        counts[person.experiment] = counts.get(person.experiment, 0) + 1
    assert counts == {"busch2024_stroop": 125, "dezfouli2019": 101, "thoma2025riskychoice": 301}
    assert sum(len(p.choices) for p in people) == 146_000


def test_every_span_points_at_its_response_and_context_ends_at_the_marker() -> None:
    for person in iter_participants(SHIPPED, limit=5):
        for k, choice in enumerate(person.choices):
            assert choice.index == k
            assert person.transcript[choice.start : choice.end] == choice.response
            assert person.transcript[choice.marker_start : choice.start] == "<<"
            assert person.transcript[choice.end : choice.end + 2] == ">>"


def test_profiles_are_typed_numbers_as_floats_text_as_text() -> None:
    thoma = next(iter_participants(SHIPPED / "thoma2025riskychoice", limit=1))
    assert thoma.profile == {"age": 31.0, "gender": "Female", "condition": "repeated"}
    busch = next(iter_participants(SHIPPED / "busch2024_stroop", limit=1))
    assert busch.rts is not None and len(busch.rts) == len(busch.choices)
    assert busch.choices[0].rt == 1159.0 and busch.rts[0] == 1159.0


def test_limit_keeps_the_first_n_of_each_experiment() -> None:
    people = list(iter_participants(SHIPPED, limit=3))
    assert [(p.experiment, p.participant) for p in people] == [
        ("busch2024_stroop", "1"),
        ("busch2024_stroop", "2"),
        ("busch2024_stroop", "3"),
        ("dezfouli2019", "s_005_"),
        ("dezfouli2019", "s_006_"),
        ("dezfouli2019", "s_011_"),
        ("thoma2025riskychoice", "1"),
        ("thoma2025riskychoice", "2"),
        ("thoma2025riskychoice", "3"),
    ]


def test_raw_experiment_field_is_kept_beside_the_folder_name() -> None:
    participants, _ = load_tables(SHIPPED / "dezfouli2019", limit=2)
    assert participants["experiment"].to_list() == ["dezfouli2019"] * 2
    assert participants["experiment_field"][0].startswith("dezfouli//Users/")


def test_jsonl_zip_and_folder_give_the_same_tables(tmp_path: Path, record, jsonl_bytes) -> None:
    lines = jsonl_bytes(
        [
            record(1, "a <<X>> b <<down>>", age="31.0", RTs=["5", "nan"]),
            record("s_2", "only <<crest CAUSES take>>", age="nan", score=[1, 2]),
        ]
    )
    folder = tmp_path / "myexp"
    folder.mkdir()
    (folder / "prompts.jsonl").write_bytes(lines)
    zipped = tmp_path / "zipped" / "myexp"
    zipped.mkdir(parents=True)
    with zipfile.ZipFile(zipped / "prompts.jsonl.zip", "w") as archive:
        archive.writestr("prompts.jsonl", lines)
        archive.writestr("__MACOSX/._prompts.jsonl", b"\x00\x05\x16\x07 resource fork")
    plain = load_tables(folder / "prompts.jsonl")
    from_zip = load_tables(zipped / "prompts.jsonl.zip")
    from_folder = load_tables(tmp_path / "zipped")
    for got in (from_zip, from_folder):
        for mine, theirs in zip(plain, got, strict=True):
            assert mine.drop("source", strict=False).equals(theirs.drop("source", strict=False))
    participants, choices = plain
    assert participants.select("participant", "age", "score").rows() == [
        ("1", 31.0, None),
        ("s_2", None, "[1,2]"),
    ]
    assert participants.schema["age"] == pl.Float64
    assert choices.select("response", "rt").rows() == [
        ("X", 5.0),
        ("down", None),
        ("crest CAUSES take", None),
    ]


def test_a_zip_of_experiment_zips_names_each_by_its_folder(
    tmp_path: Path, record, jsonl_bytes
) -> None:
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("prompts.jsonl", jsonl_bytes([record(7)]))
    outer = tmp_path / "collection.zip"
    with zipfile.ZipFile(outer, "w") as archive:
        archive.write(inner, "alpha2024/prompts.jsonl.zip")
        archive.writestr("beta2023/prompts.jsonl", jsonl_bytes([record(8)]))
        archive.writestr("beta2023/README.md", b"# not data")
    people = list(iter_participants(outer))
    assert [(p.experiment, p.participant) for p in people] == [
        ("alpha2024", "7"),
        ("beta2023", "8"),
    ]
    assert people[0].source == f"{outer}!alpha2024/prompts.jsonl.zip!prompts.jsonl"
