"""Load the rows to score (``id`` and ``turns`` only) from a local dataset folder or a Hub repository.

``datasets`` is imported here and only here, lazily; images are never read or decoded (the ``images`` column is
not even selected). Streaming mode reads the parquet shards directly instead of copying them into a cache.
"""

from __future__ import annotations

import os
from pathlib import Path

from generator.common.errors import UserError
from generator.common.reading import check_dataset_folder, dataset_error, loading_errors, quiet_loading_logs

COLUMNS = ["id", "turns"]
BATCH_SIZE = 256  # rows converted to Python per call; one at a time is several times slower


def _is_local(dataset: str) -> bool:
    return os.path.isdir(dataset)


def load_rows(dataset: str | os.PathLike, config: str | None = None, split: str | None = None,
              revision: str | None = None) -> list[dict]:
    """Return the rows of one config and split as dicts with ``id`` and ``turns``.

    ``split`` may be omitted when the config has a single split. A path that does not exist and does not look
    like ``org/name`` is a user error; so is a missing config or split (the message lists the available ones).
    """
    dataset = os.fspath(dataset)
    local = _is_local(dataset)
    if not local and (os.path.exists(dataset) or dataset.count("/") != 1 or dataset.startswith((".", "/"))):
        raise UserError("dataset folder not found (give a dataset folder or a Hub repo id ORG/NAME)", where=dataset)
    if local:
        check_dataset_folder(dataset)
    import datasets

    where = dataset if config is None else f"{dataset} (config {config})"
    # The README's dataset_info is authoritative; asking the Hub's dataset viewer for exported infos would only add
    # a network round trip (and a lookup of a host that a private endpoint does not have).
    saved_export = datasets.config.USE_PARQUET_EXPORT
    datasets.config.USE_PARQUET_EXPORT = False
    try:
        with quiet_loading_logs():
            loaded = datasets.load_dataset(str(Path(dataset).resolve()) if local else dataset, name=config,
                                           revision=None if local else revision, streaming=True, columns=COLUMNS)
    except (ValueError, FileNotFoundError, KeyError) as exc:
        configs = _config_names(dataset)
        hint = f" (available configs: {', '.join(configs)})" if configs else ""
        raise UserError(f"cannot load the dataset: {exc}{hint}", where=where) from None
    except Exception as exc:
        error = dataset_error(exc, where)
        if error is None:
            raise
        raise error from None
    finally:
        datasets.config.USE_PARQUET_EXPORT = saved_export
    splits = sorted(loaded)
    if split is None:
        if len(splits) != 1:
            raise UserError(f"the dataset has several splits; choose one with --split ({', '.join(splits)})",
                            where=where)
        split = splits[0]
    if split not in loaded:
        raise UserError(f"no split {split!r} (available: {', '.join(splits)})", where=where)
    missing = [c for c in COLUMNS if c not in (loaded[split].features or {})]
    if missing:
        raise UserError(f"the dataset lacks the column(s) {', '.join(missing)}", where=where)
    rows: list[dict] = []
    with loading_errors(where):  # a truncated or zeroed shard fails here, when it is read
        for batch in loaded[split].iter(batch_size=BATCH_SIZE):
            rows.extend({"id": rid, "turns": turns} for rid, turns in zip(batch["id"], batch["turns"], strict=True))
    return rows


def _config_names(dataset: str) -> list[str]:
    try:
        import datasets

        return sorted(datasets.get_dataset_config_names(dataset))
    except Exception:
        return []
