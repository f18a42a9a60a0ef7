"""The dataset card: Hub metadata, required sections, faithful re-rendering and the local consistency check."""

from __future__ import annotations

import hashlib
import shutil

import pytest
import yaml
from dataset_rows import make_row, placeholder_scoring_script

from generator.dataset.card import (
    PLOT_PATH,
    check_card,
    render_card,
    render_card_for_folder,
    size_category,
    summarize_dir,
    write_assets,
)

EXTRA = "## Configs and their knobs\n\n- **mmmt-if**: official policy\n"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    from generator.dataset.writer import write_dataset
    from generator.generation.variants import preset_description

    with placeholder_scoring_script():
        out = tmp_path_factory.mktemp("c") / "mmmt-if"
        write_dataset(out, {"mmmt-if": {"test": [make_row(i, n_turns=5) for i in range(6)]},
                            "appended": {"test": [make_row(i, "appended", n_turns=5) for i in range(6)]}},
                      quiet=True, card_context={"pretty_name": "MMMT-IF synthetic", "extra": EXTRA,
                                                "generation_args": {"seed": 7, "turns": 5},
                                                "describe": preset_description})
    return out


def _split(text: str) -> tuple[dict, str]:
    _, header, body = text.split("---\n", 2)
    return yaml.safe_load(header), body


def test_metadata(folder):
    meta, _ = _split((folder / "README.md").read_text())
    assert meta["license"] == "cc0-1.0"  # every image is a CC0 procedural image; text alone would be apache-2.0
    assert meta["task_categories"] == ["visual-question-answering", "image-text-to-text"]
    assert meta["language"] == ["en"] and meta["size_categories"] == ["n<1K"]
    assert meta["pretty_name"] == "MMMT-IF synthetic"
    assert [c["config_name"] for c in meta["configs"]] == ["mmmt-if", "appended"]
    assert [i["config_name"] for i in meta["dataset_info"]] == ["mmmt-if", "appended"]
    assert "&id" not in (folder / "README.md").read_text()  # no YAML anchors


@pytest.mark.parametrize("needle", [
    "# MMMT-IF synthetic",
    "## Statistics: `mmmt-if`", "## Statistics: `appended`",
    "| `start:letter` | 6 | 50.0% |",  # instruction distribution
    "| active instructions per turn (mean, max) | 1.6, 2 |",
    "## Example conversation", "Instruction: Start every sentence with the letter (S).",
    "load_dataset(\"mmmt-if\", \"mmmt-if\", split=\"test\")",
    "mmmtif score", "python scoring.py",
    "## Image licences", "| CC0-1.0 | ",
    f"({PLOT_PATH})",
    "arXiv:2409.18216", "Epstein",
    "## Configs and their knobs",
    '"seed": 7',
])
def test_body_sections(folder, needle):
    _, body = _split((folder / "README.md").read_text())
    assert needle in body


def test_rerender_from_folder_is_identical(folder):
    from generator.generation.variants import preset_description

    assert render_card(folder, describe=preset_description) == (folder / "README.md").read_text()
    assert render_card_for_folder(folder, describe=preset_description) == (folder / "README.md").read_text()


def test_version_changelog_and_repo_id(folder):
    text = render_card_for_folder(folder, version="v1.1.0", repo_id="org/mmmt-if", changelog=[
        {"version": "v1.1.0", "date": "2026-11-22", "changes": "More chats."},
        {"version": "v1.0.0", "changes": "First release."}])
    assert "Version: **v1.1.0**." in text
    assert "## Changelog" in text and "- **v1.1.0** (2026-11-22): More chats." in text
    assert "- **v1.0.0**: First release." in text
    assert 'load_dataset("org/mmmt-if"' in text and "--repo org/mmmt-if" in text
    assert "## Configs and their knobs" in text  # recorded card options are kept
    assert "## Changelog" not in render_card(folder)


def test_versioned_usage_pins_the_release(folder):
    text = render_card_for_folder(folder, version="v1.1.0", repo_id="org/mmmt-if")
    _, body = _split(text)
    assert 'load_dataset("org/mmmt-if", "mmmt-if", revision="v1.1.0")' in body
    assert "python scoring.py --repo org/mmmt-if --revision v1.1.0 --config mmmt-if" in body
    assert "mmmtif score --dataset org/mmmt-if --revision v1.1.0 --config mmmt-if" in body
    assert "revision='v1.1.0'" in body  # the script of this very release is downloaded
    assert 'split="test"' not in body


def test_unversioned_usage_keeps_the_local_folder_form(folder):
    _, body = _split((folder / "README.md").read_text())
    assert 'load_dataset("mmmt-if", "mmmt-if", split="test")' in body
    assert "python scoring.py --repo mmmt-if --config mmmt-if" in body
    assert "revision" not in body


def test_every_config_shows_its_statistics_tables(folder):
    _, body = _split((folder / "README.md").read_text())
    for name in ("mmmt-if", "appended"):
        section = body.split(f"## Statistics: `{name}`", 1)[1].split("\n## ", 1)[0]
        # make_row: 5 turns with 1, 1, 2, 2, 2 active instructions, ages 0-4, instructions at turns 1 and 3
        assert "| active instructions | 1 | 2 |\n|---|---|---|\n| turns | 12 | 18 |\n| share | 40.0% | 60.0% |" in section
        assert "| age in turns | 0 | 1 | 2 | 3 | 4 |" in section
        assert "| instructions | 2 |\n|---|---|\n| conversations | 6 |" in section
        assert "| turn | 1 |\n|---|---|\n| conversations | 6 |" in section
        assert "| `start` | 6 | 50.0% |" in section and "| `end` | 6 | 50.0% |" in section
        assert "| instruction age in turns (mean, median, p90, max) | 1.625, 1, 4, 4 |" in section
        assert "| instruction events (add / replace / revoke) | 12 / 0 / 0 |" in section


def test_config_descriptions_from_presets_recorded_configs_or_none(folder):
    from generator.generation.variants import get_variant

    _, body = _split((folder / "README.md").read_text())
    appended = body.split("## Statistics: `appended`", 1)[1]
    assert appended.lstrip().startswith(get_variant("appended").description.split()[0])
    # markup-like text in a description is escaped so that it shows on the Hub
    assert "'Instruction: &lt;text&gt; &lt;question&gt;'" in body
    summary = summarize_dir(folder)
    summary["configs"] = {"official": summary["configs"]["mmmt-if"], "mine": summary["configs"]["appended"]}
    summary["stats"] = {"official": summary["stats"]["mmmt-if"], "mine": summary["stats"]["appended"]}
    summary["default_config"] = "official"
    summary["generation_args"] = {"variants": [{"name": "mine", "description": "My own knobs."}]}
    _, body = _split(render_card(summary))
    assert "## Statistics: `mine`\n\nMy own knobs.\n\n| measure | value |" in body
    assert "## Statistics: `official`\n\n| measure | value |" in body  # not a preset: no description


def test_card_and_stats_command_show_the_same_numbers(folder):
    from generator.dataset.stats import bucket_histogram, format_stats, stats_from_dir

    stats = stats_from_dir(folder)
    _, body = _split((folder / "README.md").read_text())
    text = format_stats(stats)
    for name, data in stats.items():
        section = body.split(f"## Statistics: `{name}`", 1)[1].split("\n## ", 1)[0]
        block = text.split(f"[{name}]", 1)[1].split("\n[", 1)[0]
        for key in ("active_per_turn", "instruction_age", "instructions_per_conversation", "first_instruction_turn"):
            bins = bucket_histogram(data[key]["histogram"])
            assert "| " + " | ".join(str(n) for _, n in bins) + " |" in section
            assert ", ".join(f"{label}: {n}" for label, n in bins) in block
        assert f"mean {data['active_per_turn']['mean']}" in block
        assert f"{data['active_per_turn']['mean']}, {data['active_per_turn']['max']}" in section


def test_summary_round_trip_matches_the_writer(folder):
    summary = summarize_dir(folder)
    assert summary["default_config"] == "mmmt-if"
    assert summary["configs"]["mmmt-if"]["splits"]["test"]["num_examples"] == 6
    assert summary["example"]["id"] == "chat-0000"


def test_plot_is_deterministic_png_without_software_tag(folder, tmp_path):
    data = (folder / PLOT_PATH).read_bytes()
    assert data.startswith(b"\x89PNG") and b"matplotlib" not in data
    write_assets(tmp_path, summarize_dir(folder))
    assert hashlib.sha256((tmp_path / PLOT_PATH).read_bytes()).digest() == hashlib.sha256(data).digest()


def test_card_loads_with_huggingface_hub(folder):
    from huggingface_hub import DatasetCard

    card = DatasetCard.load(folder / "README.md")
    assert card.data.configs[0]["default"] is True


@pytest.mark.parametrize("options", [
    {},
    {"license": "cc-by-nc-4.0", "pretty_name": "Other name", "version": "v2.0.0", "repo_id": "org/name",
     "changelog": [{"version": "v2.0.0", "changes": "- new: 'quoted' text, ünïcode"}]},
    {"extra": "## Notes\r\n\r\nWindows line ends: yes, no, ~, null, 'x'\r\n"},
    {"extra": "\r".join(["old Mac line ends"] * 400)},
])
def test_card_text_is_what_huggingface_hub_renders(folder, options):
    """The card is rendered without importing huggingface_hub's client; the text is the one its
    ``DatasetCard.from_template`` gives for the same metadata, template and variables."""
    from huggingface_hub import DatasetCard, DatasetCardData

    from generator.common.resources import resource_path
    from generator.dataset import card as card_module

    summary = summarize_dir(folder)
    options = dict(options)
    changelog = options.pop("changelog", [])
    variables = {"version": options.pop("version", None), "extra": options.pop("extra", EXTRA),
                 "repo_id": options.pop("repo_id", "mmmt-if"), "changelog": changelog,
                 **card_module._template_vars(summary)}
    metadata = card_module.card_metadata(summary, **options)
    template = resource_path("dataset_card", "README.md.j2")
    expected = str(DatasetCard.from_template(DatasetCardData(**metadata), template_path=str(template),
                                             pretty_name=metadata["pretty_name"], **variables))
    assert card_module._render_hub_card(metadata, template, pretty_name=metadata["pretty_name"],
                                        **variables) == expected


def test_check_card_passes_and_catches_problems(folder, tmp_path):
    assert check_card(folder) == []
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    text = (copy / "README.md").read_text().replace("config_name: appended\n  data_files", "config_name: appended\n"
                                                   "  default: true\n  data_files", 1)
    (copy / "README.md").write_text(text)
    assert any("several default configs" in p for p in check_card(copy))
    (copy / "README.md").write_text("---\nconfigs: [unclosed\n---\n")
    assert check_card(copy)[0].startswith("README.md: cannot parse the YAML header")
    (copy / "README.md").unlink()
    assert check_card(copy) == ["README.md: missing"]


@pytest.mark.parametrize(("n", "label"), [(0, "n<1K"), (999, "n<1K"), (1000, "1K<n<10K"), (20_000, "10K<n<100K"),
                                          (250_000, "100K<n<1M"), (3_000_000, "1M<n<10M")])
def test_size_category(n, label):
    assert size_category(n) == label


def test_updates_distractors_and_conflicts_avoided_reach_the_card(folder):
    from dataset_rows import LETTER

    from generator.dataset.stats import compute_stats

    row = make_row(1)
    new = {"id": "start:letter", "kwargs": '{"letter":"C"}', "wording": "C instead."}
    row["turns"][1]["new_instructions"] = [{**new, "action": "replace"}]
    row["turns"][2]["new_instructions"].append({**LETTER, "action": "revoke"})
    row["turns"][0]["distractors"] = [{"id": "case:upper", "kwargs": "{}", "wording": "SHOUT"}]
    summary = summarize_dir(folder)
    summary["stats"]["appended"] = compute_stats({"test": [row]}, {"conflicts_avoided": 4})
    _, body = _split(render_card(summary))
    section = body.split("## Statistics: `appended`", 1)[1]
    assert "| instruction events (add / replace / revoke) | 2 / 1 / 1 |" in section
    assert "| distractors (total, turns with any) | 1, 1 |" in section
    assert "| distractor | shown | share |\n|---|---|---|\n| `case:upper` | 1 | 100.0% |" in section
    assert "| conflicts avoided (instructions drawn but rejected because they conflict with an active one) | 4 |" \
        in section
    assert "conflicts avoided" not in body.split("## Statistics: `appended`", 1)[0]


def test_generated_card_counts_embedded_images_and_has_no_images_notice(folder):
    _, body = _split((folder / "README.md").read_text())
    assert "| `mmmt-if` (default) | test 6 | 6 | 30 | 12 |" in body  # make_row embeds 2 images per conversation
    assert "| images embedded (total; conversations without any) | 12; 0 |" in body
    assert "## Images not included" not in body and "source skips" not in body
    assert summarize_dir(folder)["embedded"] == {"mmmt-if": {"images": 12, "conversations_without_images": 0},
                                                 "appended": {"images": 12, "conversations_without_images": 0}}


def test_unreleased_images_card_counts_bytes_not_image_meta(tmp_path, monkeypatch):
    import json

    import generator.dataset.bundle
    from generator.dataset.writer import write_dataset

    monkeypatch.setattr(generator.dataset.bundle, "build_scoring_script", lambda: "print('scoring')\n")
    rows = [make_row(i) for i in range(3)]
    for row in rows[1:]:
        row["images"] = []
        for entry in row["image_meta"]:
            entry["spec"] = json.dumps({"released": False})
    out = tmp_path / "imported"
    write_dataset(out, {"mmmt-if": {"test": rows}}, quiet=True, card_context={"departures": ["unreleased-images"]})
    text = (out / "README.md").read_text()
    _, body = _split(text)
    assert "| `mmmt-if` (default) | test 3 | 3 | 9 | 2 |" in body
    assert "| images named per conversation (`image_meta`; mean, min-max) | 2.0 (2-2) |" in body
    assert "| images embedded (total; conversations without any) | 2; 2 |" in body
    notice = body.split("## Images not included", 1)[1].split("\n## ", 1)[0]
    assert "**The images were not released with the source data.**" in notice  # one conversation has its images
    assert "2 of 3 conversations have an empty `images` list (the others carry 2 images" in notice
    assert "rebuild the dataset from its source" in notice and "--images" not in notice
    assert render_card_for_folder(out) == text


def test_variants_markdown_escapes_descriptions_like_the_rest_of_the_card():
    from generator.generation.config import GenConfig
    from generator.generation.pipeline import variants_markdown
    from generator.generation.variants import get_variant

    text = variants_markdown([get_variant("mmmt-if")])
    assert "'Instruction: &lt;text&gt; &lt;question&gt;'" in text
    assert "<question>" not in text and "<text>" not in text
    custom = GenConfig(name="custom", description="a & b <b>bold</b>")
    assert "a &amp; b &lt;b&gt;bold&lt;/b&gt;" in variants_markdown([custom])
