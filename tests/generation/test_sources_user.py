"""User sources (folder:, hf: with a column map, MMDU dialogues), photos, and ``mmmtif sources``."""

from __future__ import annotations

import io
import json
import sys

import pytest
from click.testing import CliRunner
from PIL import Image
from pngs import png_bytes

from generator.common.errors import UserError
from generator.common.rng import derive_rng
from generator.core.answers import check_answer
from generator.generation.sources import get_source, image_meta, list_sources, parse_column_map, render_image
from generator.generation.sources.folder import make_qa


def _png(path, colour, size=(32, 24)):
    path.write_bytes(png_bytes(colour, size))


def _write_jsonl(path, records):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), encoding="utf-8")


def _decodes(spec) -> tuple[int, int]:
    data, fmt = render_image(spec)
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        assert image.format.lower() == fmt
        return image.size


@pytest.fixture
def folder(tmp_path):
    for name, colour in (("red.png", "red"), ("blue.png", "blue"), ("green.png", "green")):
        _png(tmp_path / name, colour)
    _write_jsonl(tmp_path / "metadata.jsonl", [
        {"file_name": "red.png", "question": "What colour is the picture?", "answer": "red"},
        {"file_name": "red.png", "question": "How wide is Image1 in pixels?", "answer": 32, "license": "CC0-1.0"},
        {"file_name": "blue.png", "question": "Is the picture blue?", "answer": "yes"},
        {"file_name": "green.png", "question": "Describe the picture."},
    ])
    return tmp_path


def test_folder_source(folder):
    source = get_source(f"folder:{folder}")
    assert source.kind == "user"
    material = source.sample_chat(derive_rng(0, "test", "material", 0), 3, 8)
    assert material == source.sample_chat(derive_rng(0, "test", "material", 0), 3, 8)
    assert len(material.images) == 3 and len(material.qas) == 8
    files = [image["file"] for image in material.images]
    by_type = {qa.answer_type for qa in material.qas}
    assert {"word", "number", "yes/no", "open"} <= by_type
    for qa in material.qas:
        for i in qa.image_indices:
            assert f"Image{i + 1}" in qa.question
        if qa.reference_answer == "32":
            # the item's own "Image1" is renamed to the position of red.png in the chat
            assert qa.question == f"How wide is Image{files.index('red.png') + 1} in pixels?"
    for image in material.images:
        assert _decodes(image) == (32, 24)
        json.dumps(image)
    meta = image_meta(material.images[files.index("red.png")])
    assert meta["source"] == "folder" and meta["license"]


def test_folder_fewer_images_than_asked(folder):
    material = get_source(f"folder:{folder}").sample_chat(derive_rng(1), 5, 20)
    assert len(material.images) == 3 and len(material.qas) == 20
    assert len({qa.question for qa in material.qas}) == 20


BAD_FOLDERS = [
    ('{"file_name": "red.png", "question": "q"}\n{not json}', "line 2"),
    ('{"question": "q"}', "file_name"),
    ('{"file_name": "missing.png", "question": "q"}', "missing.png"),
    ('{"file_name": "broken.png", "question": "q"}', "broken.png"),
    ('{"file_name": "red.png", "question": ""}', "question"),
    ('{"file_name": "red.png", "question": "q", "answer": "x", "answer_type": "colour"}', "answer_type"),
    ('{"file_name": "red.png", "question": "q", "answer": "maybe", "answer_type": "yes/no"}', "answer"),
    ('["red.png", "q"]', "JSON object"),
    ('{"file_name": "red.png", "question": "q", "answer": "1,2", "answer_type": "number"}', "answer"),
]


@pytest.mark.parametrize(("metadata", "expected"), BAD_FOLDERS)
def test_folder_errors_name_the_item(tmp_path, metadata, expected):
    _png(tmp_path / "red.png", "red")
    (tmp_path / "broken.png").write_bytes(b"not an image at all")
    (tmp_path / "metadata.jsonl").write_text(metadata + "\n", encoding="utf-8")
    with pytest.raises(UserError) as info:
        get_source(f"folder:{tmp_path}")
    assert expected in str(info.value)
    assert "metadata.jsonl:line" in str(info.value)


def test_folder_missing_metadata_and_folder(tmp_path):
    with pytest.raises(UserError, match=r"metadata\.jsonl not found"):
        get_source(f"folder:{tmp_path}")
    with pytest.raises(UserError, match="does not exist"):
        get_source(f"folder:{tmp_path / 'nope'}")


def test_unreadable_image_at_render_time(folder):
    material = get_source(f"folder:{folder}").sample_chat(derive_rng(0), 1, 1)
    (folder / material.images[0]["file"]).write_bytes(b"garbage")
    with pytest.raises(UserError, match="cannot read the image"):
        render_image(material.images[0])


# ----------------------------------------------------------------------------- hf: datasets
@pytest.fixture
def saved_dataset(tmp_path):
    import datasets

    images = [Image.new("RGB", (20, 20), c) for c in ("red", "blue", "green")]
    ds = datasets.Dataset.from_dict({"img": images, "q": ["What colour is it?"] * 3, "a": ["red", "blue", "green"]})
    ds = ds.cast_column("img", datasets.Image())
    path = tmp_path / "saved"
    ds.save_to_disk(str(path))
    return path


def test_hf_saved_dataset_with_column_map(saved_dataset):
    source = get_source(f"hf:{saved_dataset}", column_map="image=img,question=q,answer=a")
    material = source.sample_chat(derive_rng(3), 2, 4)
    assert len(material.images) == 2
    colours = {}
    for qa in material.qas:
        if qa.reference_answer:
            assert qa.answer_type == "word"
            colours[qa.image_indices[0]] = qa.reference_answer
    for index, colour in colours.items():
        data, _fmt = render_image(material.images[index])
        with Image.open(io.BytesIO(data)) as image:
            assert image.convert("RGB").getpixel((5, 5)) == Image.new("RGB", (1, 1), colour).getpixel((0, 0))


def test_hf_missing_column_and_bad_map(saved_dataset, tmp_path):
    with pytest.raises(UserError, match="column 'question' not found"):
        get_source(f"hf:{saved_dataset}", column_map="image=img")
    with pytest.raises(UserError, match="column 'nope' not found"):
        get_source(f"hf:{saved_dataset}", column_map="image=nope,question=q")
    with pytest.raises(UserError, match="role=column"):
        parse_column_map("image")
    with pytest.raises(UserError, match="no such file"):
        get_source(f"hf:{tmp_path / 'absent'}")


MMDU_RECORDS = [
    {"id": "a", "image": ["images/0.jpg", "images/1.jpg"], "conversations": [
        {"from": "user", "value": "Image1: <ImageHere>; Image2: <ImageHere>.\nWhat differs between Image1 and Image2?"},
        {"from": "assistant", "value": "Image1 is darker than Image2."},
        {"from": "user", "value": "Describe Image2 in detail."},
        {"from": "assistant", "value": "It is a red square."},
    ]},
    {"id": "b", "image": ["images/1.jpg", "images/2.jpg", "images/3.jpg"], "conversations": [
        {"from": "user", "value": "Image1: <ImageHere>; Image2: <ImageHere>; Image3: <ImageHere>. Which is brightest?"},
        {"from": "assistant", "value": "Image3."},
    ]},
]


@pytest.fixture
def mmdu_file(tmp_path):
    (tmp_path / "images").mkdir()
    for k in range(4):
        Image.new("RGB", (24, 24), (60 * k, 0, 0)).save(tmp_path / "images" / f"{k}.jpg")
    path = tmp_path / "benchmark.json"
    path.write_text(json.dumps(MMDU_RECORDS), encoding="utf-8")
    return path


def test_mmdu_layout(mmdu_file):
    source = get_source(f"hf:{mmdu_file}")
    two = source.sample_chat(derive_rng(0), 2, 5)
    assert [image["file"] for image in two.images] == ["images/0.jpg", "images/1.jpg"]
    assert two.qas[0].question == "What differs between Image1 and Image2?"
    assert two.qas[0].reference_answer == "Image1 is darker than Image2." and two.qas[0].answer_type == "open"
    assert two.qas[0].image_indices == [0, 1]
    assert two.qas[1].question == "Describe Image2 in detail." and two.qas[1].image_indices == [1]
    assert len(two.qas) == 5 and all(qa.answer_type == "open" for qa in two.qas[2:])
    three = source.sample_chat(derive_rng(0), 3, 1)
    assert len(three.images) == 3
    assert "<ImageHere>" not in three.qas[0].question and "Image1" in three.qas[0].question
    for image in three.images:
        assert _decodes(image) == (24, 24)


def test_mmdu_bad_turn(tmp_path):
    records = [{"image": ["x.jpg"], "conversations": [{"from": "narrator", "value": "hi"}]}]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(records), encoding="utf-8")
    with pytest.raises(UserError, match="row 0: field conversations"):
        get_source(f"hf:{path}")


# ----------------------------------------------------------------------------- photos and the listing
def test_photos_source():
    pytest.importorskip("skimage")
    source = get_source("photos")
    material = source.sample_chat(derive_rng(2), 3, 6)
    assert all(qa.answer_type == "open" and qa.reference_answer is None for qa in material.qas)
    data, fmt = render_image(material.images[0])
    assert fmt == "jpeg" and render_image(material.images[0])[0] == data
    with Image.open(io.BytesIO(data)) as image:
        assert max(image.size) <= 512
    assert image_meta(material.images[0])["license"]


def test_photos_without_scikit_image(monkeypatch):
    from generator.generation.sources import photos

    photos.data_dir.cache_clear()
    monkeypatch.setitem(sys.modules, "skimage", None)
    monkeypatch.setitem(sys.modules, "skimage.data", None)
    try:
        with pytest.raises(UserError, match="scikit-image"):
            get_source("photos")
    finally:
        photos.data_dir.cache_clear()


def test_unknown_source_and_difficulty():
    with pytest.raises(UserError, match="unknown source"):
        get_source("charts")
    with pytest.raises(UserError, match="difficulty"):
        get_source("mix", difficulty=7)


def test_sources_command_json():
    from generator.cli import cli

    result = CliRunner().invoke(cli, ["sources", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert {"mix", "photos", "folder:PATH"} <= {item["name"] for item in listed}
    assert all(item["kind"] in ("procedural", "photos", "user") for item in listed)
    assert sum(item["kind"] == "procedural" for item in listed) >= 7
    assert len(listed) == len(list_sources())
    text = CliRunner().invoke(cli, ["sources"])
    assert text.exit_code == 0 and "bar_chart" in text.output


def test_dialogues_with_embedded_images(tmp_path):
    import datasets

    features = datasets.Features({
        "images": datasets.List(datasets.Image()),
        "conversations": datasets.List({"role": datasets.Value("string"), "content": datasets.Value("string")}),
    })
    ds = datasets.Dataset.from_dict({
        "images": [[Image.new("RGB", (10, 10), "red"), Image.new("RGB", (12, 12), "blue")]],
        "conversations": [[{"role": "user", "content": "<image><image>What differs between Image1 and Image2?"},
                           {"role": "assistant", "content": "The colour."}]],
    }, features=features)
    ds.save_to_disk(str(tmp_path / "dialogues"))
    material = get_source(f"hf:{tmp_path / 'dialogues'}").sample_chat(derive_rng(0), 2, 3)
    assert material.qas[0].question == "What differs between Image1 and Image2?"
    assert material.qas[0].reference_answer == "The colour."
    assert [_decodes(image) for image in material.images] == [(10, 10), (12, 12)]
    assert json.loads(json.dumps(material.images)) == material.images


USER_ANSWERS = [
    # (answer, answer_type given, reference kept, type, a right response, a wrong response)
    ("Red.", None, "Red", "word", "It is red", "It is reddish"),
    ("Dark blue!", None, "Dark blue", "word", "dark blue", "blue"),
    ("Red.", "word", "Red", "word", "RED", "green"),
    ("1,2", None, "1,2", "word", "1,2", "12"),
    ("1,234", None, "1,234", "number", "1234 people", "12 people"),
    ("12", None, "12", "number", "twelve", "1,2"),
    ("7.", None, "7", "number", "7", "8"),
    ("-3.5", None, "-3.5", "number", "it is -3.5", "it is 3.5"),
    ("12,34", None, "12,34", "word", "12,34", "1234"),
    ("yes.", None, "yes.", "yes/no", "Yes", "No"),
    ("Tea, Coffee", "sequence", "Tea, Coffee", "sequence", "tea and coffee", "coffee and tea"),
]


@pytest.mark.parametrize(("answer", "given", "reference", "kind", "right", "wrong"), USER_ANSWERS)
def test_user_answers_keep_the_answer_not_its_punctuation(answer, given, reference, kind, right, wrong):
    assert make_qa("What is it in Image1?", answer, given, "row 1") == ("What is it in Image1?", reference, kind)
    assert check_answer(reference, kind, right)
    assert not check_answer(reference, kind, wrong)
