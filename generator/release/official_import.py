"""Read the official MMMT-IF release (one CSV row per turn) and turn it into conversations in our row format.

The release is the only real-world evidence of what the benchmark's instructions look like, so the import is
strict: every instruction text in a prompt must be recognised by the catalogue (``parse_official``), and the
active set of each turn is derived from the prompts alone (an instruction is active from the turn that
introduces it to the end of the chat). The CSV's own bookkeeping columns (``all instructions``,
``instruction count``) are then cross-checked against that derivation, and every disagreement is reported as a
:class:`Discrepancy` instead of being trusted or silently fixed. Known defects of the release:

- conversation 93, turn 5: a model answer was pasted into ``all instructions``;
- conversations 32, 43 and 86 skip a turn number (we keep the official numbers, gaps included);
- the released "Programmatic Instruction Following" scores count a hidden, always-passed extra unit in the
  denominator of 575 rows (see :func:`infer_hidden_unit`).

The module is pure standard library at import time; the catalogue is imported when the CSV is parsed.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.common.errors import UserError
from generator.generation.sources.images import check_image_file

if TYPE_CHECKING:  # pragma: no cover
    from generator.core.instructions import Instruction

COL_ID = "conversation id"
COL_TURN = "turn count (which turn in this conversation)"
COL_PROMPT = "prompt"
COL_ALL = "all instructions"
COL_COUNT = "instruction count"
COL_TOPIC = "question topic"
COL_CAPABILITY = "LLM capability tested"
REQUIRED_COLUMNS = (COL_ID, COL_TURN, COL_PROMPT, COL_ALL, COL_COUNT)

MODELS = ("Gemini", "GPT-4o", "Sonnet")
PIF_COLUMN = "Programmatic Instruction Following {model}"

PREFIX = "Instruction:"
IMAGE_NAMES = tuple(f"Image{i}" for i in range(1, 6))
IMAGE_SOURCE = "MMDU (not released)"
IMAGE_LICENSE = (
    "not released: the official MMMT-IF release publishes no images; the chats were built on MMDU images, "
    "which users supply themselves under MMDU's terms"
)
CONFIG = "official"
SPLIT = "test"
SOURCE = "official-release"

# A place where an instruction wording may end: after a full stop (the 13 official wordings all end in ".").
_BOUNDARY = re.compile(r"[.!?)](?=\s|$)")
_MARKER = re.compile(r"Instruction:\s*")
_IMAGE_REF = re.compile(r"\bImage\s?([1-9])\b")
_FLOAT_TOLERANCE = 1e-6


def collapse(text: str) -> str:
    """Undo the release's 39-column hard wraps: every run of whitespace becomes one space."""
    return " ".join(text.split())


@dataclass(frozen=True)
class Discrepancy:
    """A place where the CSV's bookkeeping disagrees with what its prompts say."""

    conversation: str
    turn: int
    row: int  # 1-based data row of the CSV (the header is not counted)
    kind: str  # turn_gap | all_instructions | instruction_count | repeated_instruction | repeated_category
    message: str

    def __str__(self) -> str:
        return f"conversation {self.conversation} turn {self.turn} (row {self.row}): {self.kind}: {self.message}"


@dataclass(frozen=True)
class UnknownText:
    """An instruction text the catalogue does not recognise."""

    row: int
    column: str
    text: str

    def __str__(self) -> str:
        return f"row {self.row}, column '{self.column}': {self.text!r}"


@dataclass(frozen=True)
class OfficialActive:
    """One instruction active at a turn, with the wording it was given in and the turn that introduced it."""

    instruction: Instruction
    wording: str
    given_at: int


@dataclass
class OfficialTurn:
    """One CSV row: a user turn with its derived instruction state and the release's own numbers."""

    conversation: str
    turn: int
    row: int
    prompt: str  # collapsed, as the model saw it
    question: str  # the prompt without its "Instruction: ..." prefix
    new_wordings: list[str]  # instruction texts introduced here, without the "Instruction: " marker
    new_instructions: list[Instruction | None]  # parsed, None where the catalogue does not know the text
    active: list[OfficialActive]
    csv_all_instructions: str  # collapsed column text
    csv_instruction_count: int
    question_topic: str
    capability: str
    release_pif: dict[str, float | None]  # model -> released PIF of this turn
    hidden_unit: bool = False  # whether the released PIF counts the hidden always-passed unit here

    def release_pif_without_hidden(self) -> dict[str, float | None]:
        """The released PIF with the hidden always-passed unit taken out of numerator and denominator."""
        if not self.hidden_unit:
            return dict(self.release_pif)
        n = self.csv_instruction_count
        out: dict[str, float | None] = {}
        for model, value in self.release_pif.items():
            if value is None:
                out[model] = None
            elif n == 0:
                out[model] = 1.0
            else:
                followed = round(value * (n + 1)) - 1
                out[model] = followed / n
        return out


@dataclass
class OfficialChat:
    """One conversation of the release, turns in official order (gaps kept)."""

    id: str
    turns: list[OfficialTurn]


@dataclass
class OfficialRelease:
    """The parsed release with everything the import found wrong."""

    path: str
    chats: list[OfficialChat]
    columns: list[str]
    discrepancies: list[Discrepancy] = field(default_factory=list)
    unknown: list[UnknownText] = field(default_factory=list)

    @property
    def turns(self) -> list[OfficialTurn]:
        return [t for chat in self.chats for t in chat.turns]

    @property
    def models(self) -> list[str]:
        """The models whose per-turn PIF column the CSV carries."""
        return [m for m in MODELS if PIF_COLUMN.format(model=m) in self.columns]

    def instruction_texts(self) -> tuple[int, int]:
        """(recognised, total) instruction texts found in the prompts."""
        total = sum(len(t.new_wordings) for t in self.turns)
        unknown_prompts = sum(1 for u in self.unknown if u.column == COL_PROMPT)
        return total - unknown_prompts, total


# ---------------------------------------------------------------------------------------------------- parsing


def _where(path: str, row: int, line: int, column: str) -> str:
    return f"{path}: row {row} (line {line}), column '{column}'"


def _parse_int(value: str, path: str, row: int, line: int, column: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise UserError(f"expected an integer, got {value.strip()!r}", where=_where(path, row, line, column)) from None


def _parse_float(value: str, path: str, row: int, line: int, column: str) -> float | None:
    text = value.strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        raise UserError(f"expected a number, got {text!r}", where=_where(path, row, line, column)) from None
    if not 0.0 <= number <= 1.0:
        raise UserError(f"expected a PIF between 0 and 1, got {text!r}", where=_where(path, row, line, column))
    return number


def split_prompt(prompt: str) -> tuple[list[str], list[Instruction | None], str]:
    """Split a collapsed prompt into (instruction wordings, parsed instructions, question).

    The release puts at most one ``Instruction: <text>`` before the question; further prefixes are read the same
    way so that none is mistaken for question text. Each wording is found by trying every sentence end after the
    marker, shortest first, until the catalogue recognises the text; an unrecognised wording is cut at its first
    sentence end and comes back with ``None`` as its instruction so that the caller can report it.
    """
    from generator.authoring import parse_official

    wordings: list[str] = []
    parsed_list: list[Instruction | None] = []
    rest = prompt
    while rest.startswith(PREFIX):
        rest = rest[len(PREFIX):].lstrip()
        first_cut: int | None = None
        found = False
        for match in _BOUNDARY.finditer(rest):
            cut = match.end()
            if first_cut is None:
                first_cut = cut
            parsed = parse_official(rest[:cut])
            if parsed is not None:
                wordings.append(rest[:cut])
                parsed_list.append(parsed)
                rest = rest[cut:].strip()
                found = True
                break
        if found:
            continue
        cut = len(rest) if first_cut is None else first_cut
        wordings.append(rest[:cut])
        parsed_list.append(None)
        rest = rest[cut:].strip()
    return wordings, parsed_list, rest


def split_instruction_list(text: str) -> tuple[str, list[str]]:
    """Split an ``all instructions`` cell into (text before the first marker, wordings in order)."""
    parts = _MARKER.split(text)
    return parts[0].strip(), [p.strip() for p in parts[1:] if p.strip()]


def read_official(path: str | Path) -> OfficialRelease:
    """Parse the release CSV into chats; report unknown instruction texts and bookkeeping discrepancies.

    Malformed input (a missing column, a non-integer turn or count, a duplicate turn) raises a one-line
    :class:`UserError` naming the file, row and column; anything merely inconsistent becomes a discrepancy.
    """
    from generator.authoring import parse_official

    path = Path(path)
    label = str(path)
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise UserError(f"cannot read the CSV ({exc.strerror})", where=label) from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            raise UserError("the CSV is empty", where=label) from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise UserError(f"not a UTF-8 CSV file ({exc})", where=f"{label}: line 1") from None
        header = [h.strip() for h in header]
        for column in REQUIRED_COLUMNS:
            if column not in header:
                raise UserError(f"missing column '{column}'", where=f"{label}: header row")
        index = {name: i for i, name in enumerate(header)}
        pif_columns = {m: PIF_COLUMN.format(model=m) for m in MODELS if PIF_COLUMN.format(model=m) in index}

        turns: list[OfficialTurn] = []
        unknown: list[UnknownText] = []
        seen_unknown: set[str] = set()  # texts of the bookkeeping column are reported once, not on every row
        line = 2
        row = 0
        while True:
            start_line = line
            try:
                record = next(reader)
            except StopIteration:
                break
            except (csv.Error, UnicodeDecodeError) as exc:
                raise UserError(f"malformed CSV ({exc})", where=f"{label}: row {row + 1} (line {start_line})") from None
            line = reader.line_num + 1
            if not record or all(not cell.strip() for cell in record):
                continue
            row += 1
            if len(record) < len(header):
                missing = header[len(record)]
                raise UserError(f"the row has {len(record)} cells, the header {len(header)}",
                                where=_where(label, row, start_line, missing))

            def cell(column: str, record: list[str] = record) -> str:
                return record[index[column]]

            conversation = cell(COL_ID).strip()
            if not conversation:
                raise UserError("empty conversation id", where=_where(label, row, start_line, COL_ID))
            turn_number = _parse_int(cell(COL_TURN), label, row, start_line, COL_TURN)
            if turn_number < 1:
                raise UserError(f"turn numbers start at 1, got {turn_number}",
                                where=_where(label, row, start_line, COL_TURN))
            count = _parse_int(cell(COL_COUNT), label, row, start_line, COL_COUNT)
            if count < 0:
                raise UserError(f"negative instruction count {count}", where=_where(label, row, start_line, COL_COUNT))
            pifs = {m: _parse_float(cell(col), label, row, start_line, col) for m, col in pif_columns.items()}

            prompt = collapse(cell(COL_PROMPT))
            wordings, instructions, question = split_prompt(prompt)
            for wording, instruction in zip(wordings, instructions, strict=True):
                if instruction is None:
                    seen_unknown.add(wording)
                    unknown.append(UnknownText(row, COL_PROMPT, wording))
            all_text = collapse(cell(COL_ALL))
            _, listed = split_instruction_list(all_text)
            for text in listed:
                if text not in seen_unknown and parse_official(text) is None:
                    seen_unknown.add(text)
                    unknown.append(UnknownText(row, COL_ALL, text))
            turns.append(OfficialTurn(
                conversation=conversation, turn=turn_number, row=row, prompt=prompt, question=question,
                new_wordings=wordings, new_instructions=instructions, active=[], csv_all_instructions=all_text,
                csv_instruction_count=count,
                question_topic=collapse(cell(COL_TOPIC)) if COL_TOPIC in index else "",
                capability=collapse(cell(COL_CAPABILITY)) if COL_CAPABILITY in index else "",
                release_pif=pifs,
            ))

    if not turns:
        raise UserError("the CSV has a header but no rows", where=label)
    chats = _group_chats(turns, label)
    discrepancies: list[Discrepancy] = []
    for chat in chats:
        discrepancies.extend(_derive_active(chat))
        discrepancies.extend(_cross_check(chat))
        infer_hidden_unit(chat.turns)
    return OfficialRelease(path=label, chats=chats, columns=header, discrepancies=discrepancies, unknown=unknown)


def _group_chats(turns: list[OfficialTurn], label: str) -> list[OfficialChat]:
    """Group rows by conversation (first-appearance order), turns sorted by their official number."""
    by_id: dict[str, list[OfficialTurn]] = {}
    for turn in turns:
        by_id.setdefault(turn.conversation, []).append(turn)
    chats = []
    for conversation, rows in by_id.items():
        rows.sort(key=lambda t: t.turn)
        for a, b in itertools.pairwise(rows):
            if a.turn == b.turn:
                raise UserError(f"conversation {conversation} has turn {b.turn} twice (also row {a.row})",
                                where=f"{label}: row {b.row}, column '{COL_TURN}'")
        chats.append(OfficialChat(conversation, rows))
    return chats


def _derive_active(chat: OfficialChat) -> list[Discrepancy]:
    """Fill each turn's active set from the prompts: an instruction holds from its turn to the end of the chat."""
    found: list[Discrepancy] = []
    active: list[OfficialActive] = []
    expected = 1
    for turn in chat.turns:
        if turn.turn != expected:
            skipped = ", ".join(str(n) for n in range(expected, turn.turn))
            found.append(Discrepancy(chat.id, turn.turn, turn.row, "turn_gap",
                                     f"turn number(s) {skipped} missing; official numbers kept"))
        expected = turn.turn + 1
        for wording, new in zip(turn.new_wordings, turn.new_instructions, strict=True):
            if new is None:
                continue  # reported as unknown; it cannot be scored
            same = [a for a in active if a.instruction == new]
            # the six official categories are the six official instruction types
            rival = [a for a in active if a.instruction.id == new.id and a.instruction != new]
            if same:
                found.append(Discrepancy(chat.id, turn.turn, turn.row, "repeated_instruction",
                                         f"{new.id} was already given at turn {same[0].given_at}"))
                continue
            if rival:
                found.append(Discrepancy(
                    chat.id, turn.turn, turn.row, "repeated_category",
                    f"{_show(new)} joins {_show(rival[0].instruction)} (given at turn {rival[0].given_at}) "
                    "of the same category"))
            active = [*active, OfficialActive(new, wording, turn.turn)]
        turn.active = list(active)
    return found


def _cross_check(chat: OfficialChat) -> list[Discrepancy]:
    """Compare the derived active sets with the CSV's ``all instructions`` and ``instruction count`` columns."""
    from generator.authoring import parse_official

    found: list[Discrepancy] = []
    for turn in chat.turns:
        derived = [a.instruction for a in turn.active]
        before, listed = split_instruction_list(turn.csv_all_instructions)
        if before:
            snippet = before[:60]
            found.append(Discrepancy(chat.id, turn.turn, turn.row, "all_instructions",
                                     f"the column holds text that is not an instruction list ({snippet!r}...)"))
        else:
            parsed = [parse_official(text) for text in listed]
            if None not in parsed and parsed != derived:
                found.append(Discrepancy(
                    chat.id, turn.turn, turn.row, "all_instructions",
                    f"the column lists [{', '.join(_show(p) for p in parsed)}], "
                    f"the prompts give [{', '.join(_show(d) for d in derived)}]"))
        if turn.csv_instruction_count != len(derived):
            found.append(Discrepancy(chat.id, turn.turn, turn.row, "instruction_count",
                                     f"the column says {turn.csv_instruction_count}, "
                                     f"the prompts give {len(derived)} active instruction(s)"))
    return found


def _show(instruction: Instruction | None) -> str:
    if instruction is None:
        return "?"
    return f"{instruction.id} {instruction.kwargs_json}"


# ------------------------------------------------------------------------------------------- released PIF


def _fits(value: float, denominator: int, *, hidden: bool) -> bool:
    """Whether ``value`` can be k/denominator (with hidden: (k+1)/denominator, so never 0)."""
    if denominator == 0:
        return abs(value - 1.0) < _FLOAT_TOLERANCE
    k = round(value * denominator)
    if hidden and k < 1:
        return False
    return abs(k / denominator - value) < _FLOAT_TOLERANCE


def infer_hidden_unit(turns: Sequence[OfficialTurn]) -> None:
    """Mark the turns whose released PIF counts a hidden, always-passed extra unit.

    The release's per-turn PIF is sometimes (followed + 1) / (instructions + 1): an extra unit that no prompt
    mentions and that always passes. A turn proves it when some model's PIF fits that form but not
    followed / instructions (the two forms coincide only at 1.0). Once it appears in a chat it stays to the end
    (like an instruction, it accumulates), so every turn from the first proof on is marked.
    """
    started = False
    for turn in turns:
        n = turn.csv_instruction_count
        if not started:
            for value in turn.release_pif.values():
                if value is None:
                    continue
                if _fits(value, n + 1, hidden=True) and not _fits(value, n, hidden=False):
                    started = True
                    break
        turn.hidden_unit = started


def _mean(values: Iterable[float | None]) -> float | None:
    items = [v for v in values if v is not None]
    return sum(items) / len(items) if items else None


def release_pif_table(release: OfficialRelease, turns_of_interest: Sequence[int] = (1, 20)) -> list[dict[str, Any]]:
    """Corpus PIF of each released model: at the given turn numbers, overall, and over instructed turns only.

    One row per (model, variant), variant ``released`` (the CSV's numbers as published) or
    ``without_hidden_unit`` (the hidden always-passed unit removed). ``overall`` averages all turns (the release
    scores a turn with no instruction as 1); ``instructed`` averages only turns with at least one instruction.
    Turn numbers are the official ones (a chat that skips a number contributes nothing there).
    """
    table: list[dict[str, Any]] = []
    turns = release.turns
    for model in release.models:
        for variant in ("released", "without_hidden_unit"):
            def value(t: OfficialTurn, model: str = model, variant: str = variant) -> float | None:
                source = t.release_pif if variant == "released" else t.release_pif_without_hidden()
                return source.get(model)

            entry: dict[str, Any] = {"model": model, "variant": variant}
            for number in turns_of_interest:
                at = [t for t in turns if t.turn == number]
                entry[f"turn_{number}"] = _mean(value(t) for t in at)
                entry[f"n_turn_{number}"] = len(at)
            entry["overall"] = _mean(value(t) for t in turns)
            entry["n_overall"] = len(turns)
            instructed = [t for t in turns if t.csv_instruction_count > 0]
            entry["instructed"] = _mean(value(t) for t in instructed)
            entry["n_instructed"] = len(instructed)
            table.append(entry)
    return table


def format_pif_table(table: list[dict[str, Any]], turns_of_interest: Sequence[int] = (1, 20)) -> str:
    """The table of :func:`release_pif_table` as Markdown."""
    head = ["model", "variant", *(f"turn {n}" for n in turns_of_interest), "overall", "instructed turns"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for entry in table:
        cells = [entry["model"], entry["variant"].replace("_", " ")]
        cells += [_pct(entry[f"turn_{n}"]) for n in turns_of_interest]
        cells += [_pct(entry["overall"]), _pct(entry["instructed"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}"


# ------------------------------------------------------------------------------------------ our row format


def image_meta() -> list[dict[str, str]]:
    """Placeholders for Image1..Image5: named so questions resolve, marked as not released."""
    return [
        {
            "name": name,
            "source": IMAGE_SOURCE,
            "license": IMAGE_LICENSE,
            "attribution": "MMDU (Liu et al., 2024); image files were not part of the MMMT-IF release",
            "spec": json.dumps({"official_name": name, "released": False}, sort_keys=True, separators=(",", ":")),
        }
        for name in IMAGE_NAMES
    ]


def image_indices(question: str) -> list[int]:
    """0-based indices of the images a question names (``Image3`` -> 2), sorted, without repeats."""
    return sorted({int(m.group(1)) - 1 for m in _IMAGE_REF.finditer(question) if int(m.group(1)) <= len(IMAGE_NAMES)})


def _instruction_entry(active: OfficialActive) -> dict[str, Any]:
    return {"id": active.instruction.id, "kwargs": active.instruction.kwargs_json, "wording": active.wording}


def to_rows(release: OfficialRelease, *, extra_turn_fields: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Conversations of the release in our dataset-row format (config ``official``), official ids and turns kept.

    ``extra_turn_fields`` may name ``question_topic`` and ``capability`` when the row features carry them.
    """
    rows = []
    for chat in release.chats:
        turns = []
        for t in chat.turns:
            new = [{**_instruction_entry(a), "action": "add"} for a in t.active if a.given_at == t.turn]
            entry: dict[str, Any] = {
                "turn": t.turn,
                "question": t.question,
                "prompt": t.prompt,
                "new_instructions": new,
                "active_instructions": [{**_instruction_entry(a), "given_at": a.given_at} for a in t.active],
                "distractors": [],
                "reference_answer": "",
                "answer_type": "open",
                "image_indices": image_indices(t.question),
            }
            for name in extra_turn_fields:
                entry[name] = getattr(t, name)
            turns.append(entry)
        rows.append({
            "id": chat.id,
            "config": CONFIG,
            "source": SOURCE,
            "system_prompt": "",
            "images": [],
            "image_meta": image_meta(),
            "turns": turns,
        })
    return rows


def departures_of(rows: Iterable[dict[str, Any]]) -> list[str]:
    """The departures from the row contract (``generator.dataset.schema.DEPARTURES``) that ``rows`` actually need.

    ``unreleased-images`` when some conversation has no image bytes (the release has none; attached user images
    remove the need), ``turn-gaps`` when some conversation skips a turn number. Only what the rows need is
    declared, so a folder whose every chat got its images validates as strictly as a generated one.
    """
    found: set[str] = set()
    for row in rows:
        if not row["images"]:
            found.add("unreleased-images")
        if [t["turn"] for t in row["turns"]] != list(range(1, len(row["turns"]) + 1)):
            found.add("turn-gaps")
    return sorted(found)


def validate_rows(rows: Sequence[dict[str, Any]], allow: Iterable[str] | None = None) -> list[str]:
    """Validate the imported rows against the row contract with the release's departures; return those departures.

    ``allow`` defaults to :func:`departures_of`; everything else (instruction events and the active sets they
    imply, kwargs, image references, the schema) is checked as for any generated row. Errors name the official
    conversation id.
    """
    from generator.dataset.schema import validate_row

    departures = departures_of(rows) if allow is None else sorted(set(allow))
    for index, row in enumerate(rows):
        validate_row(row, f"{CONFIG}/{SPLIT} row {index} (conversation {row['id']})", config=CONFIG,
                     allow=departures)
    return departures


IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".gif")
_PLAIN_NAME = re.compile(r"[A-Za-z0-9._-]+")
_IMAGE_FILE = re.compile(r"^Image([1-9][0-9]*)$", re.IGNORECASE)


def attach_images(rows: list[dict[str, Any]], images_dir: str | Path) -> int:
    """Embed user-supplied images: ``<images_dir>/<conversation id>/Image<k>.<ext>`` for the chats that have them.

    The release names Image1..Image5 but ships no files. A chat with a folder gets its images embedded in order
    (Image1..ImageN with no gap, covering every ImageK its questions name) and ``image_meta`` describing those
    files; a chat without one keeps the placeholders. Returns the number of chats that received images.
    """
    import hashlib

    root = Path(images_dir)
    if not root.is_dir():
        raise UserError("no such folder", where=str(root))
    attached = 0
    for row in rows:
        conversation = row["id"]
        # a conversation id names a folder of --images, nothing else: no separators, no '..'
        if not _PLAIN_NAME.fullmatch(conversation) or conversation in (".", ".."):
            raise UserError(f"conversation id {conversation!r} cannot name an image folder (letters, digits, '.', "
                            "'_' and '-' only)", where="--images")
        folder = root / conversation
        if folder.is_symlink() and not folder.resolve().is_relative_to(root.resolve()):
            raise UserError(f"{conversation} leads outside the folder (a symbolic link)", where=str(root))
        if not folder.is_dir():
            continue
        found: dict[int, Path] = {}
        for path in sorted(folder.iterdir()):
            match = _IMAGE_FILE.match(path.stem)
            if not match or path.suffix.lower() not in IMAGE_EXTENSIONS or not path.is_file():
                continue
            if not path.resolve().is_relative_to(root.resolve()):
                raise UserError(f"{path.name} leads outside the folder (a symbolic link)", where=str(folder))
            k = int(match.group(1))
            if k in found:
                raise UserError(f"two files for Image{k}: {found[k].name} and {path.name}", where=str(folder))
            found[k] = path
        named = [int(m.group(1)) for t in row["turns"] for m in _IMAGE_REF.finditer(t["prompt"])]
        count = max([*found, *named], default=0)
        missing = [f"Image{k}" for k in range(1, count + 1) if k not in found]
        if missing:
            raise UserError(f"conversation {row['id']} needs {', '.join(missing)} (files named Image<k> with one of "
                            f"{', '.join(IMAGE_EXTENSIONS)})", where=str(folder))
        images, meta = [], []
        for k in range(1, count + 1):
            data = found[k].read_bytes()
            if not data:
                raise UserError("empty image file", where=str(found[k]))
            check_image_file(found[k], str(found[k]))  # an image in name only (a text file) is refused here
            images.append(data)
            meta.append({
                "name": f"Image{k}",
                "source": "MMDU (user-supplied)",
                "license": "as supplied by the user (MMDU's terms apply to MMDU images)",
                "attribution": "MMDU (Liu et al., 2024), supplied by the user",
                "spec": json.dumps({"file": found[k].name, "sha256": hashlib.sha256(data).hexdigest()},
                                   sort_keys=True, separators=(",", ":")),
            })
        row["images"], row["image_meta"] = images, meta
        attached += 1
    return attached


# ------------------------------------------------------------------------------------------ MMDU rebuild


@dataclass
class MMDURebuild:
    """What :func:`attach_mmdu` did: the decisions, the mapping file's text and the rows that got images."""

    matches: list[Any]  # generator.release.mmdu_match.Match, one per chat in release order
    mapping: str  # MAPPING_FILE's text
    attached: int


def official_questions(release: OfficialRelease) -> list[Any]:
    """Each chat's (turn number, question) pairs, the ``Instruction: ...`` prefixes already removed."""
    from generator.release.mmdu_match import OfficialQuestions

    return [OfficialQuestions(chat.id, tuple((t.turn, t.question) for t in chat.turns)) for chat in release.chats]


def attach_mmdu(rows: list[dict[str, Any]], release: OfficialRelease, data: Any, *,
                tick: Any = None) -> MMDURebuild:
    """Match every chat to its MMDU dialogue and embed that dialogue's images in marker order.

    ``data`` is an opened MMDU source (:func:`generator.generation.sources.mmdu.open_mmdu`). A matched row gets
    the images as MMDU stores them (each decoded once to check it) and an ``image_meta`` whose ``spec`` records
    the MMDU file, dialogue id, image path, SHA-256 and ``mmdu_turns``: the 0-based MMDU user turn matched to each
    official turn (null where none reaches the question threshold). An ambiguous or unmatched chat keeps the
    unreleased placeholders, its spec saying why; the caller declares the ``unreleased-images`` departure.
    """
    from generator.release.mmdu_match import MATCHED, mapping_csv, match_conversations

    dialogues = data.dialogues
    hashes: dict[int, tuple[str, ...]] = {}

    def images_of(position: int) -> tuple[str, ...]:
        if position not in hashes:
            hashes[position] = data.sha256(dialogues[position])
        return hashes[position]

    # images are decoded for the dialogues a decision rests on, before it is taken: one that does not decode is
    # left out (a malformed record, reported by the caller) and the conversation decided without it
    matches = match_conversations(official_questions(release), dialogues, images_of, tick=tick,
                                  usable=lambda position: data.usable(dialogues[position]))
    attached = 0
    for row, match in zip(rows, matches, strict=True):
        if match.status != MATCHED or match.best is None:
            for entry in row["image_meta"]:
                spec = json.loads(entry["spec"])
                spec["mmdu_match"] = match.status
                entry["spec"] = json.dumps(spec, sort_keys=True, separators=(",", ":"))
            continue
        dialogue = dialogues[match.best.position]
        turns = [index for index, _ in match.best.pairs]
        images, meta = [], []
        for k, path in enumerate(dialogue.images):
            raw, _format = data.image(dialogue, k)
            images.append({"bytes": raw, "path": None})
            meta.append({
                "name": f"Image{k + 1}",
                "source": "MMDU (laolao77/MMDU)",
                "license": "CC-BY-NC-4.0",
                "attribution": f"MMDU (Liu et al., 2024), {dialogue.file} dialogue {dialogue.id}",
                "spec": json.dumps({"mmdu_file": dialogue.file, "mmdu_id": dialogue.id, "mmdu_image": path,
                                    "mmdu_turns": turns, "sha256": hashlib.sha256(raw).hexdigest()},
                                   sort_keys=True, separators=(",", ":")),
            })
        row["images"], row["image_meta"] = images, meta
        attached += 1
    return MMDURebuild(matches=matches, mapping=mapping_csv(matches, dialogues), attached=attached)


def compare_with_release(release: OfficialRelease, details: Iterable[dict[str, Any]], label: str,
                         only: set[str] | None = None, turns_of_interest: Sequence[int] = (1, 20)
                         ) -> list[dict[str, Any]]:
    """Our model's PIF next to the released per-model PIF columns, on exactly the same official turns.

    ``details`` are the records of ``mmmtif score --details`` (sample 0 is used; a turn without instructions
    counts 1, as the release counts it); ``only`` restricts both sides to some conversations (for instance the
    ones rebuilt with MMDU images). Rows as :func:`release_pif_table` (``released`` and ``without_hidden_unit``
    for the released models; the hidden unit never applies to our scores).
    """
    ours: dict[tuple[str, int], float] = {}
    for record in details:
        if int(record.get("sample", 0)) != 0:
            continue
        pif = record.get("pif")
        ours[(str(record["id"]), int(record["turn"]))] = 1.0 if pif is None else float(pif)
    turns = [t for t in release.turns if (t.conversation, t.turn) in ours
             and (only is None or t.conversation in only)]

    def row(model: str, variant: str, value: Any) -> dict[str, Any]:
        entry: dict[str, Any] = {"model": model, "variant": variant}
        for number in turns_of_interest:
            at = [t for t in turns if t.turn == number]
            entry[f"turn_{number}"] = _mean(value(t) for t in at)
            entry[f"n_turn_{number}"] = len(at)
        entry["overall"] = _mean(value(t) for t in turns)
        entry["n_overall"] = len(turns)
        instructed = [t for t in turns if t.active]
        entry["instructed"] = _mean(value(t) for t in instructed)
        entry["n_instructed"] = len(instructed)
        return entry

    table = [row(label, "ours", lambda t: ours[(t.conversation, t.turn)])]
    for model in release.models:
        table.append(row(model, "released", lambda t, m=model: t.release_pif.get(m)))
        table.append(row(model, "without_hidden_unit", lambda t, m=model: t.release_pif_without_hidden().get(m)))
    return table
