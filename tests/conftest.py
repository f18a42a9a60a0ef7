"""Fixtures shared across the test suite.

Support modules that tests import directly live beside this file: ``pngs`` (small images), ``dataset_rows``
(synthetic conversation rows), ``scoring_fakes``, ``publish_helpers``, ``tiny_tokenizer`` (a byte-level BPE trained
on the test's texts), ``training_data`` (generate and export training rows), and the local servers ``hubserver`` and ``fake_openai_server``. Test modules never import each other. Fixtures of one area stay together in a block of their own.
"""

from __future__ import annotations

import json
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


# ------------------------------------------------------------------------------------------------------------------
# Generated corpora (reference texts, question texts): a user folder source beside the procedural ones.


@pytest.fixture(scope="session")
def user_folder_source(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A ``folder:`` source spec with a few images and questions of every answer type (open included)."""
    from PIL import Image

    root: Path = tmp_path_factory.mktemp("user-folder")
    for name, colour in (("red.png", "red"), ("blue.png", "blue"), ("green.png", "green"), ("grey.png", "grey")):
        Image.new("RGB", (32, 24), colour).save(root / name)
    records = [
        {"file_name": "red.png", "question": "What colour is the picture?", "answer": "red"},
        {"file_name": "red.png", "question": "How wide is the picture in pixels?", "answer": 32},
        {"file_name": "blue.png", "question": "Is the picture blue?", "answer": "yes"},
        {"file_name": "blue.png", "question": "Which colours appear in the picture?", "answer": "blue, white",
         "answer_type": "list"},
        {"file_name": "green.png", "question": "Describe the picture."},
        {"file_name": "grey.png", "question": "Is the picture green?", "answer": "no"},
    ]
    (root / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return f"folder:{root}"
