"""Training splits never share a scene, a question instance or a conversation with a named evaluation folder."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from generator.cli import cli
from generator.dataset.contamination import EvaluationIndex, is_training_split, row_fingerprints, shared_items


def _gen(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["gen", "--quiet", *args])
    return result.exit_code, result.output


def _rows(folder: Path) -> list[dict]:
    rows: list[dict] = []
    for path in sorted(folder.glob("*/*.parquet")):
        rows.extend(pq.read_table(path, columns=["id", "config", "image_meta", "turns"]).to_pylist())
    return rows


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("contamination")
    common = ["--turns", "3", "--variant", "mmmt-if,distractors", "--seed", "5"]
    code, output = _gen(*common, "--splits", "test=250,validation=50", "--out", str(root / "eval"))
    assert code == 0, output
    code, output = _gen(*common, "--splits", "train=1200", "--exclude-from", str(root / "eval"),
                        "--out", str(root / "train"))
    assert code == 0, output
    code, output = _gen(*common, "--splits", "train=1200", "--out", str(root / "plain"))
    assert code == 0, output
    return {"eval": root / "eval", "train": root / "train", "plain": root / "plain"}


def test_training_split_is_disjoint_from_the_evaluation_folder(folders: dict[str, Path]) -> None:
    index = EvaluationIndex.from_folders([folders["eval"]])
    assert len(index.conversations) == 300 and len(index.scenes) > 500
    train = _rows(folders["train"])
    assert len(train) == 2 * 1200
    assert shared_items(train, index) == {"scenes": 0, "questions": 0, "conversations": 0}
    # The same seed without the exclusion does meet the evaluation folder (finite procedural spaces), so the
    # check above is not vacuous; the decontaminated split keeps exactly the candidates that share nothing.
    plain = _rows(folders["plain"])
    assert shared_items(plain, index)["scenes"] > 0
    for config in ("mmmt-if", "distractors"):
        clean_plain = [row["id"] for row in plain if row["config"] == config and index.overlap(row) is None]
        kept = [row["id"] for row in train if row["config"] == config]
        assert kept[:len(clean_plain)] == clean_plain
    manifest = json.loads((folders["train"] / "manifest.json").read_text())
    assert manifest["arguments"]["exclude_from"][0]["rows"] == 600
    assert "eval" not in json.dumps(manifest["arguments"]["exclude_from"])  # hashes, never the folder path
    skipped = manifest["configs"]["mmmt-if"]["extra_stats"]["contamination_skipped"]
    # Every overlapping candidate among the first 1200 was skipped (and possibly some drawn after them).
    overlapping = sum(index.overlap(row) is not None for row in plain if row["config"] == "mmmt-if")
    assert skipped >= overlapping > 0


def test_training_streams_differ_from_evaluation_streams(folders: dict[str, Path]) -> None:
    """Split names are part of every random stream's key: no training conversation repeats an evaluation one."""
    evaluation = {row_fingerprints(row).conversation for row in _rows(folders["eval"])}
    plain = {row_fingerprints(row).conversation for row in _rows(folders["plain"])}
    assert not evaluation & plain


def test_fingerprints_ignore_image_positions() -> None:
    meta = [{"spec": '{"a": 1}'}, {"spec": '{"b": 2}'}]
    turn = {"question": "What is in Image1?", "reference_answer": "x", "active_instructions": []}
    swapped = {"question": "What is in Image2?", "reference_answer": "x", "active_instructions": []}
    first = row_fingerprints({"image_meta": meta, "turns": [turn]})
    second = row_fingerprints({"image_meta": meta[::-1], "turns": [swapped]})
    assert first.questions == second.questions
    assert set(first.scenes) == set(second.scenes)
    assert first.conversation != second.conversation
    assert is_training_split("train") and is_training_split("train_easy") and not is_training_split("test")


def test_refusals_are_one_line(folders: dict[str, Path], tmp_path: Path) -> None:
    code, output = _gen("--splits", "train=5,test=5", "--out", str(tmp_path / "a"))
    assert code == 2 and "--exclude-from EVAL_FOLDER" in output and "Traceback" not in output
    code, output = _gen("--splits", "test=5", "--exclude-from", str(folders["eval"]), "--out", str(tmp_path / "b"))
    assert code == 2 and "applies to training splits" in output
    code, output = _gen("--splits", "train=5", "--exclude-from", str(tmp_path / "missing"),
                        "--out", str(tmp_path / "c"))
    assert code == 2 and "evaluation folder not found" in output
    assert not (tmp_path / "a").exists() and not (tmp_path / "c").exists()


def test_a_source_too_small_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    pytest.importorskip("skimage")
    common = ["--turns", "2", "--variant", "mmmt-if", "--source", "photos", "--images-per-chat", "2-2"]
    code, output = _gen(*common, "--splits", "test=30", "--out", str(tmp_path / "eval"))
    assert code == 0, output
    code, output = _gen(*common, "--splits", "train=40", "--exclude-from", str(tmp_path / "eval"),
                        "--out", str(tmp_path / "train"))
    assert code == 2 and "share nothing with the evaluation folders" in output, output
    assert not (tmp_path / "train").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".train")]


def test_decontaminated_output_does_not_depend_on_processes(folders: dict[str, Path], tmp_path: Path) -> None:
    common = ["--turns", "3", "--variant", "mmmt-if", "--seed", "5", "--splits", "train=60",
              "--exclude-from", str(folders["eval"])]
    assert _gen(*common, "--out", str(tmp_path / "one"))[0] == 0
    assert _gen(*common, "--num-proc", "2", "--out", str(tmp_path / "two"))[0] == 0
    one = (tmp_path / "one" / "mmmt-if" / "train-00000-of-00001.parquet").read_bytes()
    two = (tmp_path / "two" / "mmmt-if" / "train-00000-of-00001.parquet").read_bytes()
    assert one == two


def test_user_images_are_matched_by_their_bytes_under_any_name(tmp_path: Path) -> None:
    """The same picture under another folder and file name is the same scene: a ``folder:`` spec names only where
    an image came from."""
    from pngs import png_bytes

    evaluation, copies = tmp_path / "pictures", tmp_path / "copies"
    evaluation.mkdir()
    copies.mkdir()
    metadata = []
    for colour in ("red", "blue", "green", "yellow"):
        (evaluation / f"{colour}.png").write_bytes(png_bytes(colour, (40, 30)))
        metadata.append({"file_name": f"{colour}.png", "question": f"Is the picture {colour}?", "answer": "yes"})
    (evaluation / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in metadata), encoding="utf-8")
    common = ["--turns", "2", "--variant", "mmmt-if", "--images-per-chat", "1-1", "--seed", "3"]
    code, output = _gen(*common, "--source", f"folder:{evaluation}", "--splits", "test=8",
                        "--out", str(tmp_path / "eval"))
    assert code == 0, output
    index = EvaluationIndex.from_folders([tmp_path / "eval"])
    shown = sorted({row["images"][0]["bytes"] for row in
                    pq.read_table(next((tmp_path / "eval" / "mmmt-if").glob("test-*.parquet"))).to_pylist()})
    # The pictures the evaluation split shows, copied under other names into another folder, other questions.
    copied = []
    for number, data in enumerate(shown):
        (copies / f"img_{number:03d}.png").write_bytes(data)
        copied.append({"file_name": f"img_{number:03d}.png", "question": "What colour is the picture?",
                       "answer": "some colour"})
    (copies / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in copied), encoding="utf-8")

    code, output = _gen(*common, "--source", f"folder:{copies}", "--splits", "train=3", "--out", str(tmp_path / "plain"))
    assert code == 0, output
    plain = pq.read_table(next((tmp_path / "plain" / "mmmt-if").glob("train-*.parquet"))).to_pylist()
    assert {row["images"][0]["bytes"] for row in plain} <= set(shown)
    assert all(index.overlap(row) == "the scene of Image1" for row in plain)
    assert shared_items(plain, index)["scenes"] == len(plain)

    # Every picture of the copies is an evaluation picture: nothing can be trained on, and nothing is written.
    code, output = _gen(*common, "--source", f"folder:{copies}", "--splits", "train=3",
                        "--exclude-from", str(tmp_path / "eval"), "--out", str(tmp_path / "train"))
    assert code == 2 and "share nothing with the evaluation folders" in output, output
    assert not (tmp_path / "train").exists()
