"""Build hook: the wheel carries the top-level ``conf/`` and ``analysis/`` inside the package.

The repository keeps its layout (the Hydra configs and the analysis scripts at the top
level); at build time they are mapped into the package as ``study._conf`` and
``study._analysis`` (see :mod:`study.resources`), so an installed ``study`` command finds
them through Hydra's search path (``pkg://study._conf``). Everything else about the
project is in pyproject.toml.
"""

from pathlib import Path

from setuptools import find_namespace_packages, find_packages, setup
from setuptools.command.build_py import build_py

# Package name -> the top-level folder it is built from.
SHIPPED = {"study._conf": "conf", "study._analysis": "analysis"}
# Config groups are folders of YAML (packages without code); conf/local/ holds one
# machine's settings (git-ignored) and never ships.
CONF_GROUPS = [
    f"study._conf.{group}"
    for group in find_namespace_packages(where="conf", exclude=["local", "local.*"])
]


class BuildPy(build_py):
    """Also give each shipped folder an ``__init__.py``: Hydra's ``pkg://`` config source
    only reads packages that have one, and the folders in the repository do not."""

    def run(self) -> None:
        super().run()
        for package, folder in SHIPPED.items():
            init = Path(self.build_lib, *package.split("."), "__init__.py")
            if init.parent.is_dir() and not init.exists():
                init.write_text(f'"""The project\'s {folder}/, shipped with the package."""\n')


setup(
    packages=[*find_packages(include=["study", "study.*"]), *SHIPPED, *CONF_GROUPS],
    package_dir=SHIPPED,
    package_data={
        "study": ["py.typed"],
        **{package: ["*.yaml"] for package in ["study._conf", *CONF_GROUPS]},
    },
    cmdclass={"build_py": BuildPy},
)
