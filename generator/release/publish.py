"""Versioned, atomic releases of a dataset folder to the Hugging Face Hub.

A release is one commit plus one tag. The commit carries the whole folder (README.md re-rendered with the version
and the changelog, shards, ``scoring.py``, ``manifest.json``, card assets) together with two files this module
maintains in the repository, ``releases.json`` (the machine-readable release history, read back to carry the
changelog across versions) and ``CHANGELOG.md``. Files of the previous head that are no longer part of the folder
(stale shards) are deleted in the same commit, and ``parent_commit`` pins the head the plan was computed against, so
a concurrent change makes the commit fail instead of mixing two releases. The tag is created only after the commit
succeeded: a failed commit leaves the repository untouched, and a failed tag leaves a commit that re-running the
same command completes.

What identifies a release is its content digest: the SHA-256 of the folder's files as written by the generator
(README.md before the release rendering, shards, scoring.py, assets; not manifest.json and not the two release
files). Publishing a folder whose digest equals the latest release is a no-op.

The token comes from the usual Hugging Face configuration (``HF_TOKEN`` or ``hf auth login``) and is never printed:
every message that leaves this module passes through :func:`_scrub`.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from generator.common.errors import UserError, ValidationError

REPO_TYPE = "dataset"
RELEASES_NAME = "releases.json"
CHANGELOG_NAME = "CHANGELOG.md"
README_NAME = "README.md"
MANIFEST_NAME = "manifest.json"
RELEASE_FILES = (RELEASES_NAME, CHANGELOG_NAME)  # written by publish, never taken from the folder
KEEP_REMOTE = (".gitattributes",)  # files of the repository a release never deletes
_SEMVER = re.compile(r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$")
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")


class PublishError(UserError):
    """A release that could not be completed (network fault, server refusal); exit code 1, one line."""

    exit_code = 1


# -- versions ---------------------------------------------------------------------------------------------------
def parse_version(text: str) -> tuple[int, int, int, int, str]:
    """Sort key of a ``vX.Y.Z[-pre]`` version; a pre-release sorts before its release. UserError if malformed."""
    match = _SEMVER.match(text or "")
    if not match:
        raise UserError(f"version {text!r} is not of the form vX.Y.Z (semantic versioning with a leading 'v')",
                        where="--version")
    major, minor, patch, pre = match.groups()
    return int(major), int(minor), int(patch), 0 if pre else 1, pre or ""


# -- local folder -----------------------------------------------------------------------------------------------
@dataclass
class ReleaseFile:
    """One file of the planned release: its content comes from disk (``source``) or memory (``data``)."""

    path: str
    size: int
    sha256: str
    source: Path | None = None
    data: bytes | None = None

    def read(self) -> bytes:
        return self.data if self.data is not None else self.source.read_bytes()  # type: ignore[union-attr]

    def git_oid(self) -> str:
        """Git blob id, what the Hub reports for files that are not stored in LFS."""
        content = self.read()
        return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()

    @classmethod
    def from_bytes(cls, path: str, data: bytes) -> ReleaseFile:
        return cls(path, len(data), hashlib.sha256(data).hexdigest(), data=data)

    @classmethod
    def from_path(cls, path: str, source: Path) -> ReleaseFile:
        from generator.dataset.manifest import file_sha256

        return cls(path, source.stat().st_size, file_sha256(source), source=source)


def folder_files(folder: Path) -> dict[str, ReleaseFile]:
    """Every file of the folder except dotfiles/dot-folders and the files publish maintains itself."""
    files: dict[str, ReleaseFile] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if any(part.startswith(".") for part in rel.split("/")) or rel in RELEASE_FILES:
            continue
        if path.is_symlink():  # its target may be anything on this machine: never upload it
            raise UserError(f"{rel} is a symbolic link; a release holds only regular files (copy the file in)",
                            where=str(folder))
        if not path.is_file():
            continue
        files[rel] = ReleaseFile.from_path(rel, path)
    return files


def content_digest(files: Mapping[str, ReleaseFile]) -> str:
    """SHA-256 over (path, sha256) of the files that define a release (manifest.json excluded: it is derived)."""
    digest = hashlib.sha256()
    for rel in sorted(files):
        if rel == MANIFEST_NAME or rel in RELEASE_FILES:
            continue
        digest.update(f"{rel}\0{files[rel].sha256}\n".encode())
    return digest.hexdigest()


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """(YAML metadata, body) of a card; one-line ValidationError when the front matter is missing or not YAML.

    Strict YAML from the shared reader: a duplicate key or a ``!!python`` tag is refused, not half-accepted.
    """
    from generator.common.reading import split_front_matter as split

    return split(text, README_NAME)


def _data_file_patterns(config: Mapping[str, Any]) -> dict[str, list[str]]:
    """{split: [patterns]} of a README ``configs`` entry (all the shapes ``datasets`` accepts)."""
    data_files = config.get("data_files")
    if isinstance(data_files, str):
        return {"train": [data_files]}
    if isinstance(data_files, Mapping):
        return {str(k): [v] if isinstance(v, str) else list(v) for k, v in data_files.items()}
    result: dict[str, list[str]] = {}
    for item in data_files or []:
        if isinstance(item, str):
            result.setdefault("train", []).append(item)
        elif isinstance(item, Mapping):
            paths = item.get("path")
            result.setdefault(str(item.get("split", "train")), []).extend(
                [paths] if isinstance(paths, str) else list(paths or []))
    return result


def _match(pattern: str, names: Iterable[str]) -> list[str]:
    pattern = pattern.lstrip("./")
    return sorted(n for n in names if fnmatch.fnmatchcase(n, pattern)
                  or ("**" in pattern and fnmatch.fnmatchcase(n, pattern.replace("**/", ""))))


def check_release_folder(folder: str | os.PathLike[str], repo_name: str | None = None, *,
                         quiet: bool = True) -> list[str]:
    """Problems that forbid publishing the folder (empty when it can go out).

    Checks what the Hub cannot check for us before ``load_dataset`` fails for users: the README's ``configs``
    point at existing shards and every shard is reachable, ``dataset_info`` names the same configs and splits with
    the row counts of the parquet files, ``scoring.py`` is present, no root file is named after the repository
    (``<name>.py`` makes ``load_dataset`` treat it as a loading script), and everything ``mmmtif validate`` checks
    (manifest hashes, features vs parquet schema, every row and image).
    """
    import pyarrow.parquet as pq

    root = Path(folder)
    if not root.is_dir():
        return [f"{root}: not a folder"]
    problems: list[str] = []
    names = set(folder_files(root)) | {n for n in RELEASE_FILES if (root / n).is_file()}
    if repo_name and f"{repo_name}.py" in names:
        problems.append(f"{repo_name}.py: a root file named after the repository breaks load_dataset; rename it")
    if "scoring.py" not in names:
        problems.append("scoring.py: missing (a release carries its own scorer)")
    if README_NAME not in names:
        return [*problems, f"{README_NAME}: missing"]
    try:
        meta, _body = split_front_matter((root / README_NAME).read_text(encoding="utf-8"))
    except ValidationError as exc:
        return [*problems, str(exc)]
    configs = meta.get("configs")
    if not isinstance(configs, list) or not configs:
        return [*problems, f"{README_NAME}: field configs: missing or empty"]
    parquet = sorted(n for n in names if n.endswith(".parquet"))
    reached: set[str] = set()
    counts: dict[str, dict[str, int]] = {}
    for config in configs:
        cname = config.get("config_name", "default") if isinstance(config, Mapping) else None
        if cname is None:
            problems.append(f"{README_NAME}: field configs: entry {config!r} is not a mapping")
            continue
        patterns = _data_file_patterns(config)
        if not patterns:
            problems.append(f"{README_NAME}: config {cname}: no data_files")
        for split, split_patterns in patterns.items():
            matched = sorted({m for p in split_patterns for m in _match(p, names)})
            if not matched:
                problems.append(f"{README_NAME}: config {cname} split {split}: {split_patterns} match no file")
                continue
            reached.update(matched)
            rows = 0
            for rel in matched:
                try:
                    rows += pq.ParquetFile(root / rel).metadata.num_rows
                except Exception as exc:  # unreadable shard: report it, keep checking the rest
                    problems.append(f"{rel}: not a readable parquet file ({type(exc).__name__})")
            counts.setdefault(str(cname), {})[split] = rows
    for rel in parquet:
        if rel not in reached:
            problems.append(f"{rel}: not referenced by any config in {README_NAME}")
    infos = meta.get("dataset_info")
    if isinstance(infos, Mapping):
        infos = [infos]
    for info in infos or []:
        cname = str(info.get("config_name", "default"))
        if cname not in counts:
            if cname not in {str(c.get("config_name", "default")) for c in configs if isinstance(c, Mapping)}:
                problems.append(f"{README_NAME}: dataset_info names config {cname} that configs lacks")
            continue
        declared = {str(s.get("name")): s.get("num_examples") for s in info.get("splits") or []}
        if declared and set(declared) != set(counts[cname]):
            problems.append(f"{README_NAME}: config {cname}: dataset_info splits {sorted(declared)} differ from "
                            f"data_files splits {sorted(counts[cname])}")
        for split, rows in counts[cname].items():
            if split in declared and declared[split] is not None and declared[split] != rows:
                problems.append(f"{README_NAME}: config {cname} split {split}: dataset_info says "
                                f"{declared[split]} rows, the parquet files hold {rows}")
    for problem in _validator_problems(root, quiet):
        if problem not in problems:
            problems.append(problem)
    return problems


def _validator_problems(root: Path, quiet: bool) -> list[str]:
    """What ``mmmtif validate`` finds (card vs files, manifest, every row, every image)."""
    from generator.dataset.manifest import check_manifest

    try:
        from generator.dataset.checks import validate_dataset
    except ImportError:  # a reduced installation: the manifest check still guards the release
        return check_manifest(root)
    return [str(p) for p in validate_dataset(root, quiet=quiet)]


# -- card and release files -------------------------------------------------------------------------------------
def render_release_readme(folder: Path, readme: str, version: str, changelog: list[dict[str, Any]],
                          repo_id: str) -> str:
    """The README of the release: the folder's card with the version and the changelog.

    The card module renders it when it can re-render from a folder; otherwise the folder's README is kept and its
    changelog section is replaced, so a release never depends on optional pieces being present.
    """
    try:
        from generator.dataset import card
    except ImportError:
        card = None  # type: ignore[assignment]
    rerender = getattr(card, "render_card_for_folder", None) if card is not None else None
    if rerender is not None:
        from generator.generation.variants import preset_description

        return rerender(folder, version=version, changelog=changelog, repo_id=repo_id, describe=preset_description)
    return _patch_readme(readme, version, changelog)


def _patch_readme(readme: str, version: str, changelog: list[dict[str, Any]]) -> str:
    match = re.match(r"^---\r?\n.*?\r?\n---\r?\n?", readme, re.S)
    head, body = (readme[:match.end()], readme[match.end():]) if match else ("", readme)
    body = re.sub(r"(?ms)^## Changelog\s*\n.*?(?=^## |\Z)", "", body).rstrip() + "\n"
    body = re.sub(r"(?m)^\*\*Version:\*\* .*\n\n?", "", body)
    heading = re.search(r"(?m)^# .*\n", body)
    line = f"**Version:** {version}\n\n"
    body = body[:heading.end()] + "\n" + line + body[heading.end():].lstrip("\n") if heading else line + body
    return head + body + "\n" + changelog_markdown(changelog, level=2)


def changelog_markdown(changelog: list[dict[str, Any]], level: int = 1) -> str:
    """Markdown of the release history, newest first."""
    lines = [f"{'#' * level} Changelog", ""]
    for entry in changelog:
        date = f" ({entry['date']})" if entry.get("date") else ""
        lines.append(f"{'#' * (level + 1)} {entry['version']}{date}")
        lines.append("")
        lines.append(str(entry.get("changes") or "").strip() or "(no description)")
        lines.append("")
    return "\n".join(lines)


def release_date() -> str:
    """UTC date of the release; ``SOURCE_DATE_EPOCH`` pins it for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    stamp = float(epoch) if epoch and epoch.isdigit() else time.time()
    return time.strftime("%Y-%m-%d", time.gmtime(stamp))


# -- plan -------------------------------------------------------------------------------------------------------
@dataclass
class RemoteFile:
    """A file at the repository head: size and the hash the Hub reports (sha256 for LFS, git oid otherwise)."""

    path: str
    size: int
    sha256: str | None
    git_oid: str | None


@dataclass
class Operation:
    """One planned change: ``action`` is add, update, delete or keep."""

    action: str
    path: str
    size: int


@dataclass
class PublishResult:
    """What :func:`publish` did: ``status`` is published, tagged, unchanged or dry-run."""

    status: str
    version: str
    commit: str | None = None
    operations: list[Operation] = field(default_factory=list)


def plan_operations(planned: Mapping[str, ReleaseFile], remote: Mapping[str, RemoteFile]) -> list[Operation]:
    """Compare the planned release with the head: adds, updates, deletes of stale files, and kept files."""
    ops: list[Operation] = []
    for rel in sorted(planned):
        local = planned[rel]
        current = remote.get(rel)
        if current is None:
            ops.append(Operation("add", rel, local.size))
        elif _same(local, current):
            ops.append(Operation("keep", rel, local.size))
        else:
            ops.append(Operation("update", rel, local.size))
    for rel in sorted(set(remote) - set(planned)):
        if rel not in KEEP_REMOTE:
            ops.append(Operation("delete", rel, remote[rel].size))
    return ops


def _same(local: ReleaseFile, remote: RemoteFile) -> bool:
    if local.size != remote.size:
        return False
    if remote.sha256 is not None:
        return remote.sha256 == local.sha256
    return remote.git_oid == local.git_oid()


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def format_plan(ops: list[Operation]) -> list[str]:
    """One line per change (kept files summarised in one line)."""
    lines = [f"  {op.action:<6} {op.path} ({human_size(op.size)})" for op in ops if op.action != "keep"]
    kept = [op for op in ops if op.action == "keep"]
    if kept:
        lines.append(f"  keep   {len(kept)} unchanged file(s) ({human_size(sum(op.size for op in kept))})")
    return lines


# -- the release ------------------------------------------------------------------------------------------------
def _scrub(text: str, token: str | None) -> str:
    """Remove the token from any text that could reach the terminal."""
    return text.replace(token, "***") if token else text


class _Step:
    """Turns client exceptions raised during one network step into a one-line :class:`PublishError`."""

    def __init__(self, name: str, endpoint: str, token: str | None, after: str = "",
                 after_unanswered: str | None = None) -> None:
        self.name, self.endpoint, self.token, self.after = name, endpoint, token, after
        # when the connection broke the request may still have been applied: say so instead of "nothing changed"
        self.after_unanswered = after if after_unanswered is None else after_unanswered

    def __enter__(self) -> _Step:
        return self

    def __exit__(self, exc_type, exc, tb) -> Literal[False]:
        if exc is None or isinstance(exc, UserError):
            return False
        detail = _network_detail(exc, tb, self.endpoint)
        if detail is None:
            return False
        message = f"publish failed while {self.name}: {detail}"
        after = self.after_unanswered if detail.startswith("cannot reach") else self.after
        if after:
            message += f"; {after}"
        raise PublishError(_scrub(message, self.token)) from None


def _network_detail(exc: BaseException, tb: Any, endpoint: str) -> str | None:
    """One line describing a client/server failure, or None for an exception that is a bug (keeps its traceback)."""
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError

    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 5:
        chain.append(current)
        current = current.__cause__ or current.__context__
    http = next((e for e in chain if isinstance(e, HfHubHTTPError)), None)
    if http is not None:
        status = getattr(getattr(http, "response", None), "status_code", None)
        if status == 412:
            return "the repository changed while publishing (another commit landed first); re-run to re-plan"
        if status in (401, 403):
            return f"HTTP {status}: the token lacks write access (set HF_TOKEN or run `hf auth login`)"
        first = str(http).strip().splitlines()[0] if str(http).strip() else type(http).__name__
        return first if status is None or first.startswith(str(status)) else f"HTTP {status}: {first}"
    transport = next((e for e in chain if isinstance(e, httpx2.HTTPError | ConnectionError | TimeoutError)), None)
    if transport is not None:
        text = str(transport).strip().splitlines()[0] if str(transport).strip() else ""
        return f"cannot reach {endpoint} ({type(transport).__name__}{': ' + text if text else ''})"
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    module = tb.tb_frame.f_globals.get("__name__", "") if tb is not None else ""
    if isinstance(exc, ValueError | RuntimeError) and module.startswith("huggingface_hub"):
        return f"unexpected answer from {endpoint}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    return None


def _remote_files(api: Any, repo_id: str, revision: str) -> dict[str, RemoteFile]:
    from huggingface_hub.hf_api import RepoFile

    files: dict[str, RemoteFile] = {}
    for entry in api.list_repo_tree(repo_id, repo_type=REPO_TYPE, revision=revision, recursive=True):
        if isinstance(entry, RepoFile):
            files[entry.path] = RemoteFile(entry.path, entry.size, entry.lfs.sha256 if entry.lfs else None,
                                           None if entry.lfs else entry.blob_id)
    return files


def _read_releases(api: Any, repo_id: str, revision: str, remote: Mapping[str, RemoteFile]) -> list[dict[str, Any]]:
    """The release history recorded at ``revision`` (empty for a repository never released by this tool)."""
    if RELEASES_NAME not in remote:
        return []
    with tempfile.TemporaryDirectory() as tmp:
        path = api.hf_hub_download(repo_id, RELEASES_NAME, repo_type=REPO_TYPE, revision=revision, local_dir=tmp)
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except ValueError as exc:
            raise UserError(f"{RELEASES_NAME} at {revision[:12]} is not valid JSON ({exc}); fix it on the Hub",
                            where=repo_id) from None
    releases = data.get("releases") if isinstance(data, Mapping) else None
    return [dict(r) for r in releases or [] if isinstance(r, Mapping) and "version" in r]


def _summarise(ops: list[Operation]) -> str:
    counts = {action: sum(1 for op in ops if op.action == action) for action in ("add", "update", "delete")}
    return ", ".join(f"{n} {word}" for word, n in (("added", counts["add"]), ("updated", counts["update"]),
                                                    ("deleted", counts["delete"])))


def build_release(folder: Path, repo_id: str, version: str, message: str | None, previous: list[dict[str, Any]],
                  local: dict[str, ReleaseFile], digest: str) -> tuple[dict[str, ReleaseFile], list[dict[str, Any]]]:
    """The files of the release (folder + re-rendered README + release files + refreshed manifest)."""
    from generator.dataset.manifest import dump_manifest, load_manifest
    from generator.dataset.notes import without_notes

    entry = {"version": version, "date": release_date(), "changes": (message or "").strip() or
             f"Release {version}.", "content_sha256": digest}
    releases = [*previous, entry]
    changelog = [{"version": r["version"], "date": r.get("date"), "changes": r.get("changes", "")}
                 for r in reversed(releases)]
    planned = dict(local)
    readme = local[README_NAME].read().decode("utf-8")
    planned[README_NAME] = ReleaseFile.from_bytes(README_NAME, render_release_readme(
        folder, readme, version, changelog, repo_id).encode("utf-8"))
    planned[CHANGELOG_NAME] = ReleaseFile.from_bytes(CHANGELOG_NAME, (changelog_markdown(changelog)).encode())
    planned[RELEASES_NAME] = ReleaseFile.from_bytes(RELEASES_NAME, (json.dumps(
        {"format": "mmmt-if-releases", "releases": releases}, indent=2, sort_keys=True) + "\n").encode())
    manifest = load_manifest(folder)
    files = dict(manifest.get("files") or {})
    for rel in RELEASE_FILES:
        files[rel] = {"size": planned[rel].size, "sha256": planned[rel].sha256}
    card = without_notes(planned[README_NAME].read())  # the manifest hashes the card without its notes
    files[README_NAME] = {"size": len(card), "sha256": hashlib.sha256(card).hexdigest()}
    manifest["files"] = files
    planned[MANIFEST_NAME] = ReleaseFile.from_bytes(MANIFEST_NAME, dump_manifest(manifest).encode("utf-8"))
    return planned, releases


class _ScrubToken(logging.Filter):
    """Mask the token in any log record (huggingface_hub's retry warnings quote URLs and error bodies)."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if self.token in text:
            record.msg, record.args = _scrub(text, self.token), ()
        return True


@contextmanager
def scrubbed_logs(token: str | None) -> Iterator[None]:
    """While publishing, no handler of huggingface_hub's or the root logger can print ``token``."""
    if not token:
        yield
        return
    scrubber = _ScrubToken(token)
    handlers = [*logging.getLogger("huggingface_hub").handlers, *logging.getLogger().handlers]
    loggers = [logging.getLogger("huggingface_hub"), logging.getLogger()]
    for target in [*handlers, *loggers]:
        target.addFilter(scrubber)
    try:
        yield
    finally:
        for target in [*handlers, *loggers]:
            target.removeFilter(scrubber)


def publish(folder: str | os.PathLike[str], repo_id: str, version: str, *, private: bool = False,
            dry_run: bool = False, message: str | None = None, endpoint: str | None = None,
            token: str | None = None, echo: Callable[[str], None] = print, quiet: bool = False) -> PublishResult:
    """Validate ``folder`` and release it as ``version`` of ``repo_id`` (one commit, then one tag).

    Raises :class:`UserError` for a bad folder, version or existing tag, and :class:`PublishError` (one line, the
    token scrubbed) when the Hub cannot be reached or refuses a request. Log records are scrubbed too.
    """
    from huggingface_hub import get_token

    token = token or get_token()
    with scrubbed_logs(token):
        return _publish(folder, repo_id, version, private=private, dry_run=dry_run, message=message,
                        endpoint=endpoint, token=token, echo=echo, quiet=quiet)


def _publish(folder: str | os.PathLike[str], repo_id: str, version: str, *, private: bool, dry_run: bool,
             message: str | None, endpoint: str | None, token: str | None, echo: Callable[[str], None],
             quiet: bool) -> PublishResult:
    """The work of :func:`publish`."""
    root = Path(folder)
    if not _REPO_ID.match(repo_id or ""):
        raise UserError(f"repository id {repo_id!r} is not of the form ORG/NAME", where="--repo-id")
    key = parse_version(version)
    problems = check_release_folder(root, repo_id.split("/", 1)[1], quiet=quiet)
    if problems:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise ValidationError(f"{problems[0]}{more}", where=str(root))

    from huggingface_hub import HfApi
    from huggingface_hub.errors import RepositoryNotFoundError

    if quiet:
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()
    if not dry_run and not token:
        raise UserError("no Hugging Face token: set HF_TOKEN or run `hf auth login`")
    api = HfApi(endpoint=endpoint, token=token or False)
    where = api.endpoint
    local = folder_files(root)
    digest = content_digest(local)

    with _Step("reading the repository", where, token):
        try:
            info = api.dataset_info(repo_id)
            head: str | None = info.sha
            if private and not info.private:
                echo(f"note: {repo_id} already exists and is public; --private applies only when creating it")
        except RepositoryNotFoundError:
            head = None
        remote = _remote_files(api, repo_id, head) if head else {}
        tags = {}
        if head:
            tags = {t.name: t.target_commit for t in api.list_repo_refs(repo_id, repo_type=REPO_TYPE).tags}
        history = _read_releases(api, repo_id, head, remote) if head else []

    if version in tags:
        with _Step("reading the tagged release", where, token):
            tagged_remote = _remote_files(api, repo_id, tags[version])
            tagged = _read_releases(api, repo_id, tags[version], tagged_remote)
        entry = next((r for r in tagged if r.get("version") == version), None)
        if entry is not None and entry.get("content_sha256") == digest:
            echo(f"{repo_id}@{version} is already published with identical content (commit {tags[version][:12]}); "
                 "nothing to do")
            return PublishResult("unchanged", version, tags[version])
        raise UserError(f"tag {version} already exists on {repo_id} (commit {tags[version][:12]}) with other "
                        "content; a release is immutable, publish under a new version", where="--version")

    latest = history[-1] if history else None
    if latest is not None and latest.get("version") not in tags and latest.get("version") != version:
        # Its commit landed but its tag did not: another release on top would leave it untagged for good.
        raise UserError(f"{repo_id} head holds release {latest.get('version')} without its tag; finish it first "
                        f"with `mmmtif publish <folder> --repo-id {repo_id} --version {latest.get('version')}`",
                        where="--version")
    if latest is not None and latest.get("content_sha256") == digest:
        assert head is not None  # a release was read from the head
        if latest.get("version") == version:
            # The commit of this very release landed but its tag did not: finish the release.
            if dry_run:
                echo(f"dry run: {repo_id} head {head[:12]} already holds {version}; would create tag {version}")
                return PublishResult("dry-run", version, head)
            with _Step("creating the tag", where, token, after=f"commit {head[:12]} holds the release untagged; "
                                                               "re-run to tag it"):
                api.create_tag(repo_id, tag=version, revision=head, repo_type=REPO_TYPE,
                               tag_message=latest.get("changes"))
            echo(f"tagged {repo_id}@{version} -> {head[:12]} (the release commit was already on the Hub)")
            return PublishResult("tagged", version, head)
        echo(f"content identical to {latest['version']} at {repo_id} head {head[:12]}; nothing to publish "
             "(no commit, no tag)")
        return PublishResult("unchanged", version, head)
    for release in history:
        if parse_version(str(release["version"])) >= key:
            raise UserError(f"{version} is not newer than the released {release['version']}; pick a higher version",
                            where="--version")

    planned, _releases = build_release(root, repo_id, version, message, history, local, digest)
    ops = plan_operations(planned, remote)
    changes = [op for op in ops if op.action != "keep"]
    target = f"{repo_id}@{version}" + ("" if head else " (new repository" + (", private)" if private else ")"))
    if dry_run:
        echo(f"dry run: would publish {target} from {root}: {_summarise(ops)}")
        for line in format_plan(ops):
            echo(line)
        echo(f"dry run: would commit on top of {head[:12] if head else 'a new repository'} and tag {version}; "
             "nothing was changed")
        return PublishResult("dry-run", version, head, ops)

    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    if head is None:
        with _Step("creating the repository", where, token):
            api.create_repo(repo_id, repo_type=REPO_TYPE, private=private, exist_ok=True)
            head = api.dataset_info(repo_id).sha
            if head is None:
                raise UserError("the new repository has no commit", where=repo_id)
            remote = _remote_files(api, repo_id, head)
        ops = plan_operations(planned, remote)
        changes = [op for op in ops if op.action != "keep"]
    operations: list[Any] = []
    for op in changes:
        if op.action == "delete":
            operations.append(CommitOperationDelete(path_in_repo=op.path))
        else:
            item = planned[op.path]
            operations.append(CommitOperationAdd(path_in_repo=op.path, path_or_fileobj=item.data if item.data
                                                 is not None else str(item.source)))
    echo(f"publishing {target}: {_summarise(ops)}")
    with _Step("committing", where, token, after="the Hub refused the commit: nothing changed, no tag was created",
               after_unanswered="no tag was created; re-run the same command, it tags the commit if it landed "
                                "or publishes again"):
        commit = api.create_commit(repo_id, operations=operations, repo_type=REPO_TYPE, revision="main",
                                   commit_message=f"Release {version}",
                                   commit_description=(message or "").strip() or None, parent_commit=head)
    oid = commit.oid
    with _Step("creating the tag", where, token,
               after=f"commit {oid[:12]} holds the release but is untagged; re-run the same command to tag it"):
        api.create_tag(repo_id, tag=version, revision=oid, repo_type=REPO_TYPE,
                       tag_message=(message or "").strip() or f"Release {version}")
    echo(f"published {repo_id}@{version}: commit {oid[:12]}, tag {version}")
    return PublishResult("published", version, oid, ops)
