"""Write outputs so that a failure or a kill leaves nothing half-written.

Every file is written under a temporary name in the destination folder and renamed
into place only when the whole stage succeeds; a rename within one filesystem is
atomic, so readers see either the old state or the complete new one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


class StagedOutputs:
    """Collect a stage's output files and publish them all at once.

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "run"
    >>> with StagedOutputs(out) as staged:
    ...     _ = staged.path("a.txt").write_text("hello")
    >>> sorted(p.name for p in out.iterdir())
    ['a.txt']
    """

    def __init__(self, out_dir: str | Path) -> None:
        self.out_dir = Path(out_dir)
        self._created_dir = False
        self._staging: Path | None = None
        self._names: list[str] = []

    def __enter__(self) -> StagedOutputs:
        if not self.out_dir.exists():
            self.out_dir.mkdir(parents=True)
            self._created_dir = True
        self._staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.out_dir))
        return self

    def path(self, name: str) -> Path:
        """Where to write ``name`` now; it appears in the output folder on success."""
        assert self._staging is not None, "use StagedOutputs as a context manager"
        self._names.append(name)
        target = self._staging / name
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self._staging is not None
        try:
            if exc_type is None:
                for name in self._names:
                    staged = self._staging / name
                    if staged.exists():
                        final = self.out_dir / name
                        final.parent.mkdir(parents=True, exist_ok=True)
                        os.replace(staged, final)
        finally:
            shutil.rmtree(self._staging, ignore_errors=True)
            if exc_type is not None and self._created_dir:
                # The folder was ours: leave no trace of a failed stage.
                with contextlib.suppress(OSError):
                    self.out_dir.rmdir()


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp makes the file private (0600); give it the permissions a plain
        # open() would have, so published results are readable like any other file.
        os.chmod(tmp_path, 0o666 & ~_current_umask())
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
