"""Named presets: each variant of the benchmark is a documented set of knob values.

``mmmt-if`` reproduces the official release's policy; ``appended``, ``end-only`` and ``system`` keep its
conversations and only move the instructions (the paper's ablation and its controls); the others make the task
harder along one axis each. ``docs/variants.md`` holds the same table for readers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from generator.common.errors import UserError
from generator.generation.config import GenConfig

_PRESETS: tuple[GenConfig, ...] = (
    GenConfig(
        name="mmmt-if",
        description="The official policy: 13 official wordings, at most one per category, at most one new "
                    "instruction per turn as 'Instruction: <text> <question>', official insertion hazard, cap 6.",
    ),
    GenConfig(
        name="appended",
        description="The paper's ablation: the mmmt-if conversations with every active instruction repeated at "
                    "the end of each user message.",
        reminder_every=1,
    ),
    GenConfig(
        name="end-only",
        description="Control for the ablation: the mmmt-if conversations with each new instruction placed after "
                    "the question instead of before it, and never repeated.",
        placement="end-only",
    ),
    GenConfig(
        name="system",
        description="The instructions of each mmmt-if conversation stated once in a system message, in force "
                    "from the first turn.",
        placement="system",
    ),
    GenConfig(
        name="hard",
        description="The official six categories plus the extended catalogue, up to 12 active instructions, 40 "
                    "turns, front-loaded with up to three new instructions per turn, paraphrased wordings.",
        turns=40,
        catalogue="all",
        schedule="front-loaded",
        max_active=12,
        instructions_per_turn=3,
        one_per_type=False,
        wording_style="paraphrased",
    ),
    GenConfig(
        name="updates",
        description="Later instructions replace or revoke earlier ones ('from now on ... instead', 'you no longer "
                    "need to ...'); the active set changes accordingly.",
        update_rate=0.25,
        revoke_share=0.5,
    ),
    GenConfig(
        name="distractors",
        description="The mmmt-if conversations plus instruction-like text that must not be obeyed (quoted or "
                    "addressed to someone else); each distractor conflicts with an active instruction.",
        distractor_rate=0.5,
    ),
    GenConfig(
        name="long",
        description="The official policy over 100 turns: the same instructions must be retrieved across a much "
                    "longer context.",
        turns=100,
    ),
    GenConfig(
        name="grounded",
        description="The official policy with image-grounded instructions mixed in: rules such as 'mention the "
                    "largest value of a chart' or 'write the colours of the images in capitals', whose parameters "
                    "are facts of the chat's images, checked by code; the 13 official wordings stay available.",
        catalogue="grounded",
    ),
)

_BY_NAME = {preset.name: preset for preset in _PRESETS}
DEFAULT_VARIANTS: tuple[str, ...] = ("mmmt-if", "appended")


def list_variants() -> list[GenConfig]:
    """All presets in documentation order."""
    return list(_PRESETS)


def variant_names() -> list[str]:
    return [preset.name for preset in _PRESETS]


def get_variant(name: str, *, where: str = "--variant") -> GenConfig:
    """Return the preset called ``name`` or raise a :class:`UserError` listing the known ones.

    ``where`` names the place the name came from (an option such as ``--show``, or ``<file>: base``), so the
    one-line error points at what the user has to fix.
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UserError(f"unknown variant {name!r}; known variants: {', '.join(variant_names())}",
                        where=where) from None


CATALOGUE_SUMMARIES: dict[str, str] = {
    "official": "the official six categories (the 13 release wordings)",
    "extended": "the extended catalogue only (none of the official six categories)",
    "all": "the official six categories (the 13 release wordings) plus the extended catalogue",
}


def draws_from(config: GenConfig) -> str:
    """Which instruction catalogue a preset draws from, in words (``mmmtif variants`` and docs/variants.md)."""
    return CATALOGUE_SUMMARIES.get(config.catalogue, config.catalogue)


def changed_knobs(config: GenConfig) -> dict[str, object]:
    """The knobs in which ``config`` differs from the default (official) policy, for tables and cards."""
    default = GenConfig().to_dict()
    return {k: v for k, v in config.to_dict().items()
            if k not in ("name", "description") and default[k] != v}


__all__ = ["CATALOGUE_SUMMARIES", "DEFAULT_VARIANTS", "changed_knobs", "draws_from", "get_variant", "list_variants", "variant_names"]


def preset_description(name: str) -> str:
    """The description of the preset called ``name``; empty for names that are not presets (imports, custom)."""
    try:
        return str(get_variant(name).description or "")
    except UserError:
        return ""


def load_config_file(path: str | Path) -> list[GenConfig]:
    """Read one config, or several under ``variants:``, from a YAML or JSON file.

    Accepted shapes: a mapping of knobs (optionally with ``name`` and ``base``), a list of such mappings, or a
    mapping with a ``variants`` list. YAML is a superset of JSON, so one parser reads both.
    """
    from generator.common.reading import load_yaml_file

    path = Path(path)
    where = str(path)
    data = load_yaml_file(path, what="config file")
    if isinstance(data, Mapping) and "variants" in data:
        extra = set(data) - {"variants"}
        if extra:
            raise UserError(f"unexpected top-level key(s) next to 'variants': {', '.join(sorted(extra))}",
                            where=where)
        data = data["variants"]
    items: Iterable[Any] = data if isinstance(data, list) else [data]
    configs = [GenConfig.from_dict(item, where=f"{where}: variant {i + 1}", base_lookup=get_variant) for i, item in enumerate(items)]
    if not configs:
        raise UserError("the config file defines no variant", where=where)
    return configs
