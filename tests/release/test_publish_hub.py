"""End-to-end releases against a local Hub-compatible server (real git repositories, unmodified clients)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hubserver import HubServer
from publish_helpers import TOKEN, load_through_hub, make_folder, make_rows, run_publish

REPO = "test-org/mmmt-if"


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    with HubServer(tmp_path_factory.mktemp("hub"), token=TOKEN) as server:
        yield server


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("hf_home")


def layout_v1():
    """hard: 5 rows in 2 shards (3 rows per shard); easy: 2 rows."""
    return {"hard": {"test": make_rows("hard", 5, "a")}, "easy": {"test": make_rows("easy", 2, "a")}}


def layout_v2():
    """hard: 3 other rows in 1 shard (the second v1 shard becomes stale); easy unchanged; a new config."""
    return {"hard": {"test": make_rows("hard", 3, "c")}, "easy": {"test": make_rows("easy", 2, "a")},
            "appended": {"test": make_rows("appended", 2, "d")}}


@pytest.fixture(scope="module")
def released(hub, home, tmp_path_factory):
    """v1.0.0 then v1.1.0 of test-org/mmmt-if, from two folders (v1.1.0 drops a shard and adds a config)."""
    base = tmp_path_factory.mktemp("folders")
    v1 = make_folder(base / "v1" / "mmmt-if", layout_v1())
    v2 = make_folder(base / "v2" / "mmmt-if", layout_v2())
    first = run_publish(hub, home, v1, "v1.0.0", "--message", "First release.")
    assert first.returncode == 0, first.stderr
    second = run_publish(hub, home, v2, "v1.1.0", "--message", "Harder hard config; appended variant.")
    assert second.returncode == 0, second.stderr
    return {"v1.0.0": (v1, layout_v1()), "v1.1.0": (v2, layout_v2()), "outputs": [first, second]}


def test_each_tag_points_at_its_release(hub, released):
    refs = hub.refs(REPO)
    assert refs["refs/tags/v1.1.0"] == refs["refs/heads/main"]
    assert refs["refs/tags/v1.0.0"] != refs["refs/tags/v1.1.0"]
    for tag in ("v1.0.0", "v1.1.0"):
        folder = released[tag][0]
        remote = hub.files(REPO, tag)
        local = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
        for rel, data in local.items():
            if rel not in ("README.md", "manifest.json"):
                assert remote[rel] == data, f"{tag}: {rel} differs"
        assert set(remote) - set(local) == {".gitattributes", "CHANGELOG.md", "releases.json"}, tag
        assert {p for p in remote if p.endswith(".parquet")} <= hub.lfs_paths(REPO, tag)
    # the stale shards of v1.0.0 are deleted in v1.1.0, still present at the v1.0.0 tag
    assert "hard/test-00001-of-00002.parquet" in hub.files(REPO, "v1.0.0")
    assert not any(p.startswith("hard/test-00000-of-00002") or p.startswith("hard/test-00001")
                   for p in hub.files(REPO, "v1.1.0"))


def test_one_commit_per_release(hub, released):
    commits = [path for method, path in hub.state.requests if method == "POST" and "/commit/" in path]
    assert len(commits) == 2


def test_load_dataset_at_each_tag_returns_that_release(hub, home, released, tmp_path):
    requests = [(REPO, config, tag) for tag in ("v1.0.0", "v1.1.0") for config in released[tag][1]]
    loaded = load_through_hub(hub, home, requests, tmp_path)
    for _repo, config, tag in requests:
        expected = [{"id": r["id"], "turns": r["turns"]} for r in released[tag][1][config]["test"]]
        got = loaded[f"{config}@{tag}"]["test"]
        assert sorted(got, key=lambda r: r["id"]) == sorted(expected, key=lambda r: r["id"]), f"{config}@{tag}"
    # a downloaded release is a complete, self-consistent folder (manifest and card match its files)
    from generator.release.publish import check_release_folder

    for tag, path in loaded["snapshots"].items():
        assert check_release_folder(path, "mmmt-if") == [], tag
        downloaded = {p.relative_to(path).as_posix() for p in Path(path).rglob("*")
                      if p.is_file() and not p.relative_to(path).as_posix().startswith(".")}
        assert downloaded == {p for p in hub.files(REPO, tag) if not p.startswith(".")}, tag


def test_changelog_carried_across_versions(hub, released):
    files = hub.files(REPO, "v1.1.0")
    releases = json.loads(files["releases.json"])["releases"]
    assert [r["version"] for r in releases] == ["v1.0.0", "v1.1.0"]
    assert releases[0]["changes"] == "First release."
    readme = files["README.md"].decode()
    assert readme.startswith("---\n") and "v1.1.0" in readme
    assert readme.index("v1.1.0") < readme.rindex("v1.0.0")  # newest first
    assert "First release." in readme and "appended variant" in readme
    assert "First release." in files["CHANGELOG.md"].decode()
    manifest = json.loads(files["manifest.json"])
    import hashlib

    assert manifest["files"]["README.md"]["sha256"] == hashlib.sha256(files["README.md"]).hexdigest()
    old = json.loads(hub.files(REPO, "v1.0.0")["releases.json"])["releases"]
    assert [r["version"] for r in old] == ["v1.0.0"]


def test_existing_tag_with_other_content_is_refused(hub, home, released):
    before = hub.refs(REPO)
    proc = run_publish(hub, home, released["v1.1.0"][0], "v1.0.0")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "already exists" in lines[0] and "Traceback" not in proc.stderr
    assert hub.refs(REPO) == before


@pytest.mark.parametrize("version, expected", [("v1.1.0", "already published"), ("v1.2.0", "nothing to publish")])
def test_identical_content_is_a_no_op(hub, home, released, version, expected):
    before = hub.refs(REPO)
    commits = len([p for m, p in hub.state.requests if "/commit/" in p or "/preupload/" in p])
    proc = run_publish(hub, home, released["v1.1.0"][0], version)
    assert proc.returncode == 0, proc.stderr
    assert expected in proc.stdout
    assert hub.refs(REPO) == before
    assert len([p for m, p in hub.state.requests if "/commit/" in p or "/preupload/" in p]) == commits


def test_older_version_is_refused(hub, home, released, tmp_path):
    folder = make_folder(tmp_path / "mmmt-if", {"hard": {"test": make_rows("hard", 1, "z")}})
    proc = run_publish(hub, home, folder, "v1.0.5")
    assert proc.returncode == 2 and "not newer" in proc.stderr


def test_dry_run_prints_the_plan_and_changes_nothing(hub, home, released, tmp_path):
    folder = make_folder(tmp_path / "mmmt-if", {"hard": {"test": make_rows("hard", 3, "c")},
                                                "easy": {"test": make_rows("easy", 3, "e")}})
    before = hub.refs(REPO)
    count = len(hub.state.requests)
    proc = run_publish(hub, home, folder, "v1.2.0", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "dry run" in out and "nothing was changed" in out
    assert "update easy/test-00000-of-00001.parquet (" in out
    assert "delete appended/test-00000-of-00001.parquet (" in out
    assert "keep" in out and "hard/test-00000-of-00001.parquet" not in out  # unchanged shard is only counted
    assert hub.refs(REPO) == before
    writes = [r for r in hub.state.requests[count:] if r[0] in ("POST", "PUT", "DELETE")
              and not r[1].endswith("/paths-info/main")]
    assert writes == []


def test_failed_commit_leaves_nothing_and_failed_tag_is_completed_on_rerun(hub, home, tmp_path):
    repo = "test-org/faults"
    first = make_folder(tmp_path / "a" / "faults", {"hard": {"test": make_rows("hard", 2, "a")}})
    assert run_publish(hub, home, first, "v1.0.0", repo_id=repo).returncode == 0
    second = make_folder(tmp_path / "b" / "faults", {"hard": {"test": make_rows("hard", 2, "b")}})
    before = hub.refs(repo)
    for fault, says in (({"status": 500}, "HTTP 500"), ({"drop": True}, "cannot reach"),
                        ({"status": 412}, "changed while publishing")):
        hub.fail("commit", **fault)
        proc = run_publish(hub, home, second, "v1.1.0", repo_id=repo)
        assert proc.returncode == 1, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "publish failed while committing" in lines[0], proc.stderr
        assert says in lines[0] and "no tag was created" in lines[0]
        assert hub.refs(repo) == before
    hub.fail("tag", status=503)
    proc = run_publish(hub, home, second, "v1.1.0", repo_id=repo)
    assert proc.returncode == 1 and "re-run" in proc.stderr
    after = hub.refs(repo)
    assert "refs/tags/v1.1.0" not in after and after["refs/heads/main"] != before["refs/heads/main"]
    # another version on top of the untagged release (same or new content) must not pass as "nothing to do"
    for folder in (second, first):
        proc = run_publish(hub, home, folder, "v1.1.1", repo_id=repo)
        assert proc.returncode == 2 and "v1.1.0 without its tag" in proc.stderr, proc.stdout + proc.stderr
        assert hub.refs(repo) == after
    proc = run_publish(hub, home, second, "v1.1.0", repo_id=repo)
    assert proc.returncode == 0 and "tagged" in proc.stdout, proc.stderr
    assert hub.refs(repo)["refs/tags/v1.1.0"] == after["refs/heads/main"]


def test_bad_token_error_is_one_line_without_the_token(hub, home, tmp_path):
    folder = make_folder(tmp_path / "tok", {"hard": {"test": make_rows("hard", 1, "t")}})
    proc = run_publish(hub, home, folder, "v1.0.0", repo_id="test-org/tok", token=TOKEN[::-1])
    assert proc.returncode == 1
    assert len(proc.stderr.strip().splitlines()) == 1 and "token" in proc.stderr
    assert TOKEN[::-1] not in proc.stderr + proc.stdout


def test_unreachable_hub_is_one_line(hub, home, tmp_path):
    folder = make_folder(tmp_path / "down", {"hard": {"test": make_rows("hard", 1, "u")}})
    proc = run_publish(hub, home, folder, "v1.0.0", "--endpoint", "http://127.0.0.1:9", repo_id="test-org/down")
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "publish failed while reading the repository: cannot reach" in lines[0], lines


def test_private_repository_needs_the_token(hub, home, tmp_path):
    folder = make_folder(tmp_path / "priv", {"hard": {"test": make_rows("hard", 1, "p")}})
    assert run_publish(hub, home, folder, "v0.1.0", "--private", repo_id="test-org/priv").returncode == 0
    assert hub.state.repos[("dataset", "test-org/priv")].private
    proc = run_publish(hub, home, folder, "v0.1.0", "--dry-run", repo_id="test-org/priv", token=None)
    assert "nothing to publish" not in proc.stdout  # without a token the private repo is invisible
    assert "new repository" in proc.stdout


@pytest.mark.parametrize("name, version, message", [
    ("mmmt-if.py", "v1.0.0", "named after the repository"),
    (None, "1.0.0", "vX.Y.Z"),
    (None, "v1.0", "vX.Y.Z"),
])
def test_refused_before_any_request(hub, home, tmp_path, name, version, message):
    folder = make_folder(tmp_path / "mmmt-if", {"hard": {"test": make_rows("hard", 1, "r")}})
    if name:
        from generator.dataset.manifest import refresh_manifest

        (folder / name).write_text("raise SystemExit\n")
        refresh_manifest(folder)  # a consistent folder: only the name is wrong
    count = len(hub.state.requests)
    # the version cases fail before any heavy import: run them through the real entry point, python -m
    proc = run_publish(hub, home, folder, version, repo_id=REPO, fresh=name is None)
    assert proc.returncode == 2 and message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert len(hub.state.requests) == count


DOWNLOAD = """
from huggingface_hub import hf_hub_download
print(hf_hub_download(argv[0], "scoring.py", repo_type="dataset", revision=argv[1]))
"""


def test_release_scoring_script_matches_mmmtif_score(hub, home, tmp_path):
    """The scoring.py downloaded at a tag, run standalone, gives exactly the report of ``mmmtif score``."""
    import subprocess
    import sys

    from publish_helpers import client, hub_env

    folder = make_folder(tmp_path / "scored", {"mmmt-if": {"test": make_rows("mmmt-if", 2, "s")}})
    repo = "test-org/scored"
    proc = run_publish(hub, home, folder, "v1.0.0", repo_id=repo)
    assert proc.returncode == 0, proc.stderr
    import pyarrow.parquet as pq

    rows = pq.read_table(folder / "mmmt-if" / "test-00000-of-00001.parquet", columns=["id", "turns"]).to_pylist()
    responses = tmp_path / "responses.jsonl"
    lines = []
    for row in rows:
        for turn in row["turns"]:
            for sample in (0, 1):
                text = "Sure, seven is odd." if (turn["turn"] + sample) % 2 else "So the answer is 7 per se."
                lines.append(json.dumps({"id": row["id"], "turn": turn["turn"], "sample": sample, "response": text}))
    responses.write_text("\n".join(lines) + "\n")
    worker = client(hub, home)
    download = worker.run([repo, "v1.0.0"], {}, python=DOWNLOAD)
    assert download.returncode == 0, download.stderr[-2000:]
    downloaded = download.stdout.strip().splitlines()[-1]
    assert Path(downloaded).read_bytes() == (folder / "scoring.py").read_bytes()
    standalone = subprocess.run([sys.executable, downloaded, "--repo", repo, "--revision", "v1.0.0", "--config",
                                 "mmmt-if", "--responses", str(responses), "--out", str(tmp_path / "a.json")],
                                env=hub_env(hub, home), capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert standalone.returncode == 0, standalone.stderr[-2000:]
    toolkit = worker.run(["score", "--dataset", repo, "--revision", "v1.0.0", "--config", "mmmt-if", "--responses",
                          str(responses), "--out", str(tmp_path / "b.json"), "--quiet"], {})
    assert toolkit.returncode == 0, toolkit.stderr[-2000:]
    report = json.loads((tmp_path / "a.json").read_text())
    assert report == json.loads((tmp_path / "b.json").read_text())
    assert 0 < report["pif"] < 1  # the responses follow some instructions and miss others


def test_release_script_publishes_and_verifies(hub, home, tmp_path):
    from publish_helpers import REPO_ROOT, run_script

    folder = make_folder(tmp_path / "scripted", {"hard": {"test": make_rows("hard", 1, "s")}})
    proc = run_script(hub, home, REPO_ROOT / "scripts" / "release.py", [
        str(folder), "--repo-id", "test-org/scripted", "--version", "v1.0.0", "--yes", "--message", "Scripted."])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "would publish" in proc.stdout and "verified test-org/scripted@v1.0.0" in proc.stdout
    assert TOKEN not in proc.stdout + proc.stderr
    assert "refs/tags/v1.0.0" in hub.refs("test-org/scripted")


SERVER_API = """
import json
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, hf_hub_download
from huggingface_hub.errors import (EntryNotFoundError, HfHubHTTPError, RemoteEntryNotFoundError,
                                    RepositoryNotFoundError, RevisionNotFoundError)

api = HfApi()
repo = "test-org/api"
api.create_repo(repo, repo_type="dataset")
head = api.dataset_info(repo).sha
add = [CommitOperationAdd("a/one.txt", b"one"), CommitOperationAdd("a/b.parquet", b"PAR1\\x00binary")]
first = api.create_commit(repo, operations=add, commit_message="one", repo_type="dataset", parent_commit=head)
api.create_tag(repo, tag="t1", revision=first.oid, repo_type="dataset")
second = api.create_commit(repo, operations=[CommitOperationDelete("a/one.txt")], commit_message="two",
                           repo_type="dataset", parent_commit=first.oid)
results = {
    "paths": sorted(p.path for p in api.get_paths_info(repo, ["a/one.txt", "a", "nope"], repo_type="dataset",
                                                       revision="t1")),
    "lfs": [p.lfs is not None for p in api.get_paths_info(repo, ["a/b.parquet"], repo_type="dataset")],
    "exists_t1": api.file_exists(repo, "a/one.txt", repo_type="dataset", revision="t1"),
    "exists_main": api.file_exists(repo, "a/one.txt", repo_type="dataset"),
    "commits": [c.title for c in api.list_repo_commits(repo, repo_type="dataset")],
    "revision_exists": [api.revision_exists(repo, r, repo_type="dataset") for r in ("t1", "nope")],
    "tag_sha": api.dataset_info(repo, revision="t1").sha == first.oid,
}
def error(call):
    try:
        call()
    except (RemoteEntryNotFoundError, EntryNotFoundError):
        return "entry"
    except RevisionNotFoundError:
        return "revision"
    except RepositoryNotFoundError:
        return "repo"
    except HfHubHTTPError as exc:
        return exc.response.status_code
    return None
results["errors"] = [
    error(lambda: hf_hub_download(repo, "a/one.txt", repo_type="dataset")),
    error(lambda: hf_hub_download(repo, "a/one.txt", repo_type="dataset", revision="nope")),
    error(lambda: api.dataset_info("test-org/missing")),
    error(lambda: api.create_tag(repo, tag="t1", revision=second.oid, repo_type="dataset")),
    error(lambda: api.create_commit(repo, operations=[CommitOperationAdd("x", b"x")], commit_message="stale",
                                    repo_type="dataset", parent_commit=first.oid)),
]
print(json.dumps(results))
"""


def test_local_hub_speaks_the_client_api(hub, home):
    from publish_helpers import client

    result = client(hub, home).run([], {}, python=SERVER_API)
    assert result.returncode == 0, result.stderr[-3000:]
    got = json.loads(result.stdout.strip().splitlines()[-1])
    assert got == {
        "paths": ["a", "a/one.txt"], "lfs": [True], "exists_t1": True, "exists_main": False,
        "commits": ["two", "one", "initial commit"], "revision_exists": [True, False], "tag_sha": True,
        "errors": ["entry", "revision", "repo", 409, 412],
    }
