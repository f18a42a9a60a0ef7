"""mmmt-if: generate, validate, publish and score MMMT-IF-style multi-turn instruction-following benchmarks.

The version is written here, in one place: ``pyproject.toml`` reads it from this line when the package is built.
It is a literal rather than a lookup of the installed distribution's metadata because every command reports it
and ``importlib.metadata`` costs more to import than the rest of a small run's start-up before pyarrow; a literal
is also right for a source tree used without installing it.
"""

__version__ = "0.2.0"
