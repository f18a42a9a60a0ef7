"""Fixtures shared across the test suite.

Support modules that tests import directly live beside this file: ``pngs`` (small images), ``dataset_rows``
(synthetic conversation rows), ``scoring_fakes``, ``publish_helpers``, and the local servers ``hubserver`` and
``fake_openai_server``. Test modules never import each other. Fixtures of one area stay together in a block of their own.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pngs import png_bytes


@pytest.fixture
def png():
    """The PNG factory: ``png(color, size, fmt=..., label=..., outline=...)`` -> bytes."""
    return png_bytes


@pytest.fixture
def catalogue():
    """The instruction catalogue, with the plan's and renderer's per-process caches emptied around each test."""
    from generator.core import instructions
    from generator.generation import plan, render

    caches = (plan.candidate_pool, render.instruction_wording, render.event_wording, render._official_wordings,
              render._fields)
    for cache in caches:
        cache.cache_clear()
    yield instructions
    for cache in caches:
        cache.cache_clear()


# ------------------------------------------------------------------------------------------------ MMDU fixtures
# Synthetic MMDU files (tests/mmdu_fixtures.py): both container shapes, both role spellings, zipped and unzipped
# images, dialogues carrying the official release's real questions plus decoys. Built once per session.


@pytest.fixture(scope="session")
def mmdu_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[str]]]:
    """(folder as downloaded from the Hub, SHA-256 of each dialogue's images by ``file#id``)."""
    from mmdu_fixtures import write_mmdu

    root = tmp_path_factory.mktemp("mmdu") / "MMDU"
    return root, write_mmdu(root)


@pytest.fixture(scope="session")
def official_subset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The official CSV reduced to the conversations the MMDU fixture is about."""
    from mmdu_fixtures import write_official_subset

    return write_official_subset(tmp_path_factory.mktemp("official") / "subset.csv")


# ------------------------------------------------------------------------------------------------ end MMDU
