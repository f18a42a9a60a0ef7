"""Statistics of a generated dataset, per config: what a user needs to judge a variant's difficulty.

The writer feeds every row to a :class:`StatsAccumulator` while streaming (so statistics cost no second pass), and
``mmmtif stats DIR`` recomputes them from the parquet files, reading only the text columns (images are counted
from ``image_meta``, never decoded). Both paths produce the same dictionary, which the dataset card renders.

Counts that the rows cannot show (for instance how many conflicting instruction pairs the planner rejected) can be
merged in from the generator through ``extra``.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from itertools import pairwise
from pathlib import Path
from typing import Any

from generator.dataset.layout import dataset_files

#: Columns ``stats_from_dir`` reads: everything except the image bytes.
TEXT_COLUMNS = ("id", "config", "source", "image_meta", "turns")


def _histogram(counter: Counter) -> dict[str, int]:
    return {str(key): counter[key] for key in sorted(counter)}


def _quantile(counter: Counter, q: float) -> int:
    """The nearest-rank ``q`` quantile of an integer-valued counter (an observed value, never interpolated)."""
    total = sum(counter.values())
    rank = max(1, math.ceil(q * total))
    seen = 0
    for value in sorted(counter):
        seen += counter[value]
        if seen >= rank:
            return value
    return max(counter)


def _summary(counter: Counter) -> dict[str, Any]:
    """Mean, median, 90th percentile, min, max and histogram of an integer-valued counter (zeros when empty)."""
    counter = Counter({value: n for value, n in counter.items() if n})
    total = sum(counter.values())
    if not total:
        return {"count": 0, "mean": 0.0, "median": 0, "p90": 0, "min": 0, "max": 0, "histogram": {}}
    mean = sum(value * n for value, n in counter.items()) / total
    return {"count": total, "mean": round(mean, 4), "median": _quantile(counter, 0.5), "p90": _quantile(counter, 0.9),
            "min": min(counter), "max": max(counter), "histogram": _histogram(counter)}


#: Bin widths tried, smallest first, when a histogram has more distinct values than a table can show.
_BIN_WIDTHS = (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000)


def bucket_histogram(histogram: Mapping[str, int], max_bins: int = 20) -> list[tuple[str, int]]:
    """A histogram ``{value: count}`` as at most ``max_bins`` ``(label, count)`` bins for tables.

    Values from the smallest to the largest observed are all listed (zeros included, so gaps show); when there
    are too many, they are grouped into bins of a round width aligned on multiples of it (``"10-19"``). The card
    and ``mmmtif stats`` both print these bins, so they show the same numbers.
    """
    counts = {int(key): int(n) for key, n in histogram.items() if int(n)}
    if not counts:
        return []
    low, high = min(counts), max(counts)
    width = next((w for w in _BIN_WIDTHS if high // w - low // w + 1 <= max_bins), None)
    if width is None:
        width = -(-(high + 1) // max_bins)
    bins: list[tuple[str, int]] = []
    for start in range(low // width * width, high + 1, width):
        end = start + width - 1
        label = str(start) if width == 1 else f"{start}-{end}"
        bins.append((label, sum(n for value, n in counts.items() if start <= value <= end)))
    return bins


def _group(instruction_id: str) -> str:
    return instruction_id.split(":", 1)[0]


class StatsAccumulator:
    """Collects per-config statistics from rows given one at a time (memory grows with distinct values only)."""

    def __init__(self) -> None:
        self.splits: Counter = Counter()
        self.conversations = 0
        self.turns_per_chat: Counter = Counter()
        self.images_per_chat: Counter = Counter()
        self.active_per_turn: Counter = Counter()
        self.active_sum_by_turn: dict[int, int] = defaultdict(int)
        self.turn_count_by_turn: dict[int, int] = defaultdict(int)
        self.age: Counter = Counter()
        self.instructions_per_chat: Counter = Counter()
        self.first_instruction_turn: Counter = Counter()
        self.chats_without_instructions = 0
        self.gaps: Counter = Counter()
        self.actions: Counter = Counter()
        self.ids: Counter = Counter()
        self.groups: Counter = Counter()
        self.distractor_ids: Counter = Counter()
        self.turns_with_distractors = 0
        self.answer_types: Counter = Counter()
        self.image_licenses: Counter = Counter()
        self.image_sources: Counter = Counter()
        self.sources: Counter = Counter()

    def add(self, row: Mapping[str, Any], split: str = "") -> None:
        """Account for one conversation row (Python data, as written or as read back)."""
        self.conversations += 1
        self.splits[split] += 1
        self.sources[row.get("source", "")] += 1
        meta = row.get("image_meta") or []
        self.images_per_chat[len(meta)] += 1
        for entry in meta:
            self.image_licenses[entry.get("license", "")] += 1
            self.image_sources[entry.get("source", "")] += 1
        turns = row["turns"]
        self.turns_per_chat[len(turns)] += 1
        insertion_turns: list[int] = []
        for turn in turns:
            number = int(turn["turn"])
            active = turn["active_instructions"]
            self.active_per_turn[len(active)] += 1
            self.active_sum_by_turn[number] += len(active)
            self.turn_count_by_turn[number] += 1
            for item in active:
                self.age[number - int(item["given_at"])] += 1
            added = False
            for event in turn["new_instructions"]:
                action = event.get("action", "add")
                self.actions[action] += 1
                if action != "revoke":
                    self.ids[event["id"]] += 1
                    self.groups[_group(event["id"])] += 1
                    added = True
            if added:
                insertion_turns.append(number)
            if turn["distractors"]:
                self.turns_with_distractors += 1
            for item in turn["distractors"]:
                self.distractor_ids[item["id"]] += 1
            self.answer_types[turn.get("answer_type", "")] += 1
        self.instructions_per_chat[sum(
            1 for turn in turns for event in turn["new_instructions"] if event.get("action", "add") != "revoke")] += 1
        if insertion_turns:
            self.first_instruction_turn[insertion_turns[0]] += 1
            for before, after in pairwise(insertion_turns):
                self.gaps[after - before] += 1
        else:
            self.chats_without_instructions += 1

    def merge(self, other: StatsAccumulator) -> None:
        """Add the counts of ``other`` (the rows of a later shard): the same as having added its rows here.

        Every field is a sum, so merging shard accumulators in shard order gives exactly the statistics of one
        pass (split names keep their first-seen order).
        """
        for name, value in vars(other).items():
            mine = getattr(self, name)
            if isinstance(value, dict):
                for key, count in value.items():
                    mine[key] = mine.get(key, 0) + count
            else:
                setattr(self, name, mine + value)

    def result(self, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Return the statistics as JSON-ready data (keys sorted where order carries no meaning)."""
        turns_total = sum(k * n for k, n in self.turns_per_chat.items())
        turns_without = self.active_per_turn.get(0, 0)
        data: dict[str, Any] = {
            "conversations": self.conversations,
            "turns": turns_total,
            "images": sum(k * n for k, n in self.images_per_chat.items()),
            "splits": {name: self.splits[name] for name in self.splits},
            "turns_per_conversation": _summary(self.turns_per_chat),
            "images_per_conversation": _summary(self.images_per_chat),
            "active_per_turn": _summary(self.active_per_turn),
            "mean_active_by_turn": {
                str(t): round(self.active_sum_by_turn[t] / self.turn_count_by_turn[t], 4)
                for t in sorted(self.turn_count_by_turn)},
            "turns_without_instructions": turns_without,
            "instruction_age": _summary(self.age),
            "instructions_per_conversation": _summary(self.instructions_per_chat),
            "first_instruction_turn": _summary(self.first_instruction_turn),
            "conversations_without_instructions": self.chats_without_instructions,
            "insertion_gap": _summary(self.gaps),
            "events": {action: self.actions.get(action, 0) for action in ("add", "replace", "revoke")},
            "instruction_ids": dict(sorted(self.ids.items())),
            "instruction_groups": dict(sorted(self.groups.items())),
            "distractors": {"total": sum(self.distractor_ids.values()),
                            "turns_with_distractors": self.turns_with_distractors,
                            "ids": dict(sorted(self.distractor_ids.items()))},
            "answer_types": dict(sorted(self.answer_types.items())),
            "image_licenses": dict(sorted(self.image_licenses.items())),
            "image_sources": dict(sorted(self.image_sources.items())),
            "sources": dict(sorted(self.sources.items())),
        }
        if extra:
            data["extra"] = {key: extra[key] for key in sorted(extra)}
        return data


def compute_stats(rows_by_split: Mapping[str, Iterable[Mapping[str, Any]]],
                  extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Statistics of one config from ``{split: rows}``."""
    acc = StatsAccumulator()
    for split, rows in rows_by_split.items():
        for row in rows:
            acc.add(row, split)
    return acc.result(extra)


def iter_parquet_rows(path: Path, columns: Iterable[str] = TEXT_COLUMNS, batch_size: int = 256):
    """Yield rows of a parquet file as dicts, reading ``columns`` only, one batch at a time.

    A truncated, zeroed or foreign file is one line naming it (when opened or when a damaged page is read).
    """
    from generator.common.reading import loading_errors, open_parquet

    parquet = open_parquet(path)
    try:
        names = set(parquet.schema_arrow.names)
        wanted = [c for c in columns if c in names]
        with loading_errors(str(path)):
            for batch in parquet.iter_batches(batch_size=batch_size, columns=wanted):
                yield from batch.to_pylist()
    finally:
        parquet.close()


def stats_from_dir(dataset_dir: str | Path, *, quiet: bool = True) -> dict[str, dict[str, Any]]:
    """Recompute ``{config: statistics}`` from a dataset folder's parquet files.

    Values recorded by the generator that the rows cannot show (``extra``) are taken from ``manifest.json``.
    """
    from generator.common.progress import progress

    dataset_dir = Path(dataset_dir)
    manifest_extra: dict[str, Any] = {}
    order: dict[str, list[str]] = {}
    manifest_path = dataset_dir / "manifest.json"
    if manifest_path.is_file():
        from generator.common.errors import UserError
        from generator.common.reading import load_json_file

        try:
            manifest = load_json_file(manifest_path, what="manifest")
        except UserError:
            manifest = {}
        if not isinstance(manifest, dict):
            manifest = {}
        for config, info in (manifest.get("configs") or {}).items():
            if isinstance(info, dict) and info.get("extra_stats"):
                manifest_extra[config] = info["extra_stats"]
        for item in manifest.get("order") or []:
            if isinstance(item, dict) and "config" in item:
                order[item["config"]] = list(item.get("splits") or [])
    result: dict[str, dict[str, Any]] = {}
    files = dataset_files(dataset_dir)
    configs = [c for c in order if c in files] + sorted(c for c in files if c not in order)
    total = None
    if not quiet:
        from generator.common.reading import open_parquet

        total = sum(open_parquet(p).metadata.num_rows for splits in files.values() for ps in splits.values()
                    for p in ps)
    bar = progress(total=total, desc="stats", unit="conv", quiet=quiet)
    try:
        for config in configs:
            acc = StatsAccumulator()
            known = order.get(config, [])
            splits = [s for s in known if s in files[config]] + sorted(s for s in files[config] if s not in known)
            for split in splits:
                paths = files[config][split]
                for path in paths:
                    for row in iter_parquet_rows(path):
                        acc.add(row, split)
                        bar.update(1)
            result[config] = acc.result(manifest_extra.get(config))
    finally:
        bar.close()
    return result


def _bins_text(histogram: Mapping[str, int]) -> str:
    return ", ".join(f"{label}: {n}" for label, n in bucket_histogram(histogram)) or "none"


def _counts_text(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{key} {n}" for key, n in counts.items()) or "none"


#: Labels of the generator-recorded counts (``extra``) that need more words than their key.
EXTRA_LABELS: dict[str, str] = {
    "conflicts_avoided": "conflicts avoided",
}


#: What the generator-recorded counts mean, for readers of the card.
EXTRA_HELP: dict[str, str] = {
    "conflicts_avoided": "instructions drawn but rejected because they conflict with an active one",
}


def extra_label(key: str) -> str:
    """The printed name of an ``extra`` count (shared by ``mmmtif stats`` and the card)."""
    return EXTRA_LABELS.get(key, key.replace("_", " "))


def format_stats(stats: Mapping[str, Mapping[str, Any]]) -> str:
    """Render ``{config: statistics}`` as plain text for the terminal (the same numbers and bins as the card)."""
    lines: list[str] = []
    for config, data in stats.items():
        splits = ", ".join(f"{name}={n}" for name, n in data["splits"].items())
        lines.append(f"[{config}] {data['conversations']} conversations ({splits}), {data['turns']} turns, "
                     f"{data['images']} images")
        active = data["active_per_turn"]
        lines.append(f"  active instructions per turn: mean {active['mean']}, median {active['median']}, "
                     f"max {active['max']}; turns without any instruction {data['turns_without_instructions']}")
        lines.append(f"    histogram (active: turns): {_bins_text(active['histogram'])}")
        age = data["instruction_age"]
        lines.append(f"  instruction age (turns since given): mean {age['mean']}, median {age['median']}, "
                     f"p90 {age['p90']}, max {age['max']}")
        lines.append(f"    histogram (age: active instructions): {_bins_text(age['histogram'])}")
        per_chat = data["instructions_per_conversation"]
        lines.append(f"  instructions per conversation: mean {per_chat['mean']}, max {per_chat['max']}")
        lines.append(f"    histogram (instructions: conversations): {_bins_text(per_chat['histogram'])}")
        first = data["first_instruction_turn"]
        lines.append(f"  first instruction turn: mean {first['mean']}, "
                     f"conversations without instructions {data['conversations_without_instructions']}")
        lines.append(f"    histogram (turn: conversations): {_bins_text(first['histogram'])}")
        lines.append(f"  turns between insertions: mean {data['insertion_gap']['mean']}, "
                     f"max {data['insertion_gap']['max']}")
        events = data["events"]
        lines.append(f"  events: add {events['add']}, replace {events['replace']}, revoke {events['revoke']}")
        distractors = data["distractors"]
        lines.append(f"  distractors: {distractors['total']} in {distractors['turns_with_distractors']} turns"
                     + (f" ({_counts_text(distractors['ids'])})" if distractors["ids"] else ""))
        if data["instruction_groups"]:
            lines.append(f"  instruction groups: {_counts_text(data['instruction_groups'])}")
        if data["instruction_ids"]:
            lines.append(f"  instructions: {_counts_text(data['instruction_ids'])}")
        for key, value in (data.get("extra") or {}).items():
            lines.append(f"  {extra_label(key)}: {value}")
    return "\n".join(lines)
