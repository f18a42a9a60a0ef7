"""Fixtures shared across the test suite.

Support modules that tests import directly live beside this file: ``pngs`` (small images), ``dataset_rows``
(synthetic conversation rows), ``scoring_fakes``, ``publish_helpers``, and the local servers ``hubserver`` and
``fake_openai_server``. Test modules never import each other.
"""

from __future__ import annotations

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
