"""mmmt-if: generate, validate, publish and score MMMT-IF-style multi-turn instruction-following benchmarks.

The version comes from the installed distribution's metadata (``pyproject.toml`` is the one place it is written).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mmmt-if")
except PackageNotFoundError:  # a source tree used without installing it
    __version__ = "0.0.0+unknown"
