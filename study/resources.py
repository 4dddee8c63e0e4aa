"""Where the files that travel with the code are: the Hydra configs and the analysis scripts.

The repository keeps them at the top level (``conf/``, ``analysis/``). A wheel carries
them inside the package, as ``study._conf`` and ``study._analysis`` (setup.py maps the
folders at build time), so an installed ``study`` runs from any folder. Code asks this
module and never builds a path into a checkout itself:

- installed from a wheel, the package copies (Hydra reads the configs as
  ``pkg://study._conf``);
- from a source tree (an editable install, or the checkout on ``sys.path``), the
  top-level folders beside the ``study`` package that was imported, so a work tree
  always runs its own configs.

Either way they are the primary configs of Hydra's search path; a user's own config
folder is added to it with ``--config-dir`` (see the README).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
CONF_PACKAGE = "study._conf"
ANALYSIS_PACKAGE = "study._analysis"


def _shipped(package: str, folder: str) -> tuple[Path, bool]:
    """The folder of ``package`` and whether it is the installed copy."""
    installed = _PACKAGE / package.rsplit(".", 1)[1]
    if installed.is_dir():
        return installed, True
    return _PACKAGE.parent / folder, False


def conf_dir() -> Path:
    """The folder of the shipped Hydra configs (``config.yaml`` and the groups)."""
    return _shipped(CONF_PACKAGE, "conf")[0]


def conf_search_path() -> str:
    """The primary config path for Hydra: ``pkg://study._conf`` when installed, else the
    source tree's ``conf/`` folder."""
    folder, installed = _shipped(CONF_PACKAGE, "conf")
    return f"pkg://{CONF_PACKAGE}" if installed else str(folder)


def analysis_script(name: str) -> Path | None:
    """The analysis script ``name`` (``analysis/NAME.py``), or None when there is none."""
    path = _shipped(ANALYSIS_PACKAGE, "analysis")[0] / f"{name}.py"
    return path if path.is_file() else None
