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


def conversations_without_images(rows: Any, limit: int | None = None) -> tuple[int, int]:
    """(conversations without any image, conversations) among the first ``limit`` rows.

    Read from the Arrow list lengths of a ``datasets.Dataset`` (no image is loaded), or from plain dict rows.
    """
    count = len(rows) if limit is None else min(limit, len(rows))
    if hasattr(rows, "column_names"):
        if "images" not in rows.column_names:
            return count, count
        import pyarrow.compute as pc

        if getattr(rows, "_indices", None) is not None:  # a selection: materialise it so row k is table row k
            rows = rows.flatten_indices()
        column = rows.data.column("images").slice(0, count)
        lengths = pc.fill_null(pc.list_value_length(column), 0)
        return int(pc.sum(pc.equal(lengths, 0)).as_py() or 0), count
    return sum(1 for index in range(count) if not rows[index].get("images")), count
