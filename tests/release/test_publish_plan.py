"""Release planning without a server: versions, folder checks, the add/update/delete plan, the card patch."""

from __future__ import annotations

import hashlib
import shutil

import pytest
from publish_helpers import make_folder, make_rows

from generator.common.errors import UserError
from generator.release.publish import (
    PublishError,
    ReleaseFile,
    RemoteFile,
    _network_detail,
    _patch_readme,
    _scrub,
    check_release_folder,
    content_digest,
    folder_files,
    format_plan,
    parse_version,
    plan_operations,
)


@pytest.mark.parametrize("text", ["v1.0.0", "v0.1.0", "v10.20.30", "v1.0.0-rc.1", "v2.0.0-beta"])
def test_valid_versions(text):
    parse_version(text)


@pytest.mark.parametrize("text", ["1.0.0", "v1.0", "v1", "v01.0.0", "v1.0.0.0", "latest", "", "v1.0.0-", "V1.0.0"])
def test_invalid_versions(text):
    with pytest.raises(UserError, match=r"vX\.Y\.Z"):
        parse_version(text)


def test_version_order():
    ordered = ["v0.9.9", "v1.0.0-rc.1", "v1.0.0", "v1.0.1", "v1.2.0", "v1.10.0", "v2.0.0"]
    assert sorted(ordered, key=parse_version) == ordered


def _remote(path: str, data: bytes, lfs: bool) -> RemoteFile:
    if lfs:
        return RemoteFile(path, len(data), hashlib.sha256(data).hexdigest(), None)
    return RemoteFile(path, len(data), None, hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest())


@pytest.mark.parametrize("local, remote, expected", [
    ({"a.parquet": b"x"}, {}, [("add", "a.parquet")]),
    ({"a.parquet": b"x"}, {"a.parquet": (b"x", True)}, [("keep", "a.parquet")]),
    ({"a.parquet": b"x"}, {"a.parquet": (b"y", True)}, [("update", "a.parquet")]),
    ({"README.md": b"hi"}, {"README.md": (b"hi", False)}, [("keep", "README.md")]),
    ({"README.md": b"hi"}, {"README.md": (b"ho", False)}, [("update", "README.md")]),
    ({"README.md": b"hi"}, {"README.md": (b"hi", False), "old/test-00001-of-00002.parquet": (b"z", True),
                            ".gitattributes": (b"*", False)},
     [("keep", "README.md"), ("delete", "old/test-00001-of-00002.parquet")]),
])
def test_plan_operations(local, remote, expected):
    planned = {p: ReleaseFile.from_bytes(p, d) for p, d in local.items()}
    remote_files = {p: _remote(p, d, lfs) for p, (d, lfs) in remote.items()}
    ops = plan_operations(planned, remote_files)
    assert [(op.action, op.path) for op in ops] == expected


def test_plan_lines_show_sizes_and_summarise_kept_files():
    planned = {"a": ReleaseFile.from_bytes("a", b"x" * 2048), "b": ReleaseFile.from_bytes("b", b"y")}
    lines = format_plan(plan_operations(planned, {"b": _remote("b", b"y", False), "c": _remote("c", b"zz", True)}))
    assert lines == ["  add    a (2.0 KiB)", "  delete c (2 B)", "  keep   1 unchanged file(s) (1 B)"]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    return make_folder(tmp_path_factory.mktemp("pristine") / "mmmt-if",
                       {"hard": {"test": make_rows("hard", 4, "a")}, "easy": {"test": make_rows("easy", 1, "b")}})


def test_pristine_folder_has_no_problems(pristine):
    assert check_release_folder(pristine, "mmmt-if") == []


def _drop_second_shard(root):
    (root / "hard" / "test-00001-of-00002.parquet").unlink()


def _add_unreferenced_shard(root):
    (root / "other").mkdir()
    shutil.copy(root / "easy" / "test-00000-of-00001.parquet", root / "other" / "test-00000-of-00001.parquet")


def _corrupt_shard(root):
    path = root / "easy" / "test-00000-of-00001.parquet"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _wrong_row_count(root):
    readme = root / "README.md"
    readme.write_text(readme.read_text().replace("num_examples: 1", "num_examples: 7"))


def _break_yaml(root):
    readme = root / "README.md"
    readme.write_text(readme.read_text().replace("configs:", "configs: [", 1))


@pytest.mark.parametrize("mutate, expected", [
    (lambda root: (root / "mmmt-if.py").write_text("x = 1\n"), "mmmt-if.py: a root file named after the repository"),
    (lambda root: (root / "scoring.py").unlink(), "scoring.py: missing"),
    (lambda root: (root / "README.md").unlink(), "README.md: missing"),
    (_drop_second_shard, "listed in manifest.json but missing"),
    (_add_unreferenced_shard, "other/test-00000-of-00001.parquet: not referenced by any config"),
    (_corrupt_shard, "easy/test-00000-of-00001.parquet: sha256 differs from manifest.json"),
    (_wrong_row_count, "dataset_info says 7 rows, the parquet files hold 1"),
    (_break_yaml, "README.md"),
])
def test_folder_problems(pristine, tmp_path, mutate, expected):
    root = tmp_path / "mmmt-if"
    shutil.copytree(pristine, root)
    mutate(root)
    problems = check_release_folder(root, "mmmt-if")
    assert any(expected in p for p in problems), problems


def test_content_digest_ignores_derived_files_and_follows_data(pristine, tmp_path):
    files = folder_files(pristine)
    digest = content_digest(files)
    changed_manifest = dict(files, **{"manifest.json": ReleaseFile.from_bytes("manifest.json", b"{}")})
    assert content_digest(changed_manifest) == digest
    changed_shard = dict(files, **{"easy/test-00000-of-00001.parquet": ReleaseFile.from_bytes("x", b"other")})
    assert content_digest(changed_shard) != digest


README = "---\nlicense: mit\n---\n\n# Title\n\nBody text.\n"


def test_patched_readme_carries_version_and_changelog():
    first = _patch_readme(README, "v1.0.0", [{"version": "v1.0.0", "date": "2026-01-01", "changes": "First."}])
    assert first.startswith("---\nlicense: mit\n---\n") and "**Version:** v1.0.0" in first
    second = _patch_readme(first, "v1.1.0", [{"version": "v1.1.0", "changes": "More."},
                                             {"version": "v1.0.0", "date": "2026-01-01", "changes": "First."}])
    assert second.count("## Changelog") == 1 and second.count("**Version:**") == 1
    assert "**Version:** v1.1.0" in second and second.index("### v1.1.0") < second.index("### v1.0.0 (2026-01-01)")
    assert "Body text." in second


def test_scrub_removes_the_token():
    assert _scrub("Bearer hf_abc failed", "hf_abc") == "Bearer *** failed"
    assert _scrub("no token here", None) == "no token here"


def test_network_detail_classifies_client_errors():
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError

    request = httpx2.Request("POST", "http://127.0.0.1:1/api/datasets/a/b/commit/main")
    conflict = HfHubHTTPError("412 Client Error", response=httpx2.Response(412, request=request))
    assert "changed while publishing" in _network_detail(conflict, None, "http://x")
    refused = httpx2.ConnectError("Connection refused", request=request)
    assert _network_detail(refused, None, "http://x").startswith("cannot reach http://x (ConnectError")
    assert _network_detail(KeyError("bug"), None, "http://x") is None
    assert PublishError.exit_code == 1
