"""MMDU from the (local, Hub-compatible) Hub with a pinned revision, and new MMMT-IF sets generated on MMDU."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hubserver import HubServer
from mmdu_fixtures import dialogues, write_official_subset
from publish_helpers import TOKEN, client

from generator.cli import cli
from generator.release.mmdu_match import MAPPING_FILE

UPLOAD = r'''
import json
from huggingface_hub import HfApi, CommitOperationAdd
api = HfApi()
folder, repo = argv[0], "test-org/MMDU"
api.create_repo(repo, repo_type="dataset")
api.upload_folder(folder_path=folder, repo_id=repo, repo_type="dataset")
api.create_tag(repo, tag="v1", repo_type="dataset")
# a later commit on main rewrites benchmark.json: only --revision v1 still sees the fixture
api.create_commit(repo, repo_type="dataset", commit_message="later",
                  operations=[CommitOperationAdd("benchmark.json", b"[]")])
print("uploaded")
'''


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    with HubServer(tmp_path_factory.mktemp("hub"), token=TOKEN) as server:
        yield server


@pytest.fixture(scope="module")
def hub_home(hub, mmdu_folder, tmp_path_factory) -> Path:
    root, _ = mmdu_folder
    home = tmp_path_factory.mktemp("hf_home")
    result = client(hub, home).run([str(root)], {}, python=UPLOAD)
    assert result.returncode == 0 and "uploaded" in result.stdout, result.stderr[-2000:]
    return home


def test_hub_source_at_a_revision_matches_like_the_local_files(hub, hub_home, mmdu_folder, tmp_path):
    root, _ = mmdu_folder
    csv_path = write_official_subset(tmp_path / "subset.csv")
    local = tmp_path / "local"
    done = CliRunner().invoke(cli, ["import-official", str(csv_path), "--mmdu", str(root / "benchmark.json"),
                                    "--out", str(local), "--quiet"])
    assert done.exit_code == 0, done.output
    worker = client(hub, hub_home)
    remote = tmp_path / "remote"
    argv = ["import-official", str(csv_path), "--mmdu", "hub:test-org/MMDU", "--revision", "v1", "--out",
            str(remote)]
    result = worker.run(argv, {})
    assert result.returncode == 0, result.stderr[-2000:]
    assert (remote / MAPPING_FILE).read_text() == (local / MAPPING_FILE).read_text()
    # benchmark.json alone: 0, 2, 5 and 3 (its twin lives in mmdu-45k.json) match; 1, 4 and 32 do not
    assert "MMDU match rate: 4/7 conversations" in result.stdout
    mmdu_args = json.loads((remote / "manifest.json").read_text())["arguments"]["mmdu"]
    assert mmdu_args["source"] == "hub:test-org/MMDU" and len(mmdu_args["revision"]) == 40
    # the library's cache is reused: a second import downloads neither the JSON nor the zip again
    hub.state.requests.clear()
    again = worker.run([*argv[:-1], str(tmp_path / "again")], {})
    assert again.returncode == 0, again.stderr[-2000:]
    assert not [path for method, path in hub.state.requests if method == "GET" and "/resolve/" in path]
    # main no longer holds the dialogues
    latest = worker.run([*argv[:4], "--out", str(tmp_path / "latest")], {})
    assert latest.returncode != 0 and "no usable MMDU dialogue" in latest.stderr


def test_hub_repository_without_zips_fetches_images_one_by_one_and_generates(hub, hub_home, tmp_path):
    worker = client(hub, hub_home)
    out = tmp_path / "gen"
    result = worker.run(["gen", "--source", "mmdu:hub:test-org/MMDU/mmdu-45k.json", "--revision", "v1",
                         "--turns", "3", "--conversations", "2", "--out", str(out), "--quiet"], {})
    assert result.returncode == 0, result.stderr[-2000:]
    args = json.loads((out / "manifest.json").read_text())["arguments"]
    assert args["source"] == "mmdu:hub:test-org/MMDU/mmdu-45k.json@v1"  # the revision is part of the recipe
    wrong = worker.run(["gen", "--source", "mix", "--revision", "v1", "--out", str(tmp_path / "x")], {})
    assert wrong.returncode != 0 and "--revision" in wrong.stderr


# ------------------------------------------------------------------------------------------------ generation


@pytest.fixture(scope="module")
def generated(mmdu_folder, tmp_path_factory) -> Path:
    root, _ = mmdu_folder
    out = tmp_path_factory.mktemp("gen") / "mmdu-set"
    result = CliRunner().invoke(cli, ["gen", "--source", f"mmdu:{root}", "--turns", "5", "--conversations", "6",
                                      "--seed", "3", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    return out


def test_generated_set_keeps_mmdu_questions_in_order_with_its_images_and_answers(generated, mmdu_folder):
    import datasets

    _, digests = mmdu_folder
    by_key = {d.key: d for d in dialogues()}
    loaded = datasets.load_dataset(str(generated), "mmmt-if", split="test")
    assert len(loaded) == 6
    for row in loaded.cast_column("images", datasets.List(datasets.Image(decode=False))):
        spec = json.loads(row["image_meta"][0]["spec"])
        key = f"{spec['file']}#{spec['dialogue']}"
        assert 2 <= len(row["images"]) <= 5
        assert [hashlib.sha256(i["bytes"]).hexdigest() for i in row["images"]] == digests[key]
        assert all(m["license"] == "CC-BY-NC-4.0" for m in row["image_meta"])
        assert "/" not in spec["mmdu"]  # the source is named by content, not by a machine path
        source = by_key[key]
        asked = [t["question"] for t in row["turns"]]
        expected = [q for q in source.questions[:5]]
        assert len(asked) == 5
        for got, want in zip(asked, expected, strict=False):
            assert want.rstrip(" ?") in got or got.endswith(want)
        assert row["turns"][0]["reference_answer"] == f"MMDU answer 1 of {source.id}."
        assert {t["answer_type"] for t in row["turns"]} == {"open"}


def test_generated_card_carries_the_licence_and_the_history_warning(generated):
    readme = (generated / "README.md").read_text()
    assert "license: cc-by-nc-4.0" in readme
    assert "**CC-BY-NC-4.0**" in readme and "do not follow the format instructions" in readme
    result = CliRunner().invoke(cli, ["validate", str(generated), "--quiet"])
    assert result.exit_code == 0, result.output


def test_generation_is_identical_across_worker_counts(generated, mmdu_folder, tmp_path):
    root, _ = mmdu_folder
    out = tmp_path / "parallel"
    result = CliRunner().invoke(cli, ["gen", "--source", f"mmdu:{root}", "--turns", "5", "--conversations", "6",
                                      "--seed", "3", "--out", str(out), "--quiet", "--num-proc", "2"])
    assert result.exit_code == 0, result.output
    for parquet in sorted(generated.rglob("*.parquet")):
        assert (out / parquet.relative_to(generated)).read_bytes() == parquet.read_bytes()


def test_source_history_sends_mmdu_answers_and_model_history_stays_the_default(generated, tmp_path):
    from fake_openai_server import FakeServer

    with FakeServer(tmp_path / "log.jsonl") as server:
        base = ["run", "--dataset", str(generated), "--model", "m", "--base-url", server.base_url, "--limit", "1",
                "--quiet"]
        fixed = CliRunner().invoke(cli, [*base, "--history", "source", "--out", str(tmp_path / "s.jsonl")])
        assert fixed.exit_code == 0, fixed.output
        fixed_requests = server.requests()
        own = CliRunner().invoke(cli, [*base, "--out", str(tmp_path / "m.jsonl")])
        assert own.exit_code == 0, own.output
        own_requests = server.requests()[len(fixed_requests):]
    last = max(fixed_requests, key=lambda r: r["messages"])
    assistants = [text for role, text in zip(last["roles"], last["texts"], strict=True) if role == "assistant"]
    assert assistants and all(text.startswith("MMDU answer ") for text in assistants)
    model_answers = [json.loads(line)["response"] for line in (tmp_path / "m.jsonl").read_text().splitlines()]
    last_own = max(own_requests, key=lambda r: r["messages"])
    own_assistants = [t for role, t in zip(last_own["roles"], last_own["texts"], strict=True) if role == "assistant"]
    assert own_assistants == model_answers[:len(own_assistants)]
    assert json.loads((tmp_path / "m.jsonl").read_text().splitlines()[0])["history"] == "model"


def test_reference_history_on_open_mmdu_answers_obeys_the_rules_without_the_answer(generated):
    """MMDU's open answers have no checkable phrase: the oracle witness still composes (it used to raise)."""
    import pyarrow.parquet as pq

    from generator.running.runner import reference_history, source_history

    rows = pq.read_table(sorted((generated / "mmmt-if").glob("*.parquet")), columns=["id", "turns"]).to_pylist()
    row = next(r for r in rows if any(t["active_instructions"] for t in r["turns"]))
    witnesses = reference_history(row)
    assert len(witnesses) == len(row["turns"])
    assert all("MMDU answer" not in w for w in witnesses)
    assert source_history(row) == [t["reference_answer"] for t in row["turns"]]


def test_a_chat_holds_only_its_dialogue_questions_and_too_many_turns_are_refused(mmdu_folder, tmp_path):
    """With the default 20 turns only the two 20-question dialogues qualify; 21 turns is refused in one line."""
    import pyarrow.parquet as pq

    root, _ = mmdu_folder
    by_key = {d.key: d for d in dialogues()}
    out = tmp_path / "twenty"
    result = CliRunner().invoke(cli, ["gen", "--source", f"mmdu:{root}", "--conversations", "3", "--out", str(out),
                                      "--quiet"])
    assert result.exit_code == 0, result.output
    rows = pq.read_table(sorted((out / "mmmt-if").glob("*.parquet")), columns=["image_meta", "turns"]).to_pylist()
    for row in rows:
        spec = json.loads(row["image_meta"][0]["spec"])
        source = by_key[f"{spec['file']}#{spec['dialogue']}"]
        assert len(row["turns"]) == 20 == len(source.questions)
        assert all(t["reference_answer"] == f"MMDU answer {k + 1} of {source.id}." for k, t in enumerate(row["turns"]))
    refused = CliRunner().invoke(cli, ["gen", "--source", f"mmdu:{root}", "--turns", "21", "--conversations", "1",
                                       "--out", str(tmp_path / "x")])
    assert refused.exit_code != 0 and not (tmp_path / "x").exists()
    assert refused.output.count("\n") == 1 and "Traceback" not in refused.output
    assert "has 21 questions (the longest has 20): use --turns 20 or fewer" in refused.output


def test_source_history_is_refused_before_the_first_request_when_a_turn_has_no_answer(tmp_path):
    from fake_openai_server import FakeServer
    from mmdu_fixtures import image_bytes

    record = {"id": "r", "image": ["/p/a.jpg", "/p/b.jpg"], "conversations": [
        {"from": "user", "value": "Image1: <ImageHere>; Image2: <ImageHere>. Compare Image1 and Image2."},
        {"from": "assistant", "value": "They differ."},
        {"from": "user", "value": "Which is brighter?"}, {"from": "assistant", "value": ""},
        {"from": "user", "value": "Describe Image2."}, {"from": "assistant", "value": "A square."}]}
    (tmp_path / "src" / "p").mkdir(parents=True)
    for k, name in enumerate(("a", "b")):
        (tmp_path / "src" / "p" / f"{name}.jpg").write_bytes(image_bytes(k))
    (tmp_path / "src" / "benchmark.json").write_text(json.dumps([record]))
    out = tmp_path / "set"
    done = CliRunner().invoke(cli, ["gen", "--source", f"mmdu:{tmp_path / 'src'}", "--turns", "3",
                                    "--conversations", "2", "--out", str(out), "--quiet"])
    assert done.exit_code == 0, done.output
    with FakeServer(tmp_path / "log.jsonl") as server:
        result = CliRunner().invoke(cli, ["run", "--dataset", str(out), "--model", "m", "--base-url",
                                          server.base_url, "--history", "source", "--out", str(tmp_path / "r.jsonl")])
        assert server.requests() == []
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "turn 2: no answer of its own to use as history" in result.output


UPLOAD_DOTS = r'''
import json
from huggingface_hub import HfApi, CommitOperationAdd
api = HfApi()
folder, repo = argv[0], "test-org/MMDU-dots"
api.create_repo(repo, repo_type="dataset")
records = json.load(open(folder + "/benchmark.json"))
records["bench-0"]["image"][0] = "../../outside.jpg"
zipped = open(folder + "/mmdu_pics.zip", "rb").read()
api.create_commit(repo, repo_type="dataset", commit_message="dots", operations=[
    CommitOperationAdd("benchmark.json", json.dumps(records).encode()),
    CommitOperationAdd("mmdu_pics.zip", zipped)])
print("uploaded")
'''


def test_a_hub_record_whose_image_path_leaves_the_repository_is_left_out(hub, hub_home, mmdu_folder, tmp_path):
    root, _ = mmdu_folder
    worker = client(hub, hub_home)
    uploaded = worker.run([str(root)], {}, python=UPLOAD_DOTS)
    assert uploaded.returncode == 0 and "uploaded" in uploaded.stdout, uploaded.stderr[-2000:]
    csv_path = write_official_subset(tmp_path / "subset.csv")
    result = worker.run(["import-official", str(csv_path), "--mmdu", "hub:test-org/MMDU-dots", "--out",
                         str(tmp_path / "out")], {})
    assert result.returncode == 0, result.stderr[-2000:]
    assert ("warning: left out: benchmark.json: record bench-0: field image[0]: leads outside the MMDU source"
            in result.stderr.splitlines())
    assert "Traceback" not in result.stderr and "ValueError" not in result.stderr
    # bench-0 left out: conversation 0 falls to nothing in benchmark.json (its decoy lives in mmdu-45k.json)
    assert "MMDU match rate: 3/7 conversations" in result.stdout
