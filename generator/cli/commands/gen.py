"""``mmmtif gen`` (also ``mmmtif-gen``): generate a seeded MMMT-IF dataset folder that ``load_dataset`` reads.

Variants come from named presets (``--variant``) and/or a knob file (``--config``); a few common knobs can be
overridden for all of them from the command line. Every argument mistake is reported as one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from generator.cli import COMMANDS
from generator.common.errors import UserError


def _split_names(values: tuple[str, ...]) -> list[str]:
    names: list[str] = []
    for value in values:
        names.extend(part.strip() for part in value.split(",") if part.strip())
    return names


def resolve_configs(variants: tuple[str, ...], config_files: tuple[Path, ...], *, turns: int | None,
                    images_per_chat: str | None, instruction_turns: str | None) -> list[Any]:
    """The configs to generate: presets and file configs, with command-line overrides applied to each."""
    from generator.generation.config import KnobError, parse_int_list, parse_range
    from generator.generation.variants import DEFAULT_VARIANTS, get_variant, load_config_file

    names = _split_names(variants)
    configs = [get_variant(name) for name in names]
    for path in config_files:
        configs.extend(load_config_file(path))
    if not configs:
        configs = [get_variant(name) for name in DEFAULT_VARIANTS]
    changes: dict[str, Any] = {}
    if turns is not None:
        changes["turns"] = turns
    if images_per_chat is not None:
        changes["images_min"], changes["images_max"] = parse_range(images_per_chat, where="--images-per-chat")
    if instruction_turns is not None:
        changes["instruction_turns"] = parse_int_list(instruction_turns, where="--instruction-turns")
        changes["schedule"] = "fixed"
    if not changes:
        return configs
    # A knob the command line set is reported under its option, so the user knows which argument to fix.
    options = {"turns": "--turns", "images_min": "--images-per-chat", "images_max": "--images-per-chat",
               "images_per_chat": "--images-per-chat", "instruction_turns": "--instruction-turns"}
    resolved = []
    for cfg in configs:
        try:
            resolved.append(cfg.replace(**changes))
        except KnobError as exc:
            option = options.get(exc.knob)
            if option is None or (exc.knob != "images_per_chat" and exc.knob not in changes):
                raise
            raise UserError(f"{exc.message} (config {exc.config!r})", where=option) from None
    return resolved


@click.command("gen")
@click.option("--turns", type=click.IntRange(1, 1000), default=None,
              help="User turns per conversation (default: the variant's, 20 for mmmt-if).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every random choice.")
@click.option("--conversations", type=click.IntRange(1), default=None,
              help="Conversations in the 'test' split (default 100); use --splits for several splits.")
@click.option("--variant", "variants", multiple=True, metavar="NAME[,NAME...]",
              help="Preset to generate as a config of the folder; repeatable or comma-separated "
                   "(default: mmmt-if and appended; see `mmmtif variants`).")
@click.option("--config", "config_files", multiple=True, type=click.Path(path_type=Path, dir_okay=False),
              help="YAML/JSON file of knobs (one config, a list, or `variants:`); repeatable.")
@click.option("--source", default="mix", show_default=True,
              help="Image Q&A source (see `mmmtif sources`).")
@click.option("--revision", default=None,
              help="Hub revision (branch, tag or commit) of an mmdu:hub:OWNER/NAME source; recorded in the source.")
@click.option("--column-map", default=None, metavar="ROLE=COLUMN,...",
              help="Column mapping for an hf: source, e.g. image=img,question=q,answer=a.")
@click.option("--difficulty", type=click.IntRange(1, 3), default=1, show_default=True,
              help="Difficulty of the procedural images and questions (1-3).")
@click.option("--images-per-chat", default=None, metavar="MIN-MAX", help="Images per conversation (default 2-5).")
@click.option("--instruction-turns", default=None, metavar="T1,T2,...",
              help="Give instructions exactly at these turns instead of the random schedule.")
@click.option("--splits", "splits_text", default=None, metavar="NAME=N,...",
              help="Splits and their sizes, e.g. test=100,validation=20.")
@click.option("--exclude-from", "exclude_from", multiple=True, type=click.Path(path_type=Path, file_okay=False),
              help="Evaluation folder whose scenes, question instances and conversations the training splits "
                   "(names starting with 'train') must not share; repeatable.")
@click.option("--num-proc", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Worker processes (the output is identical for any value).")
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="local: this machine (--num-proc processes); ray: one Ray task per shard (needs mmmt-if[ray]). "
                   "The output is identical for both.")
@click.option("--ray-address", default=None, metavar="ADDR",
              help="Ray cluster to use with --engine ray (e.g. auto, ray://head:10001); default: a local instance "
                   "with --num-proc CPUs.")
@click.option("--rows-per-shard", type=click.IntRange(1), default=2000, show_default=True,
              help="Rows per parquet file: the unit of work of every engine (changes the file layout).")
@click.option("--out", "out_dir", default="mmmt-if", show_default=True,
              help="Output dataset folder, or an fsspec URL such as s3://bucket/prefix (needs mmmt-if[s3]).")
@click.option("--overwrite", is_flag=True, help="Replace a non-empty output folder.")
@click.option("--quiet", is_flag=True, help="No progress bar and no summary.")
def command(turns: int | None, seed: int, conversations: int | None, variants: tuple[str, ...],
            config_files: tuple[Path, ...], source: str, revision: str | None, column_map: str | None, difficulty: int,
            images_per_chat: str | None,
            instruction_turns: str | None, splits_text: str | None, exclude_from: tuple[Path, ...], num_proc: int,
            engine: str, ray_address: str | None, rows_per_shard: int, out_dir: str, overwrite: bool,
            quiet: bool) -> None:
    """Generate a seeded, validated MMMT-IF dataset folder (Hub layout, one config per variant)."""
    from generator.generation.config import parse_splits
    from generator.generation.pipeline import DEFAULT_SPLITS, GenerationRun, generate

    if seed < 0:
        raise UserError(f"seed must be >= 0, got {seed}", where="--seed")
    if conversations is not None and splits_text is not None:
        raise UserError("give either --conversations or --splits, not both", where="--conversations")
    if splits_text is not None:
        splits = parse_splits(splits_text)
    elif conversations is not None:
        splits = {"test": conversations}
    else:
        splits = dict(DEFAULT_SPLITS)
    configs = resolve_configs(variants, config_files, turns=turns, images_per_chat=images_per_chat,
                              instruction_turns=instruction_turns)
    if revision is not None:
        if not source.startswith("mmdu:"):
            raise UserError("a revision applies only to an mmdu:hub:OWNER/NAME source", where="--revision")
        from generator.generation.sources.mmdu import with_revision

        source = "mmdu:" + with_revision(source[len("mmdu:"):], revision)
    parsed_map = None
    if column_map is not None:
        if not source.startswith("hf:"):
            raise UserError("a column map applies only to hf: sources (e.g. --source hf:org/name)",
                            where="--column-map")
        from generator.generation.sources import parse_column_map

        parsed_map = parse_column_map(column_map)
    run = GenerationRun(seed=seed, splits=splits, source=source, column_map=parsed_map, difficulty=difficulty)
    if source.startswith("mmdu:"):
        from generator.generation.pipeline import prepare_source
        from generator.generation.sources.mmdu import cached_mmdu, report_malformed

        data = cached_mmdu(source[len("mmdu:"):])
        try:  # the records left out (malformed, or with an image that does not decode) are listed first
            prepare_source(run, configs)
        finally:
            if not quiet:
                report_malformed(data, lambda line: click.echo(line, err=True))
    from generator.dataset.storage import is_url

    if ray_address is not None and engine != "ray":
        raise UserError("--ray-address applies only with --engine ray", where="--ray-address")
    exclude = None
    if exclude_from:
        from generator.dataset.contamination import EvaluationIndex
        from generator.generation.pipeline import check_training_splits

        check_training_splits(splits, True)  # refuse a wrong call before reading the folders
        exclude = EvaluationIndex.from_folders(exclude_from)
    out: str | Path = out_dir if is_url(out_dir) else Path(out_dir)
    if not source.startswith("hf:"):  # an hf: source reads a datasets dataset, which works with pandas
        from generator.dataset.writer import settle_pyarrow_without_pandas

        settle_pyarrow_without_pandas()  # this process writes plain rows: no pandas import at the first conversion
    result = generate(out, configs, run, num_proc=num_proc, overwrite=overwrite, quiet=quiet, engine=engine,
                      ray_address=ray_address, rows_per_shard=rows_per_shard, exclude=exclude)
    if quiet:
        return
    total = sum(sum(c.values()) for c in result.counts.values())
    names = ", ".join(result.counts)
    click.echo(f"wrote {total} conversations to {out_dir} (configs: {names}; splits: "
               f"{', '.join(f'{k}={v}' for k, v in splits.items())}; seed {seed})")
    if is_url(out_dir):
        click.echo(f"load it with: datasets.load_dataset('parquet', data_files="
                   f"'{out_dir.rstrip('/')}/{result.default_config}/*.parquet')")
    else:
        click.echo(f"load it with: datasets.load_dataset({str(out_dir)!r}, {result.default_config!r})")


COMMANDS.register(command.name or "", command)
