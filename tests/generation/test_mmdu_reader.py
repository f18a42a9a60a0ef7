"""The MMDU reader: container shapes, role spellings, marker binding, image checks and malformed records."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest
from mmdu_fixtures import bomb_png, dialogues, image_bytes, zip_folder

from generator.common.errors import UserError
from generator.generation.sources import mmdu
from generator.generation.sources.mmdu import open_mmdu, parse_record, strip_markers


def _keys(data: mmdu.MMDUData) -> list[str]:
    return [d.key for d in data.dialogues]


def test_folder_reads_both_containers_and_role_spellings(mmdu_folder):
    root, digests = mmdu_folder
    data = open_mmdu(str(root))
    assert data.malformed == []
    assert data.files == ["benchmark.json", "mmdu-45k.json"]  # dict + user/assistant, list + human/gpt
    assert sorted(_keys(data)) == sorted(d.key for d in dialogues())
    first = data.find("benchmark.json", "bench-0")
    assert first is not None
    assert all(not p.startswith("/") for p in first.images)  # MMDU's leading "/" stripped
    assert first.images[0] == "mmdu_pics/bench-0_0.jpg"
    # markers bound by position: turn 1 holds Image1-2, turn 2 the rest, later turns none
    assert first.turns[0].images == (0, 1)
    assert first.turns[1].images == tuple(range(2, len(first.images)))
    assert first.turns[2].images == ()
    assert "<ImageHere>" not in first.turns[0].question and "<ImageHere>" in first.turns[0].text
    assert first.turns[0].answer == "MMDU answer 1 of bench-0."
    # every image resolves, from the zip (benchmark) and from the unzipped folder (45k), in marker order
    for dialogue in data.dialogues:
        got = [hashlib.sha256(data.image(dialogue, k)[0]).hexdigest()
               for k in range(len(dialogue.images))]
        assert got == digests[dialogue.key]


def test_zip_and_single_json_sources_read_the_same_dialogues(mmdu_folder, tmp_path):
    root, _ = mmdu_folder
    archive = zip_folder(root, tmp_path / "MMDU.zip")
    from_zip = open_mmdu(str(archive))
    assert sorted(_keys(from_zip)) == sorted(_keys(open_mmdu(str(root))))
    dialogue = from_zip.find("benchmark.json", "bench-2")
    assert dialogue is not None and from_zip.image(dialogue, 0)[1] == "JPEG"
    single = open_mmdu(str(root / "mmdu-45k.json"))
    assert single.files == ["mmdu-45k.json"] and all(d.file == "mmdu-45k.json" for d in single.dialogues)


def test_strip_markers_and_roles():
    assert strip_markers("Image1: <ImageHere>; Image2: <ImageHere>. What is in  Image2?") == "What is in Image2?"
    record = {"id": 7, "image": ["/p/a.jpg"], "conversations": [
        {"from": "human", "value": "<ImageHere> Describe Image1."}, {"from": "gpt", "value": "A cat."},
        {"from": "human", "value": "And its colour?"}]}
    parsed = parse_record(record, None, "f.json")
    assert isinstance(parsed, mmdu.MMDUDialogue)
    assert parsed.id == "7" and parsed.images == ("p/a.jpg",)
    assert [(t.question, t.answer) for t in parsed.turns] == [("Describe Image1.", "A cat."), ("And its colour?", None)]


@pytest.mark.parametrize(("record", "field", "words"), [
    ({"id": "a", "image": ["/x.jpg", "/y.jpg"], "conversations": [{"from": "user", "value": "<ImageHere> hi"}]},
     "conversations", "1 <ImageHere> marker(s) for 2 image(s)"),
    ({"id": "b", "image": ["/x.jpg"], "conversations": [{"from": "robot", "value": "<ImageHere> hi"}]},
     "conversations[0].from", "unknown role"),
    ({"id": "c", "image": "/x.jpg", "conversations": [{"from": "user", "value": "<ImageHere> hi"}]},
     "image", "list of image paths"),
    ({"id": "d", "image": ["/x.jpg"], "conversations": [{"from": "assistant", "value": "first"}]},
     "conversations[0].from", "no user turn before it"),
    ({"id": "e", "image": ["/x.jpg"], "conversations": [{"from": "user", "value": 3}]},
     "conversations[0].value", "not a string"),
])
def test_malformed_record_is_one_line_naming_file_record_and_field(record, field, words):
    found = parse_record(record, None, "benchmark.json")
    assert isinstance(found, mmdu.Malformed)
    line = str(found)
    assert line.startswith(f"benchmark.json: record {record['id']}: field {field}: ") and words in line
    assert "\n" not in line


def test_malformed_records_are_left_out_and_reported(tmp_path):
    (tmp_path / "pics").mkdir()
    (tmp_path / "pics" / "ok.jpg").write_bytes(image_bytes(1))
    container = {
        "good": {"id": "good", "image": ["/pics/ok.jpg"],
                 "conversations": [{"from": "user", "value": "Image1: <ImageHere>. Describe Image1."}]},
        "lost": {"id": "lost", "image": ["/pics/missing.jpg"],
                 "conversations": [{"from": "user", "value": "<ImageHere> Describe Image1."}]},
        "other": {"id": "renamed", "image": ["/pics/ok.jpg"],
                  "conversations": [{"from": "user", "value": "<ImageHere> Describe Image1."}]},
    }
    (tmp_path / "benchmark.json").write_text(json.dumps(container))
    data = open_mmdu(str(tmp_path))
    assert _keys(data) == ["benchmark.json#good"]
    lines = [str(m) for m in data.malformed]
    assert lines == ["benchmark.json: record lost: field image[0]: pics/missing.jpg not found in " + str(tmp_path),
                     "benchmark.json: record other: field id: 'renamed' differs from the record's key 'other'"]
    printed: list[str] = []
    mmdu.report_malformed(data, printed.append)
    assert printed == [f"warning: left out: {line}" for line in lines]


@pytest.mark.parametrize(("content", "words"), [
    (b"{not json", "not valid JSON (line 1"),
    (b'"a string"', "not an MMDU file"),
    (b'{"id": "x", "image": [], "conversations": []}', "holds one record"),
])
def test_unusable_file_stops_with_one_line(tmp_path, content, words):
    (tmp_path / "benchmark.json").write_bytes(content)
    with pytest.raises(UserError) as caught:
        open_mmdu(str(tmp_path))
    assert words in str(caught.value) and "benchmark.json" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_bad_sources_are_one_line_errors(tmp_path):
    for spec, words in ((str(tmp_path / "nope"), "no such file or folder"), (str(tmp_path), "no MMDU JSON file"),
                        ("hub:only-owner", "expected hub:OWNER/NAME"), ("hub:a/b/data.txt", "not a JSON file")):
        with pytest.raises(UserError, match=words):
            open_mmdu(spec)
    with pytest.raises(UserError, match="only to a Hub source"):
        open_mmdu(str(tmp_path), revision="v1")
    with pytest.raises(UserError, match="--revision says"):
        mmdu.split_hub_spec("hub:a/b@v1", "v2")
    assert mmdu.split_hub_spec("hub:a/b@v1") == ("a/b", "benchmark.json", "v1")
    assert mmdu.with_revision("hub:a/b/mmdu-45k.json", "main") == "hub:a/b/mmdu-45k.json@main"


def test_each_image_is_decoded_once_and_a_broken_one_is_named(tmp_path, monkeypatch):
    with zipfile.ZipFile(tmp_path / "mmdu_pics.zip", "w") as archive:
        archive.writestr("mmdu_pics/a.jpg", image_bytes(3))
        archive.writestr("mmdu_pics/b.jpg", b"\xff\xd8\xff not really a jpeg")
    record = {"id": "r1", "image": ["/mmdu_pics/a.jpg", "/mmdu_pics/b.jpg"],
              "conversations": [{"from": "user", "value": "Image1: <ImageHere>; Image2: <ImageHere>. Compare."},
                                {"from": "assistant", "value": "They differ."}]}
    (tmp_path / "benchmark.json").write_text(json.dumps([record]))
    data = open_mmdu(str(tmp_path))
    dialogue = data.dialogues[0]
    calls: list[str] = []
    real = mmdu.decode_check
    monkeypatch.setattr(mmdu, "decode_check", lambda raw, where: calls.append(where) or real(raw, where))
    assert data.image(dialogue, 0)[1] == "JPEG"
    assert data.image(dialogue, 0)[1] == "JPEG"
    assert len(calls) == 1
    with pytest.raises(UserError) as caught:
        data.image(dialogue, 1)
    message = str(caught.value)
    assert message.startswith("benchmark.json: record r1: field image[1] (mmdu_pics/b.jpg): cannot read the image")
    assert "\n" not in message


def test_reader_paths_are_relative_to_the_json(tmp_path: Path):
    """A JSON file given directly finds its images next to it, unzipped."""
    (tmp_path / "sub" / "imgs").mkdir(parents=True)
    (tmp_path / "sub" / "imgs" / "a.png").write_bytes(image_bytes(4))
    record = {"id": "z", "image": ["imgs/a.png"], "conversations": [{"from": "user", "value": "<ImageHere> Hi"}]}
    (tmp_path / "sub" / "mine.json").write_text(json.dumps({"z": record}))
    data = open_mmdu(str(tmp_path / "sub" / "mine.json"))
    assert _keys(data) == ["mine.json#z"] and data.image(data.dialogues[0], 0)[0] == image_bytes(4)


# ------------------------------------------------------------------------------------------------ records left out


def _record(rid: str, paths: list[str]) -> dict:
    markers = "; ".join(f"Image{k + 1}: <ImageHere>" for k in range(len(paths)))
    return {"id": rid, "image": paths, "conversations": [
        {"from": "user", "value": f"{markers}. Compare the pictures."}, {"from": "assistant", "value": "Done."},
        {"from": "user", "value": "And the colours?"}, {"from": "assistant", "value": "Blue."}]}


def _folder(root: Path, records: list[dict] | dict, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    (root / "benchmark.json").write_text(records if isinstance(records, str) else json.dumps(records))
    return root


def _left_out(data: mmdu.MMDUData) -> list[str]:
    return [str(m) for m in data.malformed]


@pytest.mark.parametrize("path", ["../outside.jpg", "/../outside.jpg", "pics/../../outside.jpg",
                                  "pics/..\\..\\outside.jpg"])
def test_an_image_path_leading_outside_the_source_leaves_its_record_out(tmp_path, path):
    (tmp_path / "outside.jpg").write_bytes(image_bytes(1))  # exists: the message must not say so
    root = _folder(tmp_path / "src", [_record("good", ["/pics/a.jpg", "/pics/b.jpg"]),
                                      _record("bad", ["/pics/a.jpg", path])],
                   {"pics/a.jpg": image_bytes(2), "pics/b.jpg": image_bytes(3)})
    data = open_mmdu(str(root))
    assert _keys(data) == ["benchmark.json#good"]
    assert _left_out(data) == ["benchmark.json: record bad: field image[1]: leads outside the MMDU source"]
    (tmp_path / "outside.jpg").unlink()
    assert _left_out(open_mmdu(str(root))) == _left_out(data)  # the same line whether or not the file exists


def test_a_symbolic_link_leaving_the_folder_leaves_its_record_out(tmp_path):
    (tmp_path / "outside.jpg").write_bytes(image_bytes(1))
    root = _folder(tmp_path / "src", [_record("good", ["/pics/a.jpg", "/pics/b.jpg"]),
                                      _record("linked", ["/pics/a.jpg", "/pics/link.jpg"]),
                                      _record("dangling", ["/pics/a.jpg", "/pics/gone.jpg"])],
                   {"pics/a.jpg": image_bytes(2), "pics/b.jpg": image_bytes(3)})
    (root / "pics" / "link.jpg").symlink_to(tmp_path / "outside.jpg")
    (root / "pics" / "gone.jpg").symlink_to(tmp_path / "nothing-here.jpg")
    (root / "pics" / "inside.jpg").symlink_to(root / "pics" / "b.jpg")  # a link inside the folder is fine
    data = open_mmdu(str(root))
    assert _keys(data) == ["benchmark.json#good"]
    assert _left_out(data) == [
        "benchmark.json: record linked: field image[1]: leads outside the MMDU source (a symbolic link)",
        "benchmark.json: record dangling: field image[1]: leads outside the MMDU source (a symbolic link)"]
    with pytest.raises(KeyError):  # the store itself never follows it either
        data._stores["benchmark.json"].read("pics/link.jpg")


def test_a_zip_source_never_reads_a_member_through_dots(tmp_path):
    archive = tmp_path / "MMDU.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("pics/a.jpg", image_bytes(2))
        handle.writestr("pics/b.jpg", image_bytes(3))
        handle.writestr("../evil.jpg", image_bytes(4))
        handle.writestr("benchmark.json", json.dumps([_record("good", ["/pics/a.jpg", "/pics/b.jpg"]),
                                                      _record("bad", ["/pics/a.jpg", "../evil.jpg"])]))
    data = open_mmdu(str(archive))
    assert _keys(data) == ["benchmark.json#good"]
    assert _left_out(data) == ["benchmark.json: record bad: field image[1]: leads outside the MMDU source"]


def test_repeated_ids_in_a_dict_keyed_file_are_reported_not_dropped(tmp_path):
    good = json.dumps(_record("r1", ["/pics/a.jpg", "/pics/b.jpg"]))
    other = json.dumps(_record("r1", ["/pics/b.jpg", "/pics/a.jpg"]))
    inner = json.dumps(_record("r2", ["/pics/a.jpg", "/pics/b.jpg"]))[:-1] + ', "id": "r2"}'
    root = _folder(tmp_path, f'{{"r1": {good}, "r1": {other}, "r2": {inner}}}',
                   {"pics/a.jpg": image_bytes(2), "pics/b.jpg": image_bytes(3)})
    data = open_mmdu(str(root))
    assert _keys(data) == ["benchmark.json#r1"]
    assert data.dialogues[0].images == ("pics/a.jpg", "pics/b.jpg")  # the first record with the id is kept
    assert _left_out(data) == ["benchmark.json: record r1: field id: repeats an earlier record's id",
                               "benchmark.json: record r2: field id: appears twice in the record"]


def test_a_list_entry_that_is_not_an_object_is_named_by_its_position(tmp_path):
    root = _folder(tmp_path, [_record("r1", ["/pics/a.jpg", "/pics/b.jpg"]), 42, {"image": ["/pics/a.jpg"]}],
                   {"pics/a.jpg": image_bytes(2), "pics/b.jpg": image_bytes(3)})
    assert _left_out(open_mmdu(str(root))) == [
        "benchmark.json: record at position 1: field record: not a JSON object",
        "benchmark.json: record at position 2: field id: missing or not a string/number"]


def test_usable_decodes_each_record_once_and_leaves_bad_images_out(tmp_path):
    root = _folder(tmp_path, [_record("good", ["/pics/a.jpg", "/pics/b.jpg"]),
                              _record("broken", ["/pics/a.jpg", "/pics/junk.jpg"]),
                              _record("bomb", ["/pics/a.jpg", "/pics/bomb.png"])],
                   {"pics/a.jpg": image_bytes(2), "pics/b.jpg": image_bytes(3), "pics/junk.jpg": b"not an image",
                    "pics/bomb.png": bomb_png()})
    data = open_mmdu(str(root))
    assert [data.usable(d) for d in data.dialogues] == [True, False, False]
    assert [data.usable(d) for d in data.dialogues] == [True, False, False]  # decided once
    lines = _left_out(data)
    assert lines[0].startswith("benchmark.json: record broken: field image[1]: ")
    assert "cannot read the image" in lines[0]
    assert lines[1].startswith("benchmark.json: record bomb: field image[1]: ")
    assert "pixels (a decompression bomb)" in lines[1]
    assert len(lines) == 2 and not any("object at 0x" in line or str(tmp_path) in line for line in lines)
