"""Fault and fuzz suite: every attack of the adversarial pass, run against the real commands.

Each case asserts what a user sees: one line on stderr starting with ``mmmtif: error:`` (or ``scoring.py:
error:``), a non-zero exit, no traceback, and previous outputs left byte for byte as they were. Commands run in
subprocesses (the released ``scoring.py`` too), so nothing of the test process hides a traceback.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from pngs import png_bytes

ROOT = Path(__file__).resolve().parents[2]
MAIN = "from generator.cli import main; main()"
GEN = "from generator.cli import gen_main; gen_main()"


def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, code: str = MAIN,
        timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """One CLI invocation in a fresh interpreter."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1",
                **(env or {})}
    command = [sys.executable, "-c", code, *args] if code else [sys.executable, *args]
    return subprocess.run(command, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)


def one_line(result: subprocess.CompletedProcess[str], *needles: str, prefix: str = "mmmtif: error:") -> str:
    """The single error line of a failed command (notes on stderr are allowed before it)."""
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("mmmtif: note:")]
    assert result.returncode != 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1 and lines[0].startswith(prefix), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """A generated dataset ``d``, oracle responses ``resp.jsonl`` and a good report ``report.json``."""
    from click.testing import CliRunner

    from generator.cli import cli

    # built in this process: the material of the tests, not what they test
    base = tmp_path_factory.mktemp("faults")
    for args in (["gen", "--turns", "2", "--conversations", "1", "--seed", "1", "--out", str(base / "d"), "--quiet"],
                 ["oracle", "--dataset", str(base / "d"), "--out", str(base / "resp.jsonl"), "--quiet"],
                 ["score", "--dataset", str(base / "d"), "--responses", str(base / "resp.jsonl"), "--out",
                  str(base / "report.json"), "--quiet"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
    return base


def _responses(work: Path) -> list[dict]:
    return [json.loads(line) for line in (work / "resp.jsonl").read_text().splitlines()]


# ------------------------------------------------------------------------------------------- bad input files
@pytest.mark.parametrize(("name", "content", "needle"), [
    ("bad_utf8.jsonl", b'{"id":"a","turn":1,"response":"\xff"}\n', "not valid UTF-8"),
    ("deep.jsonl", b"[" * 100_000 + b"]" * 100_000 + b"\n", "nested deeper"),
    ("nan.jsonl", b'{"id":"a","turn":1,"response":NaN}\n', "malformed JSON"),
])
def test_responses_file_faults_are_one_line_in_score_and_scoring_py(work, tmp_path, name, content, needle):
    path = tmp_path / name
    path.write_bytes(content)
    one_line(run("score", "--dataset", "d", "--responses", str(path), "--out", str(tmp_path / "r.json"),
                 "--quiet", cwd=work), name, needle)
    one_line(run("d/scoring.py", "--repo", "d", "--responses", str(path), "--out", str(tmp_path / "r.json"),
                 "--quiet", cwd=work, code=""), needle, prefix="scoring.py: error:")


def test_a_huge_sample_index_is_one_line_not_a_hang(work, tmp_path):
    records = _responses(work)
    records[0]["sample"] = 1_000_000_000
    path = tmp_path / "huge.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    one_line(run("score", "--dataset", "d", "--responses", str(path), "--out", str(tmp_path / "r.json"), "--quiet",
                 cwd=work, timeout=120), "field sample", "1000000000")


def test_lone_surrogate_in_a_response_is_one_line(work, tmp_path):
    records = _responses(work)
    records[0]["response"] = "\ud800"
    path = tmp_path / "surrogate.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert "\\ud800" in path.read_text()
    one_line(run("score", "--dataset", "d", "--responses", str(path), "--out", str(tmp_path / "r.json"),
                 "--details", str(tmp_path / "d.jsonl"), "--quiet", cwd=work), "line 1", "surrogate")
    assert not (tmp_path / "r.json").exists() and not (tmp_path / "d.jsonl").exists()


@pytest.mark.parametrize(("knobs", "needle"), [
    ("instruction_turns: [.inf]\nschedule: fixed\n", "whole numbers"),
    ("instruction_turns: [1.9, 2.7]\nschedule: fixed\n", "whole numbers"),
    ("instruction_turns: [true]\nschedule: fixed\n", "whole numbers"),
    ("name: !!python/object/apply:os.system ['echo pwned']\n", "not valid YAML"),
    ("name: a\nname: b\n", "appears twice"),
    ("turns: 2\n" + "x: " + "[" * 5000 + "]" * 5000 + "\n", "YAML"),
])
def test_bad_config_files_are_one_line(tmp_path, knobs, needle):
    config = tmp_path / "knobs.yaml"
    config.write_text("name: a\n" + knobs if not knobs.startswith("name") else knobs)
    result = run("--turns", "2", "--conversations", "1", "--config", str(config), "--out", "o", "--quiet",
                 cwd=tmp_path, code=GEN)
    one_line(result, "knobs.yaml", needle)
    assert "pwned" not in result.stdout + result.stderr
    assert not (tmp_path / "o").exists()


def test_config_file_with_invalid_utf8_is_one_line(tmp_path):
    (tmp_path / "k.yaml").write_bytes(b"name: \xff\n")
    one_line(run("--config", "k.yaml", "--out", "o", "--quiet", cwd=tmp_path, code=GEN), "k.yaml", "UTF-8")


def test_too_long_output_name_is_one_line(tmp_path):
    one_line(run("--turns", "2", "--conversations", "1", "--out", "x" * 300, "--quiet", cwd=tmp_path, code=GEN),
             "--out", "too long")


# ------------------------------------------------------------------------------------------ broken datasets
def _damaged(work: Path, tmp_path: Path, how: str) -> Path:
    copy = tmp_path / f"d_{how}"
    shutil.copytree(work / "d", copy)
    shard = next((copy / "mmmt-if").glob("*.parquet"))
    size = shard.stat().st_size
    if how == "truncated":
        shard.write_bytes(shard.read_bytes()[: size // 2])
    elif how == "zeroed":
        shard.write_bytes(b"\0" * size)
    elif how == "garbage":
        shard.write_bytes(os.urandom(size))
    elif how == "python_tag":
        readme = copy / "README.md"
        readme.write_text(readme.read_text().replace("---\n", "---\nx: !!python/object/apply:os.system ['echo pwned']\n",
                                                     1))
    elif how == "not_yaml":
        readme = copy / "README.md"
        readme.write_text(readme.read_text().replace("---\n", "---\n: : [\n", 1))
    elif how == "no_readme":
        (copy / "README.md").unlink()
    elif how == "stray_script":
        (copy / f"{copy.name}.py").write_text("print('pwned')\n")
    return copy


@pytest.mark.parametrize("how", ["truncated", "zeroed", "garbage", "python_tag", "not_yaml", "no_readme",
                                 "stray_script"])
def test_damaged_datasets_are_one_line_in_every_reader(work, tmp_path, how):
    folder = _damaged(work, tmp_path, how)
    out = tmp_path / "out.json"
    for args in (["score", "--dataset", str(folder), "--responses", "resp.jsonl", "--out", str(out), "--quiet"],
                 ["oracle", "--dataset", str(folder), "--out", str(tmp_path / "o.jsonl"), "--quiet"]):
        result = run(*args, cwd=work)
        one_line(result, folder.name)
        assert "pwned" not in result.stdout + result.stderr
    one_line(run(str(work / "d" / "scoring.py"), "--repo", str(folder), "--responses", "resp.jsonl", "--out",
                 str(out), "--quiet", cwd=work, code=""), folder.name, prefix="scoring.py: error:")
    if how in ("truncated", "zeroed", "garbage"):
        one_line(run("stats", str(folder), cwd=work), "parquet")
    if how in ("stray_script", "truncated", "no_readme"):
        one_line(run("run", "--dataset", str(folder), "--model", "m", "--base-url", "http://127.0.0.1:9/v1",
                     "--out", str(tmp_path / "r.jsonl"), "--quiet", cwd=work), folder.name)
    assert not out.exists()


def test_run_on_a_hub_401_is_one_line(work, tmp_path):
    from hubserver import HubServer

    with HubServer(tmp_path / "hub", token="hf_right_token") as hub:
        hub.fail("info", status=401, times=1000)
        result = run("run", "--dataset", "test-org/private-set", "--model", "m", "--base-url",
                     "http://127.0.0.1:9/v1", "--out", str(tmp_path / "r.jsonl"), "--quiet", cwd=work,
                     env={"HF_ENDPOINT": hub.url, "HF_TOKEN": "hf_wrong_token_123456", "HF_HUB_OFFLINE": "0",
                          "HF_DATASETS_OFFLINE": "0", "HF_HOME": str(tmp_path / "home"), "HF_HUB_DISABLE_XET": "1",
                          "HF_HUB_DISABLE_TELEMETRY": "1"}, timeout=300)
    line = one_line(result, "test-org/private-set")
    assert "hf_wrong_token_123456" not in result.stdout + result.stderr, line
    assert not (tmp_path / "r.jsonl").exists()


def test_compare_on_a_non_numeric_figure_is_one_line(work, tmp_path):
    report = json.loads((work / "report.json").read_text())
    report["pif"] = "high"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(report))
    (tmp_path / "table.md").write_text("old table\n")
    one_line(run("compare", str(work / "report.json"), str(bad), "--out", str(tmp_path / "table.md"), cwd=work),
             "bad.json", "pif")
    assert (tmp_path / "table.md").read_text() == "old table\n"


def test_compare_on_deep_json_is_one_line(work, tmp_path):
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    one_line(run("compare", str(tmp_path / "deep.json"), cwd=work), "deep.json", "nested deeper")


def test_resume_file_faults_are_one_line(tmp_path):
    from generator.common.errors import UserError
    from generator.running.runner import read_existing

    for content, needle in ((b'{"id": "a", "turn": 1.7, "sample": 0}\n', "turn"),
                            (b'{"id": "a", "turn": true, "sample": 0}\n', "turn"),
                            (b'{"id": "a", "turn": 1, "sample": 0, "response": "\xff"}\n', "UTF-8"),
                            (b"[" * 100_000 + b"]" * 100_000 + b"\n", "nested deeper")):
        path = tmp_path / "resume.jsonl"
        path.write_bytes(content)
        with pytest.raises(UserError) as info:
            read_existing(path)
        assert needle in str(info.value) and "line 1" in str(info.value)


# ------------------------------------------------------------------------------- outputs: all or nothing
def test_unwritable_plot_leaves_the_previous_report_and_details(work, tmp_path):
    report, details = tmp_path / "report.json", tmp_path / "details.jsonl"
    report.write_text("previous report\n")
    details.write_text("previous details\n")
    (tmp_path / "blocker").write_text("a file where a folder is expected")
    result = run("score", "--dataset", "d", "--responses", "resp.jsonl", "--out", str(report), "--details",
                 str(details), "--plot", str(tmp_path / "blocker" / "pif.png"), "--quiet", cwd=work)
    one_line(result, "blocker")
    assert report.read_text() == "previous report\n" and details.read_text() == "previous details\n"


@pytest.mark.parametrize("command", [
    ["score", "--dataset", "d", "--responses", "resp.jsonl", "--out", "{blocker}/r.json", "--quiet"],
    ["oracle", "--dataset", "d", "--out", "{blocker}/o.jsonl", "--quiet"],
    ["compare", "report.json", "--out", "{blocker}/t.md"],
    ["run", "--dataset", "d", "--model", "m", "--base-url", "http://127.0.0.1:9/v1", "--out", "{blocker}/r.jsonl",
     "--quiet"],
])
def test_a_file_where_a_folder_is_expected_is_one_line(work, tmp_path, command):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    one_line(run(*[part.format(blocker=blocker) for part in command], cwd=work), "blocker")
    assert blocker.read_text() == "x"


def test_write_together_failure_leaves_every_previous_file(tmp_path):
    from generator.common.atomic import text_writer, write_together
    from generator.common.errors import UserError

    first, second = tmp_path / "a.json", tmp_path / "b.png"
    first.write_text("old a")
    second.write_text("old b")

    def full_disk(tmp: str) -> None:
        Path(tmp).write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(UserError, match="No space left on device"):
        write_together({first: text_writer("new a"), second: full_disk})
    assert first.read_text() == "old a" and second.read_text() == "old b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.png"]
    write_together({first: text_writer("new a"), second: text_writer("new b")})
    assert first.read_text() == "new a" and second.read_text() == "new b"


def test_temporaries_of_dead_writers_are_swept_with_a_note(work, tmp_path):
    stale = tmp_path / f".report.json.{_dead_pid()}-abcdefgh.tmp"
    stale.write_text("half")
    alive = tmp_path / f".report.json.{os.getppid()}-abcdefgh.tmp"
    alive.write_text("another run's")
    result = run("score", "--dataset", "d", "--responses", "resp.jsonl", "--out", str(tmp_path / "report.json"),
                 "--quiet", cwd=work)
    assert result.returncode == 0, result.stderr
    assert "mmmtif: note: removed 1 temporary file" in result.stderr
    assert not stale.exists() and alive.exists()


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


# ------------------------------------------------------------------------------- never delete what is not ours
def test_concurrent_generation_and_files_appearing_in_the_output(tmp_path):
    """While a generation runs: a second one to the same --out fails at start; files put into the output
    folder meanwhile are never deleted (the first run fails at the swap instead)."""
    from generator.common.errors import UserError
    from generator.dataset.writer import write_dataset
    from generator.generation.pipeline import GenerationRun, build_row
    from generator.generation.variants import get_variant

    cfg = get_variant("mmmt-if").replace(turns=2)
    out = tmp_path / "victim"
    seen: dict[str, object] = {}

    def rows():
        yield build_row(cfg, GenerationRun(seed=1), "test", 0)
        seen["second"] = run("--turns", "2", "--conversations", "1", "--out", str(out), "--quiet", code=GEN)
        out.mkdir()
        (out / "precious.txt").write_text("keep me")
        yield build_row(cfg, GenerationRun(seed=1), "test", 1)

    with pytest.raises(UserError, match="changed while generating"):
        write_dataset(out, {"mmmt-if": {"test": rows()}}, quiet=True)
    one_line(seen["second"], "another mmmt-if run", "victim")  # type: ignore[arg-type]
    assert snapshot(out) == {"precious.txt": b"keep me"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["victim"]  # no lock, no temporary left


def test_overwrite_refuses_our_folder_once_a_user_file_was_added(work, tmp_path):
    out = tmp_path / "d"
    shutil.copytree(work / "d", out)
    (out / "mmmt-if" / "my-notes.txt").write_text("mine")
    before = snapshot(out)
    one_line(run("--turns", "2", "--conversations", "1", "--out", str(out), "--overwrite", "--quiet", code=GEN),
             "my-notes.txt")
    assert snapshot(out) == before


def test_leftovers_of_killed_runs_are_restored_or_swept(work, tmp_path):
    dead = _dead_pid()
    # killed between the two renames: the previous dataset is only in .d.old-PID -> restored
    shutil.copytree(work / "d", tmp_path / f".d.old-{dead}")
    result = run("--turns", "2", "--conversations", "1", "--out", "d", "--quiet", cwd=tmp_path, code=GEN)
    assert "restored the previous dataset d" in result.stderr
    one_line(result, "not empty")  # the restored dataset is not replaced without --overwrite
    assert snapshot(tmp_path / "d") == snapshot(work / "d")
    # killed after the new folder took its place: the old copy is swept
    shutil.copytree(work / "d", tmp_path / f".d.old-{dead}")
    (tmp_path / f".d.tmp-{dead}").mkdir()
    result = run("--turns", "2", "--conversations", "1", "--out", "d", "--overwrite", "--quiet", cwd=tmp_path,
                 code=GEN)
    assert result.returncode == 0, result.stderr
    assert f"removed .d.old-{dead}" in result.stderr and f"removed .d.tmp-{dead}" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


# ----------------------------------------------------------------------------------- inputs stay inside
def _folder(root: Path, lines: list[dict], images: dict[str, bytes] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, data in (images or {"a.png": png_bytes("red", 8), "b.png": png_bytes("blue", 8)}).items():
        (root / name).write_bytes(data)
    (root / "metadata.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    return root


@pytest.mark.parametrize("file_name", ["../outside.png", "/etc/passwd", "link.png", "sub/../../outside.png"])
def test_metadata_file_names_stay_inside_the_folder(tmp_path, file_name):
    (tmp_path / "outside.png").write_bytes(png_bytes("green", 8))
    folder = _folder(tmp_path / "imgs", [{"file_name": file_name, "question": "What colour?"}])
    (folder / "link.png").symlink_to(tmp_path / "outside.png")
    line = one_line(run("--source", "folder:imgs", "--out", "o", "--quiet", cwd=tmp_path, code=GEN),
                    "metadata.jsonl:line 1", "file_name")
    assert "outside" in line or "inside" in line
    # the error must not tell whether a file outside exists
    missing = _folder(tmp_path / "imgs2", [{"file_name": file_name.replace("outside", "absent").replace(
        "passwd", "absent-file"), "question": "q"}])
    (missing / "link.png").symlink_to(tmp_path / "absent.png")
    other = one_line(run("--source", "folder:imgs2", "--out", "o", "--quiet", cwd=tmp_path, code=GEN))
    assert other.split("field file_name: ")[1].split(" ", 1)[1] == line.split("field file_name: ")[1].split(" ", 1)[1]


@pytest.mark.parametrize(("line", "needle"), [
    ({"file_name": "a.png", "question": "q", "answer": {"x": 1}}, "answer"),
    ({"file_name": "a.png", "question": "q", "answer": True}, "answer"),
    ({"file_name": "a.png", "question": "q", "license": ["mit"]}, "license"),
])
def test_metadata_values_are_not_coerced(tmp_path, line, needle):
    _folder(tmp_path / "imgs", [line])
    one_line(run("--source", "folder:imgs", "--out", "o", "--quiet", cwd=tmp_path, code=GEN), needle)


@pytest.mark.parametrize(("content", "needle"), [
    (b'{"file_name": "a.png", "question": "q"}\n{"file_name": "\xff"}\n', "line 2: not valid UTF-8"),
    (b'{"file_name": "a.png", "file_name": "b.png", "question": "q"}\n', "appears twice"),
    (b"[" * 100_000 + b"]" * 100_000 + b"\n", "nested deeper"),
])
def test_metadata_file_faults_are_one_line(tmp_path, content, needle):
    folder = _folder(tmp_path / "imgs", [])
    (folder / "metadata.jsonl").write_bytes(content)
    one_line(run("--source", "folder:imgs", "--out", "o", "--quiet", cwd=tmp_path, code=GEN), needle)


def _bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


def test_decompression_bomb_is_refused_in_one_line(tmp_path):
    _folder(tmp_path / "imgs", [{"file_name": "bomb.png", "question": "q"}], {"bomb.png": _bomb_png()})
    started = time.monotonic()
    one_line(run("--source", "folder:imgs", "--out", "o", "--quiet", cwd=tmp_path, code=GEN), "bomb.png",
             "decompression bomb")
    assert time.monotonic() - started < 120  # refused from the header, not after decoding 10^10 pixels


def test_sixteen_bit_images_keep_their_tones():
    from PIL import Image, ImageStat

    from generator.generation.sources.images import encode_user_image

    gradient = Image.new("I;16", (2000, 300))
    gradient.putdata([int(65535 * (x / 1999)) for _ in range(300) for x in range(2000)])
    buffer = io.BytesIO()
    gradient.save(buffer, format="PNG")
    data, fmt = encode_user_image(buffer.getvalue(), "gradient.png")
    with Image.open(io.BytesIO(data)) as image:
        grey = image.convert("L")
        assert fmt == "png" and max(grey.size) == 1024
        mean = ImageStat.Stat(grey).mean[0]
    assert 110 < mean < 145  # a mid-grey average, not the near-white of a clipped conversion
    assert encode_user_image(buffer.getvalue(), "again") == (data, fmt)  # served from the per-process cache


def test_official_import_ids_are_names_and_images_must_be_images(tmp_path):
    from generator.common.errors import UserError
    from generator.release.official_import import attach_images

    images = tmp_path / "images"
    (images / "0").mkdir(parents=True)
    (images / "0" / "Image1.png").write_bytes(b"not an image")
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "Image1.png").write_bytes(png_bytes("red", 8))
    rows = [{"id": "../x", "turns": [{"prompt": "Look at Image1."}]}]
    with pytest.raises(UserError, match="cannot name an image folder"):
        attach_images(rows, images)
    with pytest.raises(UserError, match=r"cannot read the image .Image1\.png."):
        attach_images([{"id": "0", "turns": [{"prompt": "Look at Image1."}]}], images)
    (images / "0" / "Image1.png").unlink()
    (images / "0" / "Image1.png").symlink_to(tmp_path / "x" / "Image1.png")
    with pytest.raises(UserError, match="leads outside"):
        attach_images([{"id": "0", "turns": [{"prompt": "Look at Image1."}]}], images)


# --------------------------------------------------------------------------------------- no machine path
def _grep_machine_paths(folder: Path, *needles: str) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.relative_to(folder)}: {needle}" for needle in needles if needle.encode() in data]
    return found


def test_generated_folders_hold_no_machine_path_and_do_not_depend_on_the_working_folder(tmp_path, mmdu_folder,
                                                                                         official_subset):
    import tempfile

    mmdu_root = mmdu_folder[0]

    _folder(tmp_path / "imgs", [{"file_name": "a.png", "question": "Which colour?", "answer": "red",
                                 "license": "cc-by-4.0", "attribution": "me"},
                                {"file_name": "b.png", "question": "Which colour?", "answer": "blue"}])
    (tmp_path / "elsewhere").mkdir()
    made = {}
    for name, source, cwd in (("folder_rel", "folder:imgs", tmp_path),
                              ("folder_abs", f"folder:{tmp_path / 'imgs'}", tmp_path),
                              ("folder_abs2", f"folder:{tmp_path / 'imgs'}", tmp_path / "elsewhere"),
                              ("hf", "hf:imgs", tmp_path), ("photos", "photos", tmp_path),
                              ("mmdu", f"mmdu:{mmdu_root}", tmp_path)):
        out = tmp_path / name
        result = run("--turns", "2", "--conversations", "2", "--seed", "3", "--source", source, "--out", str(out),
                     "--quiet", cwd=cwd, code=GEN)
        assert result.returncode == 0, result.stderr
        made[name] = out
    csv_path = ROOT / "tests" / "data" / "official" / "mmmt_if_public_release.csv"
    official = tmp_path / "official"
    assert run("import-official", str(csv_path), "--out", str(official), "--quiet").returncode == 0
    made["official"] = official
    rebuilt = tmp_path / "official-mmdu"
    result = run("import-official", str(official_subset), "--mmdu", str(mmdu_root), "--out", str(rebuilt), "--quiet")
    assert result.returncode == 0, result.stderr
    made["official-mmdu"] = rebuilt
    needles = {str(tmp_path), os.getcwd(), tempfile.gettempdir() + "/", str(ROOT), str(mmdu_root)}
    for name, folder in made.items():
        assert _grep_machine_paths(folder, *needles) == [], name
    # the same arguments give the same bytes from another working folder
    assert snapshot(made["folder_abs"]) == snapshot(made["folder_abs2"])


# ------------------------------------------------------------------------------------- licences and card
def test_licences_come_from_every_line_and_the_card_says_other_when_unspecified(tmp_path):
    import yaml

    _folder(tmp_path / "imgs", [{"file_name": "a.png", "question": "q1"},
                                {"file_name": "a.png", "question": "q2", "license": "cc-by-4.0",
                                 "attribution": "Ann"},
                                {"file_name": "b.png", "question": "q3"}])
    assert run("--turns", "2", "--conversations", "3", "--source", "folder:imgs", "--out", "o", "--quiet",
               cwd=tmp_path, code=GEN).returncode == 0
    readme = (tmp_path / "o" / "README.md").read_text()
    meta = yaml.safe_load(readme.split("---\n")[1])
    assert meta["license"] == "other"
    assert "| cc-by-4.0 |" in readme and "| unspecified (user data) |" in readme
    _folder(tmp_path / "imgs", [{"file_name": "a.png", "question": "q1", "license": "mit"},
                                {"file_name": "a.png", "question": "q2", "license": "cc-by-4.0"}])
    one_line(run("--source", "folder:imgs", "--out", "o2", "--quiet", cwd=tmp_path, code=GEN), "line 2",
             "differs from 'mit'")


def test_card_notes_survive_validate_and_publishing(work, tmp_path):
    from generator.dataset.notes import END, card_notes
    from generator.release.publish import build_release, content_digest, folder_files

    folder = tmp_path / "d"
    shutil.copytree(work / "d", folder)
    readme = folder / "README.md"
    notes = "Collected by the Foo lab.\n\n| column | meaning |\n|---|---|\n| id | chat |"
    readme.write_text(readme.read_text().replace(END, notes + "\n" + END))
    result = run("validate", str(folder), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    local = folder_files(folder)
    planned, _ = build_release(folder, "org/name", "v1.0.0", "first", [], local, content_digest(local))
    released = planned["README.md"].read().decode()
    assert card_notes(released) == notes and "Release" not in card_notes(released)
    release = tmp_path / "release"
    release.mkdir()
    for rel, file in planned.items():
        (release / rel).parent.mkdir(parents=True, exist_ok=True)
        (release / rel).write_bytes(file.read())
    from generator.dataset.manifest import check_manifest

    assert check_manifest(release) == []
    readme.write_text(readme.read_text().replace("## Citation", "## Citation (edited)"))
    result = run("validate", str(folder), cwd=tmp_path)  # validate lists every problem, one line each
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "README.md: size" in result.stderr and "Notes section" in result.stderr


def test_publish_refuses_symbolic_links(work, tmp_path):
    from generator.common.errors import UserError
    from generator.release.publish import folder_files

    folder = tmp_path / "d"
    shutil.copytree(work / "d", folder)
    (folder / "extra.txt").symlink_to("/etc/hostname")
    with pytest.raises(UserError, match=r"extra\.txt is a symbolic link"):
        folder_files(folder)


def test_hub_retry_warnings_never_print_the_token(capsys):
    import logging

    from generator.release.publish import scrubbed_logs

    token = "hf_secret_token_abcdef123456"
    logger = logging.getLogger("huggingface_hub.utils._http")
    handler = logging.StreamHandler(sys.stderr)
    logging.getLogger("huggingface_hub").addHandler(handler)
    try:
        with scrubbed_logs(token):
            logger.warning("'%s' thrown while requesting GET http://x/?token=%s", f"echo {token}", token)
            logger.warning(f"Retrying in 1s [Retry 1/5]: {token}")
    finally:
        logging.getLogger("huggingface_hub").removeHandler(handler)
    err = capsys.readouterr().err
    assert "Retrying in 1s" in err and "thrown while requesting" in err
    assert token not in err and token[:10] not in err
