"""Shared test fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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
