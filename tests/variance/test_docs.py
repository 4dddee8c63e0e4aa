"""The README's variance example runs as written."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "README.md"


def _example() -> str:
    text = DOC.read_text()
    section = text.split("### Variance models on your own data frame", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None, "no python block in the README's variance section"
    return match.group(1)


def test_the_example_is_short_and_runs(tmp_path, monkeypatch, capsys):
    code = _example()
    assert len(code.strip().splitlines()) < 20
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        exec(compile(code, str(DOC), "exec"), {})
    printed = capsys.readouterr().out
    assert "diagnostics PASSED" in printed and "C1 " in printed
    assert (tmp_path / "my_fit" / "components.csv").exists()
    assert (tmp_path / "my_fit" / "shares.png").exists()
