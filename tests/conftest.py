"""Shared test fixtures. Each block belongs to one area; keep additions in their own block."""

from __future__ import annotations

from pathlib import Path

import pytest

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
