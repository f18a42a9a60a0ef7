"""The dataset card (README.md): Hub metadata, statistics, usage, licences, citation and changelog.

The card's YAML is what makes the folder loadable: ``configs`` maps each config's splits to its shard files and
``dataset_info`` declares the features and split sizes. ``load_dataset`` fails when they disagree with the files,
yet the Hub accepts such a commit, and its own card check runs only server-side, so :func:`check_card` repeats the
relevant checks locally (``mmmtif validate`` and publishing run it).

The body is rendered from ``dataset_card/README.md.j2`` as ``huggingface_hub.DatasetCard.from_template`` renders it
(:func:`_render_hub_card`, without importing the Hub client);
the plot of active instructions per turn is written next to it by :func:`write_assets`.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from generator.common import atomic
from generator.common.errors import UserError

PLOT_PATH = "assets/instructions_per_turn.png"
TASK_CATEGORIES = ["visual-question-answering", "image-text-to-text"]
DEFAULT_LICENSE = "apache-2.0"
EXAMPLE_TURNS = 4
#: Card options kept in the manifest so that a folder's card can be re-rendered identically.
CARD_OPTIONS = ("pretty_name", "extra", "license", "repo_id")


def size_category(n: int) -> str:
    """The Hub's ``size_categories`` bucket for ``n`` examples."""
    bounds = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
              (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B")]
    for bound, label in bounds:
        if n < bound:
            return label
    return "n>1T" if n >= 10**12 else "1B<n<10B"


def embedded_image_counts(paths: list[Path]) -> dict[str, int]:
    """``{"images", "conversations_without_images"}``: the images actually embedded in the shards.

    The statistics count ``image_meta`` entries, which name the images a conversation asks about; a dataset
    imported from a release that never published its images names them without embedding any, and the card must
    not claim otherwise. Only the ``path`` leaf of the ``images`` column is read (its list lengths are the image
    counts), never the image bytes.
    """
    import pyarrow.compute as pc

    from generator.common.reading import open_parquet

    images = without = 0
    for path in paths:
        parquet = open_parquet(path)
        leaves = [parquet.schema.column(i).path for i in range(len(parquet.schema))]
        leaf = next((name for name in leaves if name.startswith("images.") and name.endswith(".path")), None)
        if leaf is None or not parquet.metadata.num_rows:
            continue
        lengths = pc.list_value_length(parquet.read(columns=[leaf]).column(0)).fill_null(0)
        images += int(pc.sum(lengths).as_py() or 0)
        without += int(pc.sum(pc.equal(lengths, 0).cast("int64")).as_py() or 0)
    return {"images": images, "conversations_without_images": without}


def make_summary(dataset_dir: str | os.PathLike, *, default_config: str, config_info: Mapping[str, Any],
                 stats: Mapping[str, Any], example: Mapping[str, Any] | None,
                 generation_args: Mapping[str, Any] | None = None,
                 embedded: Mapping[str, Mapping[str, int]] | None = None,
                 departures: list[str] | None = None, sizes: Mapping[str, int] | None = None) -> dict[str, Any]:
    """Everything the card needs, as JSON-ready data.

    ``config_info`` is ``{config: {"splits": {split: {"num_examples", "num_bytes", "files"}}}}`` with ``files``
    relative to ``dataset_dir`` (used for the download size). ``embedded`` is
    ``{config: {"images", "conversations_without_images"}}`` as counted while writing (read from the shards when
    absent); ``departures`` are the declared departures from the row contract (``generator.dataset.schema.DEPARTURES``).
    ``sizes`` gives file sizes that are known already (shards written to object storage are not stat-ed).
    """
    from generator import __version__
    from generator.dataset.features import features_yaml

    root = Path(dataset_dir)
    configs = {}
    for name, info in config_info.items():
        splits: dict[str, dict[str, Any]] = {}
        for split, sinfo in info["splits"].items():
            splits[split] = {"num_examples": int(sinfo["num_examples"]), "num_bytes": int(sinfo["num_bytes"]),
                             "files": list(sinfo["files"]),
                             "download_size": sum(sizes[f] if sizes and f in sizes else (root / f).stat().st_size
                                                  for f in sinfo["files"])}
        configs[name] = {"splits": splits}
    counted = {}
    for name, info in configs.items():
        given = (embedded or {}).get(name)
        if given is None:
            given = embedded_image_counts([root / f for s in info["splits"].values() for f in s["files"]])
        counted[name] = {"images": int(given["images"]),
                         "conversations_without_images": int(given["conversations_without_images"])}
    return {
        "default_config": default_config,
        "configs": configs,
        "features": features_yaml(),
        "stats": {name: stats[name] for name in configs},
        "embedded": counted,
        "departures": sorted(departures or []),
        "example": dict(example) if example else None,
        "generation_args": dict(generation_args or {}),
        "generator_version": __version__,
    }


def summarize_dir(dataset_dir: str | os.PathLike) -> dict[str, Any]:
    """Rebuild the card summary from a written folder (parquet footers, statistics, manifest)."""
    from generator.common.reading import open_parquet
    from generator.dataset.layout import dataset_files, split_totals
    from generator.dataset.manifest import load_manifest
    from generator.dataset.stats import iter_parquet_rows, stats_from_dir

    root = Path(dataset_dir)
    files = dataset_files(root)
    if not files:
        raise UserError(f"no parquet shards found under {root} (expected <config>/<split>-NNNNN-of-NNNNN.parquet)")
    try:
        manifest = load_manifest(root)
    except (FileNotFoundError, ValueError):
        manifest = {}
    recorded = {item["config"]: list(item.get("splits") or []) for item in manifest.get("order") or []
                if isinstance(item, Mapping) and "config" in item}
    names = [c for c in recorded if c in files] + sorted(c for c in files if c not in recorded)
    default = manifest.get("default_config")
    if default not in files:
        default = "mmmt-if" if "mmmt-if" in files else names[0]
    config_info: dict[str, Any] = {}
    for name in names:
        split_order = recorded.get(name, [])
        splits = [s for s in split_order if s in files[name]] + sorted(s for s in files[name] if s not in split_order)
        config_info[name] = {"splits": {}}
        for split in splits:
            paths = sorted(files[name][split])
            rows, size = split_totals(paths)
            config_info[name]["splits"][split] = {
                "num_examples": rows, "num_bytes": size, "files": [p.relative_to(root).as_posix() for p in paths]}
    stats = stats_from_dir(root)
    example = None
    first_split = next(iter(config_info[default]["splits"]))
    first_file = root / config_info[default]["splits"][first_split]["files"][0]
    if open_parquet(first_file).metadata.num_rows:
        example = next(iter_parquet_rows(first_file, columns=("id", "config", "source", "system_prompt",
                                                              "image_meta", "turns"), batch_size=1))
    departures = manifest.get("departures")
    return make_summary(root, default_config=default, config_info=config_info, stats=stats, example=example,
                        generation_args=manifest.get("arguments"),
                        departures=[str(d) for d in departures] if isinstance(departures, list) else [])


#: Licence identifiers the Hub knows that images of this tool's sources carry (others make the card say ``other``).
HUB_LICENCES = frozenset({"apache-2.0", "mit", "cc0-1.0", "cc-by-2.0", "cc-by-3.0", "cc-by-4.0", "cc-by-sa-3.0",
                          "cc-by-sa-4.0", "cc-by-nc-4.0", "cc-by-nc-sa-4.0", "cc-by-nd-4.0", "cc-by-nc-nd-4.0",
                          "odc-by", "pddl", "odbl", "bsd-3-clause", "unlicense"})


def image_licence_counts(summary: Mapping[str, Any]) -> dict[str, int]:
    """Named images per licence over every config (an empty licence counts as ``unspecified``)."""
    licences: dict[str, int] = {}
    for stats in summary["stats"].values():
        for licence, n in (stats.get("image_licenses") or {}).items():
            key = str(licence or "unspecified")
            licences[key] = licences.get(key, 0) + n
    return licences


def dataset_licence(summary: Mapping[str, Any]) -> str:
    """The card's ``license:``: the images' one licence when they share a known one, else ``other``.

    The generated text is Apache-2.0 like the tool; images keep their own terms, so a dataset whose images are
    under several or unknown licences (a user's folder says "unspecified") is ``other``, with the table of the
    card's "Image licences" section, never a blanket Apache-2.0.
    """
    licences = {licence.lower() for licence in image_licence_counts(summary)}
    if not licences:
        return DEFAULT_LICENSE
    if len(licences) == 1 and next(iter(licences)) in HUB_LICENCES:
        return next(iter(licences))
    return "other"


def card_metadata(summary: Mapping[str, Any], *, license: str | None = None, pretty_name: str | None = None
                  ) -> dict[str, Any]:
    """The YAML metadata of the card: licence, tasks, language, size, ``configs`` and ``dataset_info``."""
    default = summary["default_config"]
    configs_yaml, info_yaml = [], []
    largest = 0
    for name, info in summary["configs"].items():
        entry: dict[str, Any] = {"config_name": name,
                                 "data_files": [{"split": split, "path": f"{name}/{split}-*"}
                                                for split in info["splits"]]}
        if name == default:
            entry["default"] = True
        configs_yaml.append(entry)
        splits = [{"name": split, "num_bytes": s["num_bytes"], "num_examples": s["num_examples"]}
                  for split, s in info["splits"].items()]
        info_yaml.append({
            "config_name": name,
            "features": copy.deepcopy(summary["features"]),  # no YAML anchors shared between configs
            "splits": splits,
            "download_size": sum(s["download_size"] for s in info["splits"].values()),
            "dataset_size": sum(s["num_bytes"] for s in info["splits"].values()),
        })
        largest = max(largest, sum(s["num_examples"] for s in info["splits"].values()))
    return {
        "license": license or dataset_licence(summary),
        "task_categories": list(TASK_CATEGORIES),
        "language": ["en"],
        "size_categories": [size_category(largest)],
        "pretty_name": pretty_name or "MMMT-IF",
        "tags": ["multimodal", "multi-turn", "instruction-following", "benchmark", "synthetic"],
        "configs": configs_yaml,
        "dataset_info": info_yaml,
    }


def _share(n: int, total: int) -> str:
    return f"{n / total:.1%}" if total else "-"


def _hist_table(histogram: Mapping[str, int]) -> list[dict[str, Any]]:
    """Bins of a histogram as table columns (label, count, share), the same bins ``mmmtif stats`` prints."""
    from generator.dataset.stats import bucket_histogram

    bins = bucket_histogram(histogram)
    total = sum(n for _, n in bins)
    return [{"label": label, "count": n, "share": _share(n, total)} for label, n in bins]


def _count_rows(counts: Mapping[str, int]) -> list[dict[str, Any]]:
    total = sum(counts.values())
    return [{"id": key, "count": n, "share": _share(n, total)} for key, n in counts.items()]


def config_descriptions(names: list[str], generation_args: Mapping[str, Any] | None,
                        describe: Callable[[str], str] | None = None) -> dict[str, str]:
    """A short description per config: the one recorded with the generation arguments, else ``describe(name)``.

    The recorded one comes first because it describes the config actually generated (a config file may define
    its own name and description). ``describe`` is supplied by the caller (the generator passes the presets'
    descriptions), so this layer never looks presets up itself; configs with neither get none.
    """
    recorded: dict[str, str] = {}
    variants = (generation_args or {}).get("variants")
    for item in variants if isinstance(variants, list) else []:
        if isinstance(item, Mapping) and item.get("name") and item.get("description"):
            recorded[str(item["name"])] = str(item["description"])
    found = {name: recorded.get(name) or (describe(name) if describe else "") for name in names}
    return {name: markdown_text(text) for name, text in found.items() if text and text.strip()}


def markdown_text(text: str) -> str:
    """Plain text made safe for a markdown paragraph (``<question>`` would otherwise vanish as an HTML tag)."""
    return " ".join(text.split()).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _instruction_label(item: Mapping[str, Any]) -> str:
    kwargs = item.get("kwargs") or "{}"
    return f"`{item['id']}` {kwargs}" if kwargs not in ("{}", "") else f"`{item['id']}`"


def _template_vars(summary: Mapping[str, Any], describe: Callable[[str], str] | None = None) -> dict[str, Any]:
    from generator.dataset.stats import EXTRA_HELP, extra_label

    default = summary["default_config"]
    descriptions = config_descriptions(list(summary["configs"]), summary.get("generation_args"), describe)
    configs = []
    embedded = summary.get("embedded") or {}
    for name, info in summary["configs"].items():
        stats = summary["stats"][name]
        counted = embedded.get(name) or {"images": stats["images"], "conversations_without_images": 0}
        configs.append({
            "name": name, "default": name == default, "stats": stats, "description": descriptions.get(name, ""),
            "embedded_images": counted["images"], "without_images": counted["conversations_without_images"],
            "splits_text": ", ".join(f"{split} {s['num_examples']}" for split, s in info["splits"].items()),
            "histograms": [
                {"title": "Active instructions per turn", "label": "active instructions", "unit": "turns",
                 "bins": _hist_table(stats["active_per_turn"]["histogram"])},
                {"title": "Instruction age (turns since each active instruction was given; 0 = its own turn)",
                 "label": "age in turns", "unit": "active instructions",
                 "bins": _hist_table(stats["instruction_age"]["histogram"])},
                {"title": "Instructions per conversation", "label": "instructions", "unit": "conversations",
                 "bins": _hist_table(stats["instructions_per_conversation"]["histogram"])},
                {"title": "Turn of the first instruction", "label": "turn", "unit": "conversations",
                 "bins": _hist_table(stats["first_instruction_turn"]["histogram"])},
            ],
            "groups": _count_rows(stats["instruction_groups"]),
            "instructions": _count_rows(stats["instruction_ids"]),
            "distractor_ids": _count_rows(stats["distractors"]["ids"]),
            "extra": [(f"{extra_label(key)} ({EXTRA_HELP[key]})" if key in EXTRA_HELP else extra_label(key), value)
                      for key, value in (stats.get("extra") or {}).items()],
        })
    example = None
    if summary.get("example"):
        row = summary["example"]
        turns = []
        for turn in row["turns"][:EXAMPLE_TURNS]:
            turns.append({
                "turn": turn["turn"], "prompt": turn["prompt"].replace("```", "'''"),
                "new": ", ".join(f"{e.get('action', 'add')} {_instruction_label(e)}" for e in turn["new_instructions"]),
                "active": ", ".join(_instruction_label(a) for a in turn["active_instructions"]),
            })
        example = {"id": row["id"], "config": row.get("config", default), "turns": turns,
                   "n_turns": len(row["turns"]), "n_images": len(row.get("image_meta") or [])}
    licences = image_licence_counts(summary)
    lows = [s["images_per_conversation"]["min"] for s in summary["stats"].values() if s["conversations"]]
    highs = [s["images_per_conversation"]["max"] for s in summary["stats"].values() if s["conversations"]]
    low, high = (min(lows), max(highs)) if lows else (0, 0)
    default_splits = list(summary["configs"][default]["splits"])
    args = summary.get("generation_args") or {}
    return {
        "configs": configs,
        "images_notice": _images_notice(configs, summary.get("departures") or [], args),
        "turn_gaps": "turn-gaps" in (summary.get("departures") or []),
        "example": example,
        "image_licenses": sorted(licences.items()),
        "licence_is_other": dataset_licence(summary) == "other",
        "images_range": f"{low}" if low == high else f"{low}-{high}",
        "default_config": default,
        "first_split": default_splits[0] if default_splits else "test",
        "plot_path": PLOT_PATH,
        "generation_args": json.dumps(args, indent=2, sort_keys=True, ensure_ascii=False) if args else "",
        "generator_version": summary.get("generator_version", ""),
    }


def _images_notice(configs: list[dict[str, Any]], departures: list[str], args: Mapping[str, Any]
                   ) -> dict[str, Any] | None:
    """What the card must say when conversations carry no images (``None`` when every one has its images).

    Such a folder can only exist under the ``unreleased-images`` departure (validation refuses it otherwise), so
    the card says plainly that the images were not released, how many conversations lack them, and how to attach
    one's own: for an import of the official release, the exact ``--images`` command.
    """
    lacking = [{"name": c["name"], "without": c["without_images"], "conversations": c["stats"]["conversations"],
                "embedded": c["embedded_images"]} for c in configs if c["without_images"]]
    if not lacking and "unreleased-images" not in departures:
        return None
    command = ""
    if args.get("command") == "import-official":
        csv_name = args.get("csv") or "mmmt_if_public_release.csv"
        command = f"mmmtif import-official {csv_name} --out ./mmmt-if-official --images ./mmdu-images"
    return {"configs": lacking, "command": command, "none_embedded": not any(c["embedded_images"] for c in configs)}


def render_card(dataset_dir_or_stats: str | os.PathLike | Mapping[str, Any], *, version: str | None = None,
                changelog: list[Mapping[str, str]] | None = None, extra: str | None = None,
                pretty_name: str | None = None, repo_id: str | None = None, license: str | None = None,
                describe: Callable[[str], str] | None = None) -> str:
    """Render README.md for a dataset folder or for a summary from :func:`make_summary` / :func:`summarize_dir`.

    ``changelog`` is a list of ``{"version", "changes"}`` (newest first); ``extra`` is markdown appended to the
    body; ``repo_id`` is used in the usage snippets (default ``mmmt-if``). For a folder, options not given are
    taken from those recorded in its manifest. ``describe`` gives a config's description when the folder does
    not record one (see :func:`config_descriptions`).
    """
    from generator.common.resources import resource_path

    if isinstance(dataset_dir_or_stats, Mapping):
        summary = dataset_dir_or_stats
    else:
        summary = summarize_dir(dataset_dir_or_stats)
        recorded = card_options_from_manifest(dataset_dir_or_stats)
        pretty_name = pretty_name if pretty_name is not None else recorded.get("pretty_name")
        extra = extra if extra is not None else recorded.get("extra")
        repo_id = repo_id if repo_id is not None else recorded.get("repo_id")
        license = license if license is not None else recorded.get("license")
    metadata = card_metadata(summary, license=license, pretty_name=pretty_name)
    text = _render_hub_card(
        metadata,
        resource_path("dataset_card", "README.md.j2"),
        pretty_name=metadata["pretty_name"],
        version=version,
        changelog=[{"version": e["version"], "date": e.get("date") or "", "changes": e.get("changes") or ""}
                   for e in (changelog or [])],
        extra=extra,
        repo_id=repo_id or "mmmt-if",
        **_template_vars(summary, describe),
    )
    return text if text.endswith("\n") else text + "\n"


#: The fields ``huggingface_hub.DatasetCardData`` declares, in the order it writes them before any other key.
_HUB_CARD_FIELDS = ("annotations_creators", "language_creators", "language", "license", "multilinguality",
                    "size_categories", "source_datasets", "task_categories", "task_ids", "paperswithcode_id",
                    "pretty_name", "config_names")
_YAML_BLOCK = re.compile(r"^(\s*---(?:\r\n|\r|\n))([\S\s]*?)((?:\r\n|\r|\n)---[ \t]*(\r\n|\n|$))")


def _card_yaml(data: Mapping[str, Any], line_break: str | None = None) -> str:
    import yaml

    return yaml.dump({k: v for k, v in data.items() if v is not None}, stream=None, allow_unicode=True,
                     sort_keys=False, line_break=line_break).strip()


def _line_ending(content: str) -> str:
    cr, lf, crlf = content.count("\r"), content.count("\n"), content.count("\r\n")
    if cr + lf == 0:
        return "\n"
    if crlf == cr == lf:
        return "\r\n"
    return "\r" if cr > lf else "\n"


def _render_hub_card(metadata: Mapping[str, Any], template: str | os.PathLike, **variables: Any) -> str:
    """The text ``str(DatasetCard.from_template(DatasetCardData(**metadata), template_path, **variables))`` gives
    with huggingface_hub, byte for byte, without importing the Hub client (a third of a small run's start-up).

    The metadata is written in the Hub's field order (its declared fields first, then the others as given, no
    ``None`` values), the template is rendered with it as ``card_data`` and its keys as variables (``variables``
    win), and the front matter of the result is read back and written again in the order it was read, as a
    ``RepoCard`` does.
    """
    import jinja2
    import yaml

    ordered = {key: metadata[key] for key in _HUB_CARD_FIELDS if key in metadata}
    ordered.update((key, value) for key, value in metadata.items() if key not in ordered)
    card_data = {key: value for key, value in copy.deepcopy(ordered).items() if value is not None}
    source = Path(template).read_text(encoding="utf-8")
    content = jinja2.Template(source).render(card_data=_card_yaml(card_data), **{**card_data, **variables})
    match = _YAML_BLOCK.search(content)
    if not match:
        return content
    data = yaml.safe_load(match.group(2)) or {}
    if not isinstance(data, dict):
        raise ValueError("repo card metadata block should be a dict")
    line_break = _line_ending(content)
    return f"---{line_break}{_card_yaml(data, line_break)}{line_break}---{line_break}{content[match.end():]}"


def card_options_from_manifest(dataset_dir: str | os.PathLike) -> dict[str, Any]:
    """The card options the writer recorded in ``manifest.json`` (empty when there is none)."""
    from generator.dataset.manifest import load_manifest

    try:
        recorded = load_manifest(dataset_dir).get("card") or {}
    except (FileNotFoundError, ValueError):
        return {}
    return {key: recorded[key] for key in CARD_OPTIONS if recorded.get(key) is not None}


def render_card_for_folder(dataset_dir: str | os.PathLike, *, version: str | None = None,
                           changelog: list[Mapping[str, Any]] | None = None,
                           describe: Callable[[str], str] | None = None, **options: Any) -> str:
    """Re-render a written folder's card with the options it was written with, plus a version and changelog.

    ``options`` (``pretty_name``, ``extra``, ``license``, ``repo_id``) override the recorded ones; for a release
    pass ``repo_id`` so that the usage snippets name the Hub repository.
    """
    from generator.dataset.notes import card_notes, with_notes

    merged = {**card_options_from_manifest(dataset_dir), **{k: v for k, v in options.items() if v is not None}}
    rendered = render_card(dataset_dir, version=version, changelog=changelog, describe=describe, **merged)
    try:  # the owner's notes survive every regeneration
        notes = card_notes((Path(dataset_dir) / "README.md").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        notes = ""
    return with_notes(rendered, notes)


#: Line colours of the card plot (matplotlib's tab10, so the figure looks as it did when drawn with it).
_COLOURS = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
            (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207))


def _ticks(high: float, most: int = 10) -> list[int]:
    """Integer ticks from 0 to at least ``high`` with a round step, at most ``most`` + 1 of them."""
    top = max(1, int(-(-high // 1)))
    step = next(s for s in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000) if top / s <= most)
    return list(range(0, top + step, step))[: most + 2]


def write_assets(dataset_dir: str | os.PathLike, summary: Mapping[str, Any]) -> Path:
    """Draw the mean number of active instructions per turn, one line per config, into ``assets/``.

    Drawn with Pillow, which generation has loaded anyway: matplotlib would add about a second of import to
    every run for one small line chart. PNGs from Pillow carry no timestamp, so the bytes depend only on the
    statistics and the Pillow version.
    """
    from PIL import Image, ImageDraw, ImageFont

    curves: dict[str, list[str]] = {}  # paired configs (mmmt-if, appended) share one curve and one label
    for name in summary["configs"]:
        key = json.dumps(summary["stats"][name]["mean_active_by_turn"], sort_keys=True)
        curves.setdefault(key, []).append(name)
    lines = []
    for key, names in curves.items():
        by_turn = json.loads(key)
        turns = sorted(int(t) for t in by_turn)
        lines.append((", ".join(names), [(t, float(by_turn[str(t)])) for t in turns]))
    points = [p for _, pts in lines for p in pts]
    x_ticks = _ticks(max((t for t, _ in points), default=1))
    x_ticks = [t for t in x_ticks if t >= 1] or [1]
    x_low, x_high = min(x_ticks[0], min((t for t, _ in points), default=1)), x_ticks[-1]
    y_ticks = _ticks(max((v for _, v in points), default=1.0))
    y_high = y_ticks[-1]

    width, height = 700, 360
    left, right, top, bottom = 62, width - 16, 34, height - 46
    image = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    small, normal = ImageFont.load_default(size=11), ImageFont.load_default(size=13)

    def px(turn: float, value: float) -> tuple[float, float]:
        span = (x_high - x_low) or 1
        return (left + (turn - x_low) / span * (right - left), bottom - value / (y_high or 1) * (bottom - top))

    for tick in y_ticks:
        _, y = px(x_low, tick)
        draw.line([(left, y), (right, y)], fill=(225, 225, 225))
        draw.text((left - 6, y), str(tick), fill=(0, 0, 0), font=small, anchor="rm")
    for tick in x_ticks:
        x, _ = px(tick, 0)
        draw.line([(x, top), (x, bottom)], fill=(225, 225, 225))
        draw.text((x, bottom + 6), str(tick), fill=(0, 0, 0), font=small, anchor="mt")
    draw.rectangle([left, top, right, bottom], outline=(0, 0, 0))
    for position, (_, pts) in enumerate(lines):
        colour = _COLOURS[position % len(_COLOURS)]
        xy = [px(t, v) for t, v in pts]
        if len(xy) > 1:
            draw.line(xy, fill=colour, width=2)
        for x, y in xy:
            draw.ellipse([x - 2.5, y - 2.5, x + 2.5, y + 2.5], fill=colour)
    draw.text(((left + right) / 2, 10), "Active instructions per turn", fill=(0, 0, 0), font=normal, anchor="mt")
    draw.text(((left + right) / 2, height - 8), "turn", fill=(0, 0, 0), font=normal, anchor="ms")
    label = Image.new("RGB", (bottom - top, 18), (255, 255, 255))
    ImageDraw.Draw(label).text(((bottom - top) / 2, 9), "active instructions (mean)", fill=(0, 0, 0), font=normal,
                               anchor="mm")
    image.paste(label.rotate(90, expand=True), (4, top))
    legend_y = top + 8
    for position, (name, _) in enumerate(lines):
        colour = _COLOURS[position % len(_COLOURS)]
        draw.line([(right - 190, legend_y + 6), (right - 170, legend_y + 6)], fill=colour, width=2)
        draw.text((right - 164, legend_y), name[:28], fill=(0, 0, 0), font=small)
        legend_y += 16

    target = Path(dataset_dir) / PLOT_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    return atomic.replace_with(target, lambda tmp: image.save(tmp, format="PNG"))


def check_card(dataset_dir: str | os.PathLike) -> list[str]:
    """Check README.md against the folder: configs vs shard files, dataset_info vs parquet schema and row counts.

    Returns the problems found (empty when the card is consistent); each names the file and the field.
    """
    import fnmatch

    import pyarrow.parquet as pq
    from huggingface_hub import DatasetCard

    from generator.dataset.features import features_from_yaml
    from generator.dataset.layout import dataset_files

    root = Path(dataset_dir)
    readme = root / "README.md"
    if not readme.is_file():
        return ["README.md: missing"]
    try:
        data = DatasetCard.load(readme).data.to_dict()
    except Exception as exc:  # malformed YAML in any form
        return [f"README.md: cannot parse the YAML header ({exc})"]
    problems: list[str] = []
    configs = data.get("configs")
    infos = data.get("dataset_info")
    if not isinstance(configs, list) or not configs:
        return ["README.md: field configs: missing or empty"]
    if isinstance(infos, dict):
        infos = [infos]
    if not isinstance(infos, list):
        return ["README.md: field dataset_info: missing"]
    info_by_name = {info.get("config_name", "default"): info for info in infos if isinstance(info, dict)}
    shards = {p.relative_to(root).as_posix() for p in root.rglob("*.parquet")}
    by_layout = dataset_files(root)
    covered: set[str] = set()
    problems.extend(_default_problems(root, configs))
    if data.get("license") is None:
        problems.append("README.md: field license: missing")
    for config in configs:
        name = config.get("config_name")
        where = f"README.md: configs[{name}]"
        data_files = config.get("data_files")
        if not isinstance(data_files, list) or not data_files:
            problems.append(f"{where}.data_files: missing or empty")
            continue
        matched_by_split: dict[str, list[str]] = {}
        for item in data_files:
            split, patterns = item.get("split"), item.get("path")
            patterns = patterns if isinstance(patterns, list) else [patterns]
            matched = sorted(s for s in shards if any(fnmatch.fnmatchcase(s, str(p)) for p in patterns))
            if not matched:
                problems.append(f"{where}.data_files[{split}]: no file matches {patterns}")
            matched_by_split[split] = matched
            covered.update(matched)
        info = info_by_name.get(name)
        if info is None:
            problems.append(f"README.md: dataset_info[{name}]: missing for config {name!r}")
            continue
        info_splits = {s.get("name"): s for s in info.get("splits") or []}
        if set(info_splits) != set(matched_by_split):
            problems.append(f"README.md: dataset_info[{name}].splits: {sorted(info_splits)} differ from configs "
                            f"data_files splits {sorted(matched_by_split)}")
        try:
            declared = features_from_yaml(info.get("features") or [])
        except Exception as exc:
            problems.append(f"README.md: dataset_info[{name}].features: cannot be parsed ({exc})")
            declared = None
        for split, files in matched_by_split.items():
            rows: int | None = 0
            for rel in files:
                try:
                    parquet = pq.ParquetFile(root / rel)
                except Exception as exc:  # unreadable file: reported, the rest still checked
                    problems.append(f"{rel}: not a readable parquet file ({exc})")
                    rows = None
                    break
                rows = (rows or 0) + parquet.metadata.num_rows
                if declared is not None and not parquet.schema_arrow.remove_metadata().equals(
                        declared.arrow_schema.remove_metadata()):
                    fields = "; ".join(schema_differences(parquet.schema_arrow, declared.arrow_schema))
                    problems.append(f"{rel}: parquet schema differs from README.md dataset_info[{name}].features"
                                    + (f": {fields}" if fields else ""))
            expected = (info_splits.get(split) or {}).get("num_examples")
            if rows is not None and split in info_splits and expected != rows:
                problems.append(f"README.md: dataset_info[{name}].splits[{split}].num_examples: {expected}, but the "
                                f"files hold {rows} rows")
        layout_splits = by_layout.get(name, {})
        for split, paths in layout_splits.items():
            counts = {int(p.name.split("-of-")[1][:5]) for p in paths}
            if counts != {len(paths)}:
                problems.append(f"{name}/{split}: shard names say {sorted(counts)} shards but {len(paths)} exist")
    for rel in sorted(shards - covered):
        problems.append(f"{rel}: not referenced by any README.md configs entry")
    return problems


def _default_problems(root: Path, configs: list[Any]) -> list[str]:
    """``load_dataset(folder)`` needs exactly one ``default: true`` config when there are several.

    The default must also be the manifest's ``default_config``, the config the writer meant to be loaded.
    """
    from generator.dataset.manifest import load_manifest

    defaults = [c.get("config_name") for c in configs if isinstance(c, Mapping) and c.get("default")]
    problems = []
    if len(defaults) > 1:
        problems.append(f"README.md: field configs: several default configs {defaults}")
    elif not defaults and len(configs) > 1:
        problems.append(f"README.md: field configs: {len(configs)} configs but none has default: true, so "
                        "load_dataset(folder) without a config name fails")
    try:
        recorded = load_manifest(root).get("default_config")
    except (FileNotFoundError, ValueError, AttributeError):
        recorded = None  # reported by the manifest check
    if len(defaults) == 1 and isinstance(recorded, str) and defaults[0] != recorded:
        problems.append(f"README.md: field configs: default config {defaults[0]!r} differs from manifest.json "
                        f"default_config {recorded!r}")
    return problems


def schema_differences(parquet_schema: Any, declared_schema: Any) -> list[str]:
    """Name each field where the parquet schema and the README features differ (dotted paths, lists looked into).

    ``load_dataset`` only says that the features do not match; the field name is what the user needs to fix it.
    """
    import pyarrow as pa

    def children(kind: Any) -> list[Any] | None:
        while pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
            kind = kind.value_type
        return list(kind) if pa.types.is_struct(kind) else None

    def compare(actual: list[Any], declared: list[Any], prefix: str) -> list[str]:
        found: list[str] = []
        ours, theirs = {f.name: f for f in actual}, {f.name: f for f in declared}
        for name in theirs:
            if name not in ours:
                found.append(f"field {prefix}{name}: in README dataset_info but not in parquet")
        for name in ours:
            if name not in theirs:
                found.append(f"field {prefix}{name}: in parquet but not in README")
        for name in (n for n in ours if n in theirs):
            left, right = ours[name].type, theirs[name].type
            if left.equals(right):
                continue
            inner_left, inner_right = children(left), children(right)
            nested = (compare(inner_left, inner_right, f"{prefix}{name}.")
                      if inner_left is not None and inner_right is not None else [])
            found.extend(nested or [f"field {prefix}{name}: type {left} in parquet, {right} in README"])
        common_ours = [n for n in ours if n in theirs]
        common_theirs = [n for n in theirs if n in ours]
        if not found and common_ours != common_theirs:
            found.append(f"fields {prefix.rstrip('.') or 'top level'}: order {common_ours} in parquet, "
                         f"{common_theirs} in README")
        return found

    return compare(list(parquet_schema), list(declared_schema), "")
