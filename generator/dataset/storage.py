"""Where a dataset folder is written: a local folder or any fsspec URL (``s3://bucket/prefix``, ``gs://``, ...).

Both keep the same promise: nothing appears at the final location until the whole dataset is written, and a
failed run leaves no partial dataset there.

- Local: shards and folder files go to a hidden sibling ``.<name>.tmp-<pid>`` that replaces the target in one
  rename (see ``generator.dataset.writer``).
- Object storage has no rename. Shards go to a hidden staging prefix ``<parent>/.<name>.tmp-<token>/``; the folder
  files (README.md, card plot, scoring.py, manifest.json) are assembled locally from the shards' statistics.
  Commit copies the shards to the final prefix (server-side), uploads the folder files and writes
  ``manifest.json`` last: the manifest is the commit marker that ``mmmtif validate``/``publish`` require. When an
  older dataset of this tool is replaced, its manifest is removed first, so a reader never sees a manifest that
  does not describe the files beside it; files of the old dataset that the new one does not have are removed.

A shard is written whole or not at all (local: temporary name + rename; object storage: the object appears when
its upload completes), so a retried shard task replaces, never duplicates, its rows. Credentials come from the
usual environment variables or configuration files of the storage library (``AWS_ACCESS_KEY_ID``, ...); nothing
here reads, prints or records them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.common.errors import UserError

MANIFEST_NAME = "manifest.json"


def is_url(path: str | os.PathLike) -> bool:
    """True for ``scheme://...`` outputs other than ``file://`` (which is a local folder)."""
    text = os.fspath(path)
    return "://" in text and not text.startswith("file://")


def _filesystem(url: str, storage_options: Mapping[str, Any] | None = None) -> tuple[Any, str]:
    try:
        from fsspec.core import url_to_fs
    except ImportError:
        raise UserError("writing to a URL needs fsspec and its backend, e.g. pip install 'mmmt-if[s3]'",
                        where="--out") from None
    try:
        fs, root = url_to_fs(url, **dict(storage_options or {}))
    except (ImportError, ValueError) as exc:
        raise UserError(f"cannot open {url}: {exc} (for s3:// install 'mmmt-if[s3]')", where="--out") from None
    return fs, root.rstrip("/")


# ------------------------------------------------------------------------------------------------ sinks
@dataclass(frozen=True)
class SinkSpec:
    """Where shard files go, as plain data that can be sent to another process or machine."""

    kind: str  # "local" or "fsspec"
    root: str  # a folder, or a URL
    storage_options: Mapping[str, Any] = field(default_factory=dict)


@contextlib.contextmanager
def open_shard(spec: SinkSpec, rel: str) -> Iterator[Any]:
    """A binary handle for the shard ``rel`` (``<config>/<file>``) that becomes visible only when the block ends
    without an error; on an error nothing is left under its name."""
    if spec.kind == "local":
        target = Path(spec.root) / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.parent / f".{target.name}.part-{os.getpid()}"
        try:
            with open(part, "wb") as handle:
                yield handle
            os.replace(part, target)
        finally:
            part.unlink(missing_ok=True)
        return
    fs, root = _filesystem(spec.root, spec.storage_options)
    handle = fs.open(f"{root}/{rel}", "wb")
    try:
        yield handle
    except BaseException:
        discard = getattr(handle, "discard", None)
        if discard is not None:
            discard()  # an upload that never completes leaves no object
        raise
    handle.close()


# ------------------------------------------------------------------------------------------------ outputs
class RemoteOutput:
    """A dataset written under an fsspec URL: staging prefix for shards, local folder for the folder files."""

    def __init__(self, url: str, *, overwrite: bool, storage_options: Mapping[str, Any] | None = None) -> None:
        self.url = url.rstrip("/")
        self.storage_options = dict(storage_options or {})
        self.fs, self.root = _filesystem(self.url, self.storage_options)
        if not self.root or "/" not in self.root.strip("/"):
            raise UserError(f"give a prefix inside the bucket, e.g. {self.url}/mmmt-if", where="--out")
        self.previous = self._check_existing(overwrite)
        parent, name = self.root.rsplit("/", 1)
        self.staging = f"{parent}/.{name}.tmp-{uuid.uuid4().hex[:12]}"
        self.meta_dir = Path(tempfile.mkdtemp(prefix="mmmtif-meta-"))

    def _listing(self) -> list[str]:
        try:
            return sorted(p[len(self.root) + 1:] for p in self.fs.find(self.root) if p.startswith(self.root + "/"))
        except FileNotFoundError:
            return []

    def _check_existing(self, overwrite: bool) -> list[str]:
        existing = self._listing()
        if not existing:
            return []
        if not overwrite:
            raise UserError(f"{self.url} is not empty (use --overwrite to replace it)", where="--out")
        if MANIFEST_NAME not in existing or not _manifest_is_ours(self.fs, f"{self.root}/{MANIFEST_NAME}"):
            raise UserError(f"{self.url} does not hold a dataset written by mmmt-if; refusing to replace it",
                            where="--out")
        return existing

    @property
    def sink(self) -> SinkSpec:
        protocol = self.fs.protocol if isinstance(self.fs.protocol, str) else self.fs.protocol[0]
        return SinkSpec("fsspec", f"{protocol}://{self.staging}", self.storage_options)

    def commit(self, manifest: Mapping[str, Any]) -> None:
        """Copy shards to the final prefix, upload the folder files, write the manifest last, drop staging."""
        files = sorted(manifest["files"])
        if self.previous:
            self.fs.rm(f"{self.root}/{MANIFEST_NAME}")  # the old dataset is no longer committed from here on
        shards = [rel for rel in files if not (self.meta_dir / rel).is_file()]
        try:
            if shards:
                # One call: the backend copies server-side and, for s3fs, many objects concurrently.
                self.fs.copy([f"{self.staging}/{rel}" for rel in shards], [f"{self.root}/{rel}" for rel in shards])
            for rel in files:
                if (self.meta_dir / rel).is_file() and rel != MANIFEST_NAME:
                    self.fs.put_file(str(self.meta_dir / rel), f"{self.root}/{rel}")
        except BaseException:
            # No manifest was written: remove what this run put at the final prefix (best effort).
            written = [f"{self.root}/{rel}" for rel in files if f"{self.root}/{rel}" not in self._previous_paths()]
            with contextlib.suppress(Exception):
                self.fs.rm([p for p in written if self.fs.exists(p)])
            raise
        stale = [f"{self.root}/{rel}" for rel in self.previous if rel not in files and rel != MANIFEST_NAME]
        if stale:
            self.fs.rm(stale)
        self.fs.put_file(str(self.meta_dir / MANIFEST_NAME), f"{self.root}/{MANIFEST_NAME}")
        self.cleanup()

    def _previous_paths(self) -> set[str]:
        return {f"{self.root}/{rel}" for rel in self.previous}

    def cleanup(self) -> None:
        """Remove the staging prefix and the local folder files (after a commit or a failure)."""
        with contextlib.suppress(FileNotFoundError, OSError):
            self.fs.rm(self.staging, recursive=True)
        shutil.rmtree(self.meta_dir, ignore_errors=True)


def _manifest_is_ours(fs: Any, path: str) -> bool:
    import json

    from generator.dataset.manifest import FORMAT

    try:
        with fs.open(path, "rb") as handle:
            manifest = json.loads(handle.read())
    except (OSError, ValueError):
        return False
    generator = manifest.get("generator") if isinstance(manifest, dict) else None
    return manifest.get("format") == FORMAT and isinstance(generator, dict) and generator.get("name") == "mmmt-if"


@contextlib.contextmanager
def local_copy(path: str | os.PathLike, *, storage_options: Mapping[str, Any] | None = None) -> Iterator[Path]:
    """A local folder with the dataset at ``path``: the path itself, or a temporary download of a URL.

    ``mmmtif validate`` and ``mmmtif publish`` check and upload exactly the bytes they read, so a dataset in
    object storage is read once into a temporary folder (removed afterwards). Only a committed dataset (one with
    its ``manifest.json``) is accepted.
    """
    if not is_url(path):
        yield Path(path)
        return
    url = os.fspath(path).rstrip("/")
    fs, root = _filesystem(url, storage_options)
    if not fs.exists(f"{root}/{MANIFEST_NAME}"):
        raise UserError(f"{url} holds no committed dataset ({MANIFEST_NAME} missing)")
    with tempfile.TemporaryDirectory(prefix="mmmtif-copy-") as tmp:
        local = Path(tmp) / root.rsplit("/", 1)[-1]
        local.mkdir()
        for remote in fs.find(root):
            rel = remote[len(root) + 1:]
            if not rel or any(part.startswith(".") for part in rel.split("/")):
                continue
            (local / rel).parent.mkdir(parents=True, exist_ok=True)
            fs.get_file(remote, str(local / rel))
        yield local


__all__ = ["RemoteOutput", "SinkSpec", "is_url", "local_copy", "open_shard"]
