"""Load the conversations to run (a local folder or a Hub repo), images kept as the encoded bytes they are stored as.

The model is sent the images exactly as stored, so they are never decoded and re-encoded here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from generator.common.errors import UserError
from generator.common.reading import check_dataset_folder, loading_errors


def load_conversations(dataset: str, config: str | None, split: str | None, *, quiet: bool = False) -> Any:
    """The split as a ``datasets.Dataset`` with images left as encoded bytes (sent as they are stored)."""
    import datasets
    from datasets import Image, List

    if dataset.startswith((".", "/", "~")) and not Path(dataset).expanduser().exists():
        raise UserError("no such folder (write one with `mmmtif-gen`)", where=dataset)
    check_dataset_folder(Path(dataset).expanduser())
    if quiet:
        datasets.disable_progress_bars()
    with loading_errors(dataset):
        loaded = datasets.load_dataset(dataset, config, split=split)
    if isinstance(loaded, datasets.DatasetDict):
        if "test" in loaded:
            loaded = loaded["test"]
        elif len(loaded) == 1:
            loaded = next(iter(loaded.values()))
        else:
            raise UserError(f"choose a split with --split: {', '.join(loaded)}", where=dataset)
    for column in ("id", "turns"):
        if column not in loaded.column_names:
            raise UserError(f"the dataset has no {column!r} column; is this an mmmt-if dataset?", where=dataset)
    if "images" in loaded.column_names:
        # An internal step, not worth a progress bar of its own.
        enabled = datasets.is_progress_bar_enabled()
        datasets.disable_progress_bars()
        try:
            loaded = loaded.cast_column("images", List(Image(decode=False)))
        finally:
            if enabled:
                datasets.enable_progress_bars()
    return loaded
