"""Build hook: copy the top-level resource folders into the wheel.

The design keeps templates/, schemas/ and dataset_card/ at the repository root, where people edit them. An
installed wheel has no repository root, so the build copies them into ``generator/_data/``;
``generator.common.resources`` looks there first and falls back to the checkout.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

RESOURCE_DIRS = ("templates", "schemas", "dataset_card")


class BuildWithResources(build_py):
    """build_py that also places the resource folders inside the built package."""

    def run(self) -> None:
        super().run()
        root = Path(__file__).resolve().parent
        target = Path(self.build_lib) / "generator" / "_data"
        for name in RESOURCE_DIRS:
            src = root / name
            if src.is_dir():
                dst = target / name
                if dst.exists():
                    shutil.rmtree(dst)
                shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildWithResources})
