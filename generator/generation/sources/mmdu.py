"""MMDU (laolao77/MMDU, CC-BY-NC-4.0) as files: a reader, and a source of multi-image dialogues for generation.

MMDU is published as plain files, not parquet: ``benchmark.json`` (110 dialogues) with ``mmdu_pics.zip`` and
``mmdu-45k.json`` with ``mmdu-45k_pics.zip``. A record holds ``id``, ``image`` (paths such as
``/mmdu_pics/x.jpg``) and ``conversations`` (``{"from": "user"|"assistant", "value": ...}``, some copies say
``human``/``gpt``); the k-th ``<ImageHere>`` marker of the dialogue is the k-th path of ``image``. The container is
a dict keyed by id in some copies and a list in others. Everything that reads MMDU goes through :func:`open_mmdu`,
so these variations are handled once:

- ``SOURCE`` is a local folder (the JSON files next to their image zips or the unzipped folders), one JSON file,
  a zip holding JSON files and images, or ``hub:OWNER/NAME[/FILE.json][@REVISION]``, fetched with
  ``huggingface_hub.hf_hub_download`` into the library's own cache (``benchmark.json`` when no file is named);
- a malformed record is left out and reported in one line naming the file, the record id (or its position in a
  list) and the field; a file that is not an MMDU container at all stops the reader (:class:`UserError`). An id
  repeated in a list or as a key of a dict-keyed file is malformed (the first record with that id is kept);
- an image path that leads outside the source (``..``, a symbolic link leaving the folder) makes its record
  malformed, decided from the path alone: the message never says whether a file exists out there;
- every image path is checked to exist when the file is read. An image is decoded (fully loaded by Pillow, over
  Pillow's pixel limit refused) when a record is about to be used (:meth:`MMDUData.usable`): a record with an
  undecodable image is then left out like a malformed one, and each image is decoded once per process.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import threading
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

from generator.common.errors import UserError
from generator.generation.sources.base import QA, ChatMaterial, ImageSpec, Source, SourceInfo

LICENSE = "CC-BY-NC-4.0"
SOURCE_NAME = "MMDU (laolao77/MMDU)"
LICENSE_ID = "cc-by-nc-4.0"  # the Hub's identifier, for card metadata
ATTRIBUTION = "MMDU (Liu et al., 2024, laolao77/MMDU)"
HUB_PREFIX = "hub:"
DEFAULT_HUB_FILE = "benchmark.json"
KNOWN_FILES = ("benchmark.json", "mmdu-45k.json")
USER_ROLES = ("user", "human")
ASSISTANT_ROLES = ("assistant", "gpt", "bot")
MARKER = "<ImageHere>"
GENERATION_IMAGES = (2, 5)  # dialogues a generated chat may come from: 2 to 5 images, as MMDU-45k

# "Image1: <ImageHere>; Image2: <ImageHere>. " (MMDU's listing of a turn's images) or a bare marker.
_MARKER_LIST = re.compile(r"(?:\bImage\s*\d+\s*:\s*)?<ImageHere>\s*[;,.:]?\s*", re.IGNORECASE)
_IMAGE_REF = re.compile(r"\bImage\s?(\d+)\b")
_SNAPSHOT = re.compile(r"/snapshots/([0-9a-f]{40})/")


# ------------------------------------------------------------------------------------------------ records


@dataclass(frozen=True)
class MMDUTurn:
    """One user turn with the assistant answer that follows it (None when none does)."""

    text: str  # the user message as stored, markers included
    question: str  # the message without its image markers, whitespace collapsed
    answer: str | None
    images: tuple[int, ...]  # 0-based indices of the images whose markers are in this turn


@dataclass(frozen=True)
class MMDUDialogue:
    """One MMDU record: image paths in marker order (leading "/" stripped) and its user turns."""

    id: str
    file: str  # the JSON file's name, e.g. "benchmark.json"
    images: tuple[str, ...]
    turns: tuple[MMDUTurn, ...]
    set: str | None = None

    @property
    def key(self) -> str:
        """``file#id``: unique across the files of one source."""
        return f"{self.file}#{self.id}"

    def named_images(self) -> int:
        """The highest ImageK any user turn names (0 when none does)."""
        return max((int(m) for t in self.turns for m in _IMAGE_REF.findall(t.question)), default=0)


@dataclass(frozen=True)
class Malformed:
    """A record left out, with the one line that says why."""

    file: str
    record: str
    field: str
    problem: str

    def __str__(self) -> str:
        return f"{self.file}: record {self.record}: field {self.field}: {self.problem}"


def strip_markers(text: str) -> str:
    """A user message without its ``<ImageHere>`` markers (and MMDU's "ImageK:" labels before them)."""
    return " ".join(_MARKER_LIST.sub(" ", text).split())


OUTSIDE = "leads outside the MMDU source"


def image_path(path: str) -> str | None:
    """MMDU's image path relative to its JSON file's folder ("/mmdu_pics/x.jpg" -> "mmdu_pics/x.jpg"), or None when
    it leads outside (a ``..`` part). Decided from the text alone, so nothing outside the source is ever looked at."""
    parts = [part for part in path.strip().split("/") if part not in ("", ".")]
    if not parts or any(".." in part.split("\\") for part in parts):
        return None
    return "/".join(parts)


class _Object(dict):  # type: ignore[type-arg]
    """A JSON object that remembers the keys it repeats (``json.loads`` alone keeps the last value silently)."""

    pairs: list[tuple[str, Any]] | None = None


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    value = _Object(pairs)
    if len(value) != len(pairs):
        value.pairs = pairs
    return value


def parse_record(raw: Any, key: str | None, file: str, position: int | None = None) -> MMDUDialogue | Malformed:
    """Check one record and return it as a dialogue, or the reason it is malformed.

    ``key`` is the record's key in a dict container (None in a list, where ``id`` is required and ``position``,
    the record's 0-based place in the list, names it until its id is known).
    """
    def bad(record: str, field_name: str, problem: str) -> Malformed:
        return Malformed(file, record, field_name, problem)

    label = str(key) if key is not None else f"at position {position}" if position is not None else "?"
    if not isinstance(raw, dict):
        return bad(label, "record", "not a JSON object")
    record_id = raw.get("id", key)
    if isinstance(record_id, bool) or not isinstance(record_id, str | int) or str(record_id).strip() == "":
        return bad(label, "id", "missing or not a string/number")
    rid = str(record_id).strip()
    if key is not None and "id" in raw and rid != str(key):
        return bad(str(key), "id", f"{rid!r} differs from the record's key {key!r}")
    repeated = getattr(raw, "pairs", None)
    if repeated:
        names = [name for name, _ in repeated]
        twice = next(name for k, name in enumerate(names) if name in names[:k])
        return bad(rid, twice, "appears twice in the record")
    images = raw.get("image")
    if not isinstance(images, list) or not images:
        return bad(rid, "image", "expected a non-empty list of image paths")
    paths: list[str] = []
    for k, path in enumerate(images):
        if not isinstance(path, str) or not path.strip("/ "):
            return bad(rid, f"image[{k}]", "expected a path string")
        relative = image_path(path)
        if relative is None:
            return bad(rid, f"image[{k}]", OUTSIDE)
        paths.append(relative)
    conversations = raw.get("conversations")
    if not isinstance(conversations, list) or not conversations:
        return bad(rid, "conversations", "expected a non-empty list of turns")
    turns: list[MMDUTurn] = []
    pending: tuple[str, tuple[int, ...]] | None = None
    marker = 0
    answers: list[str | None] = []
    texts: list[tuple[str, tuple[int, ...]]] = []
    for t, turn in enumerate(conversations):
        where = f"conversations[{t}]"
        if not isinstance(turn, dict):
            return bad(rid, where, "not an object")
        role = turn.get("from")
        value = turn.get("value")
        if not isinstance(value, str):
            return bad(rid, f"{where}.value", "missing or not a string")
        role_name = str(role).strip().lower() if isinstance(role, str) else ""
        if role_name in USER_ROLES:
            count = value.count(MARKER)
            bound = tuple(range(marker, marker + count))
            marker += count
            if pending is not None:
                texts.append(pending)
                answers.append(None)
            pending = (value, bound)
        elif role_name in ASSISTANT_ROLES:
            if MARKER in value:
                return bad(rid, f"{where}.value", f"an assistant turn holds an {MARKER} marker")
            if pending is None:
                return bad(rid, f"{where}.from", "an assistant turn with no user turn before it")
            texts.append(pending)
            answers.append(value.strip() or None)
            pending = None
        else:
            return bad(rid, f"{where}.from", f"unknown role {role!r} (expected user/human or assistant/gpt)")
    if pending is not None:
        texts.append(pending)
        answers.append(None)
    if marker != len(paths):
        return bad(rid, "conversations", f"{marker} {MARKER} marker(s) for {len(paths)} image(s)")
    for (text, bound), answer in zip(texts, answers, strict=True):
        turns.append(MMDUTurn(text=text, question=strip_markers(text), answer=answer, images=bound))
    if not any(t.question for t in turns):
        return bad(rid, "conversations", "no user question")
    kind = raw.get("set")
    return MMDUDialogue(id=rid, file=file, images=tuple(paths), turns=tuple(turns),
                        set=str(kind) if isinstance(kind, str | int) else None)


def iter_records(container: Any, file: str) -> Iterator[tuple[Any, str | None, int]]:
    """(raw record, key, position) of a dict-keyed or list container, a repeated key yielding each of its records
    in file order; raise UserError for anything else."""
    if isinstance(container, dict):
        if {"id", "image", "conversations"} <= set(container):
            raise UserError("holds one record, not a collection of records (a list or a dict keyed by id)",
                            where=file)
        pairs = getattr(container, "pairs", None) or list(container.items())
        for position, (key, raw) in enumerate(pairs):
            yield raw, str(key), position
    elif isinstance(container, list):
        for position, raw in enumerate(container):
            yield raw, None, position
    else:
        raise UserError("not an MMDU file: expected a JSON list of records or an object keyed by id", where=file)


# ------------------------------------------------------------------------------------------------ image stores


class _ImageStore:
    """Where the image paths of one JSON file live: extracted files or members of zip archives."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._lock = threading.Lock()

    def problem(self, path: str) -> str | None:  # pragma: no cover - abstract
        """None when ``path`` is an image of the source, else why it cannot be used."""
        raise NotImplementedError

    def read(self, path: str) -> bytes:  # pragma: no cover - abstract
        raise NotImplementedError


class _FolderStore(_ImageStore):
    """Images next to the JSON file: unzipped folders, or zips named after their top folder (or any zip)."""

    def __init__(self, root: Path, zips: Sequence[Path] = ()) -> None:
        super().__init__(str(root))
        self.root = root
        self.zips = list(zips) or sorted(p for p in root.glob("*.zip") if p.is_file())
        self._members: dict[str, tuple[Path, str]] | None = None
        self._open: dict[Path, zipfile.ZipFile] = {}
        self._real_root: str | None = None

    def _index(self) -> dict[str, tuple[Path, str]]:
        if self._members is None:
            members: dict[str, tuple[Path, str]] = {}
            for archive in self.zips:
                try:
                    with zipfile.ZipFile(archive) as handle:
                        names = [i.filename for i in handle.infolist() if not i.is_dir()]
                except (OSError, zipfile.BadZipFile) as exc:
                    raise UserError(f"not a readable zip archive ({exc})", where=str(archive)) from None
                for name in names:
                    members.setdefault(name, (archive, name))
                    # "mmdu_pics.zip" may hold "x.jpg" rather than "mmdu_pics/x.jpg"
                    members.setdefault(f"{archive.stem}/{name}", (archive, name))
            self._members = members
        return self._members

    def _outside(self, file: Path) -> bool:
        """Whether ``file`` resolves (through symbolic links) outside the folder; the target is never opened."""
        if self._real_root is None:
            self._real_root = os.path.realpath(self.root)
        return not Path(os.path.realpath(file)).is_relative_to(self._real_root)

    def problem(self, path: str) -> str | None:
        file = self.root / path
        if self._outside(file):
            return f"{OUTSIDE} (a symbolic link)"
        if file.is_file() or path in self._index():
            return None
        return f"{path} not found in {self.label}"

    def read(self, path: str) -> bytes:
        file = self.root / path
        if self._outside(file):
            raise KeyError(path)
        if file.is_file():
            return file.read_bytes()
        return self._read_member(path)

    def _read_member(self, path: str) -> bytes:
        archive, member = self._index()[path]
        with self._lock:
            handle = self._open.get(archive)
            if handle is None:
                handle = self._open[archive] = zipfile.ZipFile(archive)
            return handle.read(member)


class _ZipStore(_ImageStore):
    """A zip given as the source: JSON files and images inside one archive (paths relative to the JSON's folder)."""

    def __init__(self, archive: Path, handle: zipfile.ZipFile, base: str) -> None:
        super().__init__(f"{archive}:{base}" if base else str(archive))
        self.handle = handle
        self.base = base
        self.names = {i.filename for i in handle.infolist() if not i.is_dir()}

    def _member(self, path: str) -> str:
        return f"{self.base}/{path}" if self.base else path

    def problem(self, path: str) -> str | None:
        return None if self._member(path) in self.names else f"{path} not found in {self.label}"

    def read(self, path: str) -> bytes:
        with self._lock:
            return self.handle.read(self._member(path))


# ------------------------------------------------------------------------------------------------ the source


@dataclass
class MMDUData:
    """Dialogues read from one source, the records left out, and where the images are."""

    spec: str  # as the user gave it (no machine path added)
    dialogues: list[MMDUDialogue]
    malformed: list[Malformed] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    revision: str | None = None  # the Hub commit the files came from
    digests: dict[str, str] = field(default_factory=dict)  # JSON file name -> SHA-256 of its bytes
    _stores: dict[str, _ImageStore] = field(default_factory=dict, repr=False)
    _formats: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)
    _index: dict[tuple[str, str], MMDUDialogue] | None = field(default=None, repr=False)
    _usable: dict[tuple[str, str], bool] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def key(self) -> str:
        """A name for this content that holds no machine path: the SHA-256 of its JSON files, combined."""
        combined = hashlib.sha256("".join(f"{n}:{d};" for n, d in sorted(self.digests.items())).encode())
        return f"sha256:{combined.hexdigest()[:24]}"

    def find(self, file: str, dialogue_id: str) -> MMDUDialogue | None:
        """The dialogue ``dialogue_id`` of JSON file ``file``."""
        if self._index is None:
            self._index = {(d.file, d.id): d for d in self.dialogues}
        return self._index.get((file, dialogue_id))

    def image(self, dialogue: MMDUDialogue, index: int, *, check: bool = True) -> tuple[bytes, str]:
        """The bytes and Pillow format of image ``index`` of ``dialogue``.

        With ``check`` the image is decoded the first time it is asked for (the format is remembered, so it is
        never decoded twice); callers that decode the bytes themselves pass ``check=False``.
        """
        path = dialogue.images[index]
        where = f"{dialogue.file}: record {dialogue.id}: field image[{index}]"
        try:
            data = self._stores[dialogue.file].read(path)
        except (OSError, KeyError, zipfile.BadZipFile) as exc:
            raise UserError(f"cannot read {path} ({exc})", where=where) from None
        cache_key = (dialogue.file, path)
        found = self._formats.get(cache_key)
        if found is None and check:
            found = self._formats[cache_key] = decode_check(data, f"{where} ({path})")
        return data, found or ""

    def usable(self, dialogue: MMDUDialogue) -> bool:
        """Whether every image of ``dialogue`` decodes (each decoded once); a dialogue with an image that does not
        is moved to :attr:`malformed` with one line naming the file, the record and the field."""
        with self._lock:
            known = self._usable.get((dialogue.file, dialogue.id))
            if known is not None:
                return known
            problem = None
            for k in range(len(dialogue.images)):
                try:
                    self.image(dialogue, k)
                except UserError as exc:
                    message = str(exc)[len(exc.where) + 2:] if exc.where else str(exc)
                    problem = Malformed(dialogue.file, dialogue.id, f"image[{k}]", message)
                    break
            if problem is not None:
                self.malformed.append(problem)
            self._usable[(dialogue.file, dialogue.id)] = problem is None
            return problem is None

    def sha256(self, dialogue: MMDUDialogue) -> tuple[str, ...]:
        """SHA-256 of each image of a dialogue (to tell copies of one dialogue from different ones)."""
        return tuple(hashlib.sha256(self.image(dialogue, k)[0]).hexdigest() for k in range(len(dialogue.images)))


def decode_check(data: bytes, where: str) -> str:
    """Decode ``data`` fully with Pillow (over Pillow's pixel limit refused); return its format or raise
    UserError naming ``where``."""
    from generator.generation.sources.images import open_image

    with open_image(data, where) as image:
        return str(image.format or "")


def split_hub_spec(spec: str, revision: str | None = None) -> tuple[str, str, str | None]:
    """``hub:OWNER/NAME[/FILE.json][@REV]`` -> (repo id, file, revision); ``revision`` may come from --revision."""
    body = spec[len(HUB_PREFIX):]
    rev = None
    if "@" in body:
        body, rev = body.rsplit("@", 1)
        if not rev:
            raise UserError("empty revision after '@'", where=spec)
    if rev is not None and revision is not None and rev != revision:
        raise UserError(f"the source names revision {rev!r} and --revision says {revision!r}", where=spec)
    parts = [p for p in body.split("/") if p]
    if len(parts) < 2:
        raise UserError("expected hub:OWNER/NAME[/FILE.json][@REVISION]", where=spec)
    file = "/".join(parts[2:]) or DEFAULT_HUB_FILE
    if not file.endswith(".json"):
        raise UserError(f"{file!r} is not a JSON file of the repository", where=spec)
    return f"{parts[0]}/{parts[1]}", file, rev or revision


def with_revision(spec: str, revision: str | None) -> str:
    """The source spec with ``--revision`` folded in (only Hub sources have revisions)."""
    if revision is None:
        return spec
    if not spec.startswith(HUB_PREFIX):
        raise UserError("a revision applies only to a Hub source (hub:OWNER/NAME)", where="--revision")
    repo, file, rev = split_hub_spec(spec, revision)
    return f"{HUB_PREFIX}{repo}/{file}@{rev}"


def open_mmdu(spec: str, *, revision: str | None = None) -> MMDUData:
    """Read every dialogue of ``spec`` (see the module docstring); malformed records are collected, not fatal."""
    spec = spec.strip()
    if not spec:
        raise UserError("needs a folder, JSON file, zip or hub:OWNER/NAME", where="MMDU source")
    if spec.startswith(HUB_PREFIX):
        return _open_hub(spec, revision)
    if revision is not None:
        raise UserError("a revision applies only to a Hub source (hub:OWNER/NAME)", where="--revision")
    path = Path(spec).expanduser()
    if path.is_dir():
        files = [path / name for name in KNOWN_FILES if (path / name).is_file()]
        if not files:
            files = sorted(p for p in path.glob("*.json") if p.is_file())
        if not files:
            raise UserError(f"no MMDU JSON file here (expected {' or '.join(KNOWN_FILES)})", where=spec)
        data = MMDUData(spec=spec, dialogues=[])
        for file in files:
            _add_file(data, file.name, _read(file), str(file), _FolderStore(path))
        return data
    if path.is_file() and path.suffix.lower() == ".json":
        data = MMDUData(spec=spec, dialogues=[])
        _add_file(data, path.name, _read(path), str(path), _FolderStore(path.parent))
        return data
    if path.is_file() and path.suffix.lower() == ".zip":
        return _open_zip(spec, path)
    if path.exists():
        raise UserError("expected a folder, a .json file or a .zip archive", where=spec)
    raise UserError("no such file or folder (a Hub repository is written hub:OWNER/NAME)", where=spec)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read the file ({exc.strerror or exc})", where=str(path)) from None


def _load_json(raw: bytes, where: str) -> Any:
    try:
        return json.loads(raw, object_pairs_hook=_object)
    except UnicodeDecodeError:
        raise UserError("not UTF-8 text", where=where) from None
    except json.JSONDecodeError as exc:
        raise UserError(f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})", where=where) from None


def _add_file(data: MMDUData, name: str, raw: bytes, where: str, store: _ImageStore,
              container: Any = None) -> None:
    """Parse one JSON file (``container``, when already parsed) into ``data``; records with missing images or
    repeated ids are malformed."""
    if name in data.files:
        raise UserError(f"two JSON files named {name}", where=data.spec)
    if container is None:
        container = _load_json(raw, where)
    data.digests[name] = hashlib.sha256(raw).hexdigest()
    data.files.append(name)
    data._stores[name] = store
    seen: set[str] = set()
    for raw, key, position in iter_records(container, name):
        parsed = parse_record(raw, key, name, position)
        if isinstance(parsed, MMDUDialogue):
            if parsed.id in seen:
                parsed = Malformed(name, parsed.id, "id", "repeats an earlier record's id")
            else:
                for k, path in enumerate(parsed.images):
                    problem = store.problem(path)
                    if problem is not None:
                        parsed = Malformed(name, parsed.id, f"image[{k}]", problem)
                        break
        if isinstance(parsed, Malformed):
            data.malformed.append(parsed)
        else:
            seen.add(parsed.id)
            data.dialogues.append(parsed)


def _open_zip(spec: str, path: Path) -> MMDUData:
    try:
        handle = zipfile.ZipFile(path)
        names = [i.filename for i in handle.infolist() if not i.is_dir()]
    except (OSError, zipfile.BadZipFile) as exc:
        raise UserError(f"not a readable zip archive ({exc})", where=spec) from None
    jsons = sorted(n for n in names if n.lower().endswith(".json") and PurePosixPath(n).name in KNOWN_FILES)
    if not jsons:
        jsons = sorted(n for n in names if n.lower().endswith(".json"))
    if not jsons:
        raise UserError("the archive holds no MMDU JSON file", where=spec)
    data = MMDUData(spec=spec, dialogues=[])
    for member in jsons:
        base = str(PurePosixPath(member).parent)
        base = "" if base == "." else base
        _add_file(data, PurePosixPath(member).name, handle.read(member), f"{spec}:{member}",
                  _ZipStore(path, handle, base))
    return data


def _open_hub(spec: str, revision: str | None) -> MMDUData:
    """Download the JSON file and its image zips with ``hf_hub_download`` (the library's cache is reused)."""
    repo_id, file, rev = split_hub_spec(spec, revision)
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    def download(name: str) -> Path:
        try:
            return Path(hf_hub_download(repo_id, name, repo_type="dataset", revision=rev))
        except RepositoryNotFoundError:
            raise UserError(f"dataset repository {repo_id} not found (or not accessible)", where=spec) from None
        except RevisionNotFoundError:
            raise UserError(f"revision {rev!r} not found in {repo_id}", where=spec) from None
        except EntryNotFoundError:
            raise
        except (HfHubHTTPError, OSError, ValueError) as exc:
            message = " ".join(str(exc).split())[:200]
            raise UserError(f"cannot download {name} ({type(exc).__name__}: {message})", where=spec) from None

    try:
        json_path = download(file)
    except EntryNotFoundError:
        raise UserError(f"{file} not found in {repo_id}", where=spec) from None
    commit = _SNAPSHOT.search(json_path.as_posix())
    raw = _read(json_path)
    container = _load_json(raw, f"{spec} ({file})")
    folder = PurePosixPath(file).parent
    paths = {image_path(p) for raw, _, _ in iter_records(container, file)
             if isinstance(raw, dict) and isinstance(raw.get("image"), list)
             for p in raw["image"] if isinstance(p, str)}
    tops = sorted({p.split("/", 1)[0] for p in paths if p is not None and "/" in p})
    zips: list[Path] = []
    root = json_path.parent
    for top in tops:
        name = str(folder / f"{top}.zip") if str(folder) != "." else f"{top}.zip"
        try:
            zips.append(download(name))
        except EntryNotFoundError:
            continue  # the images may be plain files of the repository; they are fetched one by one below
    data = MMDUData(spec=spec, dialogues=[], revision=commit.group(1) if commit else rev)
    store = _HubStore(root, zips, download)
    _add_file(data, PurePosixPath(file).name, raw, f"{spec} ({file})", store, container)
    return data


class _HubStore(_FolderStore):
    """Images from the Hub: from the downloaded zips, or (no zip) each file downloaded on first check."""

    def __init__(self, root: Path, zips: Sequence[Path], download: Any) -> None:
        super().__init__(root, zips)
        self.zips = list(zips)
        self._download = download
        self._files: dict[str, Path | None] = {}

    def _file(self, path: str) -> Path | None:
        if path not in self._files:
            from huggingface_hub.errors import EntryNotFoundError

            try:
                self._files[path] = self._download(path)
            except EntryNotFoundError:
                self._files[path] = None
        return self._files[path]

    def problem(self, path: str) -> str | None:
        if path in self._index() or self._file(path) is not None:
            return None
        return f"{path} not found in the repository"

    def read(self, path: str) -> bytes:
        if path in self._index():
            return self._read_member(path)
        file = self._file(path)
        if file is None:
            raise KeyError(path)
        return file.read_bytes()


_OPENED: dict[str, MMDUData] = {}
_OPENED_LOCK = threading.Lock()


def cached_mmdu(spec: str) -> MMDUData:
    """``open_mmdu(spec)``, read once per process and also findable by its content key (:attr:`MMDUData.key`).

    Image specs of generated rows name their source by content key, so no machine path is published; the
    process that renders them has opened the source to plan the same rows.
    """
    with _OPENED_LOCK:
        found = _OPENED.get(spec)
        if found is None:
            found = _OPENED[spec] = open_mmdu(spec)
            _OPENED.setdefault(found.key, found)
        return found


def opened_by_key(key: str) -> MMDUData:
    """The MMDU source this process opened whose content key is ``key``."""
    with _OPENED_LOCK:
        found = _OPENED.get(key)
    if found is None:
        raise UserError("this MMDU source is not open in this process (open it with mmdu:SOURCE first)",
                        where=f"image spec mmdu {key}")
    return found


def report_malformed(data: MMDUData, echo: Any, limit: int = 20, *, start: int = 0) -> None:
    """Print one warning line per record left out from the ``start``-th on (at most ``limit``, then a count)."""
    items = data.malformed[start:]
    for item in items[:limit]:
        echo(f"warning: left out: {item}")
    if len(items) > limit:
        echo(f"warning: ... and {len(items) - limit} more malformed record(s) left out")


# ------------------------------------------------------------------------------------------------ generation


INFO = SourceInfo(
    "mmdu:SOURCE", "user", ("open",), LICENSE,
    "MMDU dialogues with 2-5 images (folder, JSON, zip or hub:laolao77/MMDU[/FILE.json][@REV]): questions in "
    "their order, MMDU's answers kept as reference answers (they do not follow format instructions).")

CARD_SECTION = (
    "## Images, questions and licence\n\n"
    "The images, the questions and the reference answers of this dataset come from MMDU (Liu et al., 2024; "
    "Hub repository `laolao77/MMDU`), released under **CC-BY-NC-4.0** (attribution, non-commercial use only). "
    "That licence applies to this dataset as a whole. Each conversation is one MMDU dialogue with 2 to 5 images: "
    "with at least as many user questions as the configured turns: its first questions in their original "
    "order, nothing else (a dialogue with fewer questions is never chosen, and no question is added). Every image "
    "of the dialogues a chat may come from was decoded when the set was generated; a dialogue with an image that "
    "does not decode was left out.\n\n"
    "`reference_answer` holds MMDU's own assistant answers. They were written before any instruction was "
    "inserted and **do not follow the format instructions**, so they are not a valid reference for instruction "
    "following; `mmmtif run` therefore feeds the model its own answers by default (`--history model`), and "
    "`--history source` sends MMDU's answers as the earlier assistant turns, when that is what you want to "
    "measure.\n"
)


class MMDUSource(Source):
    """One MMDU dialogue per chat: its images in marker order, its user questions in order."""

    kind = "user"
    prefix = "mmdu"
    image_kinds = ("mmdu",)

    @classmethod
    def from_spec(cls, argument: str, *, column_map: dict[str, str], difficulty: int) -> Source:
        return cls(argument)

    @classmethod
    def render(cls, spec: ImageSpec) -> tuple[bytes, str]:
        return render_mmdu_image(spec)
    dataset_license = LICENSE_ID
    card_section = CARD_SECTION

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.name = f"mmdu:{spec}"
        data = cached_mmdu(spec)
        low, high = GENERATION_IMAGES
        usable = [d for d in data.dialogues if low <= len(d.images) <= high and d.named_images() <= len(d.images)]
        if not usable:
            raise UserError(f"no dialogue with {low} to {high} images (of {len(data.dialogues)} read, "
                            f"{len(data.malformed)} left out as malformed)", where=spec)
        self.data = data
        self.dialogues = usable
        self._pools: dict[int, list[int]] = {}

    def _pool(self, n_questions: int) -> list[int]:
        """Dialogues with at least ``n_questions`` questions whose images all decode (checked once per process)."""
        pool = self._pools.get(n_questions)
        if pool is None:
            pool = self._pools[n_questions] = [
                p for p, d in enumerate(self.dialogues)
                if sum(1 for t in d.turns if t.question) >= n_questions and self.data.usable(d)]
        return pool

    def prepare(self, turns: Sequence[int]) -> None:
        """Check, before any chat is planned, that every turn count has dialogues to draw from (their images are
        decoded here; a dialogue with an image that does not decode is left out, as malformed)."""
        for n_questions in sorted(set(turns)):
            if self._pool(n_questions):
                continue
            longest = max(sum(1 for t in d.turns if t.question) for d in self.dialogues)
            if longest >= n_questions:
                raise UserError(f"no dialogue with at least {n_questions} questions has images that all decode "
                                f"(see the records left out above)", where=self.spec)
            raise UserError(f"no dialogue with {GENERATION_IMAGES[0]} to {GENERATION_IMAGES[1]} images has "
                            f"{n_questions} questions (the longest has {longest}): use --turns {longest} or fewer",
                            where=self.spec)

    def _candidates(self, n_images: int, n_questions: int) -> list[int]:
        """Dialogues long enough for every turn, with the image count nearest ``n_images``."""
        pool = self._pool(n_questions)
        if not pool:
            self.prepare([n_questions])
        distance = min(abs(len(self.dialogues[p].images) - n_images) for p in pool)
        return [p for p in pool if abs(len(self.dialogues[p].images) - n_images) == distance]

    def sample_chat(self, rng: random.Random, n_images: int, n_questions: int) -> ChatMaterial:
        dialogue = self.dialogues[rng.choice(self._candidates(n_images, n_questions))]
        count = len(dialogue.images)
        qas: list[QA] = []
        for turn in dialogue.turns:
            if not turn.question or len(qas) == n_questions:
                continue
            named = sorted({int(m) - 1 for m in _IMAGE_REF.findall(turn.question) if 0 < int(m) <= count})
            indices = named or list(turn.images) or list(range(count))
            question = turn.question
            if not named:
                from generator.generation.sources.folder import name_images

                question = name_images(question, indices) if len(indices) < count else question
            qas.append(QA(question, turn.answer, "open", indices))
        images = [{"source": SOURCE_NAME, "kind": "mmdu", "mmdu": self.data.key, "file": dialogue.file,
                   "dialogue": dialogue.id, "index": k, "path": dialogue.images[k], "license": LICENSE,
                   "attribution": f"{ATTRIBUTION}, dialogue {dialogue.id}"} for k in range(count)]
        return ChatMaterial(images=images, qas=qas)


@lru_cache(maxsize=64)
def _rendered(spec_key: str, file: str, dialogue_id: str, index: int) -> tuple[bytes, str]:
    from generator.generation.sources.folder import encode_user_image

    data = opened_by_key(spec_key)
    dialogue = data.find(file, dialogue_id)
    where = f"{file}: record {dialogue_id}: field image[{index}]"
    if dialogue is None or index >= len(dialogue.images):
        raise UserError("no such dialogue image in the MMDU source", where=where)
    raw, _format = data.image(dialogue, index, check=False)  # encode_user_image decodes it (once: cached here)
    return encode_user_image(raw, where)


def render_mmdu_image(spec: ImageSpec) -> tuple[bytes, str]:
    """The image a ``kind: mmdu`` spec names, checked and (when large) scaled like other user images."""
    return _rendered(spec["mmdu"], spec["file"], spec["dialogue"], int(spec["index"]))
