"""Validation of conversation rows: the JSON schema plus the rules a schema cannot express.

The writer runs :func:`validate_row` on every row before it touches the disk, and ``mmmtif validate`` runs it again
on every row read back, so a defect is reported with the row and the field that carry it instead of surfacing later
as a wrong score. The schema (``schemas/conversation.schema.json``) fixes the shape; the semantic checks here fix the
meaning:

- turns are numbered 1..n in order;
- every ``kwargs`` is a JSON object;
- an active instruction was given at or before its turn;
- the active set of each turn is the previous one with that turn's ``new_instructions`` events applied
  (``add`` appends; ``replace`` removes the active entries with the same id, or failing that the same group,
  then appends; ``revoke`` removes the active entry with the same id and kwargs, or failing that the same id);
- ``Image<k>`` names in questions and prompts and ``image_indices`` (0-based) refer to images that exist, and
  ``image_meta`` names them Image1..ImageN in order.

Imported third-party data may declare :data:`DEPARTURES` from these rules (for instance a release that never
published its images); a declared departure relaxes exactly one rule and is recorded in the manifest. Without the
declaration the same rows are rejected, so a departure can never slip into a generated dataset unnoticed:

- ``unreleased-images``: ``images`` may be empty when every ``image_meta`` entry's ``spec`` says
  ``"released": false`` (the questions still name Image1..ImageN, and users can attach their own files);
- ``turn-gaps``: turn numbers must only increase (``given_at`` keeps the source's numbers).

Images themselves (bytes, PIL images, paths or ``{"bytes", "path"}`` dicts) are type-checked here and decoded
only by ``mmmtif validate``.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from generator.common.errors import ValidationError
from generator.common.resources import resource_path
from generator.common.schemacheck import compile_schema

_IMAGE_NAME = re.compile(r"\bImage(\d+)\b")
#: The same names without the leading word boundary: a pattern that starts with a literal is searched for that
#: literal, about eight times faster. Its matches include every match of ``_IMAGE_NAME`` (an ``Image`` cannot
#: overlap another), so when all its numbers are valid, all of ``_IMAGE_NAME``'s are.
_IMAGE_NAME_LOOSE = re.compile(r"Image(\d+)\b")

#: Declared departures from the row contract that a dataset may record (``card_context["departures"]`` when
#: writing; kept in the manifest, honoured by ``mmmtif validate``). Only imports of third-party data need them.
DEPARTURES: dict[str, str] = {
    "unreleased-images": "rows may carry no image bytes while image_meta still names Image1..ImageN, each "
                         "entry's spec saying \"released\": false (the source did not release its images)",
    "turn-gaps": "turn numbers increase but may skip values (the source skipped turns)",
}

#: What an ``image_meta`` spec must contain to stand for an image that was never released.
UNRELEASED_SPEC_KEY = "released"


@lru_cache(maxsize=1)
def conversation_schema() -> dict[str, Any]:
    """Return the parsed ``schemas/conversation.schema.json``."""
    with open(resource_path("schemas", "conversation.schema.json"), encoding="utf-8") as handle:
        return json.load(handle)


@lru_cache(maxsize=1)
def _validator() -> Any:
    import jsonschema

    schema = conversation_schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@lru_cache(maxsize=1)
def _fast_check() -> Any:
    """The compiled yes/no check of the conversation schema, or ``None`` when the schema needs jsonschema.

    jsonschema takes about 6 ms for a 20-turn row, more than generating it; the compiled function
    (:mod:`generator.common.schemacheck`) is many times faster and only says yes or no: jsonschema words a failure.
    """
    return compile_schema(conversation_schema(), "conversation schema")


#: The turn lists whose entries a row may share between turns (the generator gives an active instruction one entry
#: for all the turns it is active in): the schema check tests each distinct entry of such a list once.
_ENTRY_LISTS = ("new_instructions", "active_instructions", "distractors")


@lru_cache(maxsize=1)
def _split_check() -> tuple[Any, tuple[Any, ...]] | None:
    """The compiled check of the schema cut in two: the row without the entries of the :data:`_ENTRY_LISTS`, and
    one check per list for an entry; ``None`` when the schema does not have that shape or needs jsonschema.

    A row passes both exactly when it passes :func:`_fast_check` (the entries' schemas are what was cut out), but an
    entry object repeated in many turns is checked once: a 20-turn row holds about 100 active entries, 6 distinct.
    """
    import copy

    schema = copy.deepcopy(conversation_schema())
    try:
        properties = schema["$defs"]["turn"]["properties"]
        for name in _ENTRY_LISTS:
            del properties[name]["items"]
    except (KeyError, TypeError):
        return None
    rest = compile_schema(schema, "conversation schema without instruction entries")
    entries = tuple(_field_check("$defs", "turn", "properties", name, "items") for name in _ENTRY_LISTS)
    if rest is None or None in entries:
        return None
    return rest, entries


def _passes_split_check(row: Any, checks: tuple[Any, tuple[Any, ...]]) -> bool:
    rest, entry_checks = checks
    if not rest(row):
        return False
    seen: tuple[set[int], ...] = tuple(set() for _ in _ENTRY_LISTS)
    for turn in row["turns"]:
        for name, check, known in zip(_ENTRY_LISTS, entry_checks, seen, strict=True):
            for entry in turn[name]:
                if id(entry) not in known:
                    if not check(entry):
                        return False
                    known.add(id(entry))
    return True


def _format_path(parts: Sequence[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<row>"


def _describe(where: str | None, row: Any) -> str:
    if where:
        return where
    row_id = row.get("id") if isinstance(row, Mapping) else None
    return f"row id={row_id!r}" if row_id is not None else "row"


def _fail(where: str, field: str, message: str) -> None:
    raise ValidationError(message, where=f"{where}: field {field}")


def _schema_error(row: Any, where: str) -> None:
    """Raise for the most relevant schema violation, if any (jsonschema is imported only when the fast check
    refuses the row, or cannot be compiled)."""
    split = _split_check()
    if split is not None:
        if _passes_split_check(row, split):
            return
    else:
        fast = _fast_check()
        if fast is not None and fast(row):
            return
    from jsonschema.exceptions import best_match

    validator = _validator()
    errors = list(validator.iter_errors(row))
    if not errors:
        return
    error = best_match(errors)
    path = list(error.absolute_path)
    message = error.message
    if error.validator == "required" and isinstance(error.instance, Mapping):
        missing = [key for key in error.validator_value if key not in error.instance]
        if missing:
            path.append(missing[0])
            message = "missing required field"
    elif error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(str(key) for key in error.instance if key not in allowed)
        if extra:
            path.append(extra[0])
            message = "unexpected field (not part of the row contract)"
    _fail(where, _format_path(path), message)


def _check_image(value: Any, where: str, field: str) -> None:
    if isinstance(value, (bytes, bytearray)):
        if not value:
            _fail(where, field, "empty image bytes")
        return
    if isinstance(value, (str, os.PathLike)):
        if not os.path.isfile(value):
            _fail(where, field, f"image file {os.fspath(value)!r} does not exist")
        return
    if isinstance(value, Mapping):
        data, path = value.get("bytes"), value.get("path")
        if set(value) - {"bytes", "path"}:
            _fail(where, field, "an image dict holds only 'bytes' and 'path'")
        if data:
            if not isinstance(data, (bytes, bytearray)):
                _fail(where, field, "image 'bytes' must be bytes")
            return
        if isinstance(path, str) and os.path.isfile(path):
            return
        _fail(where, field, "image dict has neither bytes nor an existing path")
    if hasattr(value, "mode") and hasattr(value, "save") and hasattr(value, "size"):
        return  # a PIL image
    _fail(where, field, f"image must be bytes, a PIL image, a path or a {{bytes, path}} dict, not {type(value).__name__}")


@lru_cache(maxsize=4096)
def _kwargs_problem(text: str) -> str:
    """Why ``text`` is not a JSON object ("" when it is); cached because the same kwargs recur on every turn."""
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"not valid JSON ({exc.msg})"
    return "" if isinstance(parsed, dict) else "must be a JSON object"


@lru_cache(maxsize=4096)
def _kwargs_key(text: str) -> str:
    return json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _group(instruction_id: str) -> str:
    return instruction_id.split(":", 1)[0]


def _apply_events(previous: list[tuple[str, str, int, str]], events: list[Mapping[str, Any]], turn: int,
                  where: str, field: str) -> list[tuple[str, str, int, str]]:
    """Return the active set after ``events``, raising when an event refers to nothing active.

    Entries are ``(id, canonical kwargs, given_at, kwargs as written)``.
    """
    if not events:
        return previous
    active = list(previous)
    for index, event in enumerate(events):
        event_field = f"{field}.new_instructions[{index}]"
        key = (event["id"], _kwargs_key(event["kwargs"]))
        action = event["action"]
        if action == "revoke":
            matches = [i for i, item in enumerate(active) if item[:2] == key] or [
                i for i, item in enumerate(active) if item[0] == key[0]]
            if not matches:
                _fail(where, event_field, f"revokes {key[0]!r}, which is not active")
            del active[matches[0]]
            continue
        if action == "replace":
            same = [i for i, item in enumerate(active) if item[0] == key[0]] or [
                i for i, item in enumerate(active) if _group(item[0]) == _group(key[0])]
            if not same:
                _fail(where, event_field, f"replaces nothing: no active instruction with id or group of {key[0]!r}")
            active = [item for i, item in enumerate(active) if i not in same]
        if any(item[:2] == key for item in active):
            _fail(where, event_field, f"instruction {key[0]!r} with these kwargs is already active")
        active.append((key[0], key[1], turn, event["kwargs"]))
    return active


def _check_active(turn: Mapping[str, Any], active: list[tuple[str, str, int, str]], number: int, where: str,
                  field: str) -> None:
    """Compare the written active set with the one the events imply.

    The common case (entries written in order, kwargs as given by the events) is a plain list comparison; only a
    mismatch pays for canonical kwargs, multiset comparison and a precise message.
    """
    written = turn["active_instructions"]
    if [(a["id"], a["kwargs"], a["given_at"]) for a in written] == [(i, raw, g) for i, _, g, raw in active]:
        return
    for k, item in enumerate(written):
        problem = _kwargs_problem(item["kwargs"])
        if problem:
            _fail(where, f"{field}.active_instructions[{k}].kwargs", problem)
        if item["given_at"] > number:
            _fail(where, f"{field}.active_instructions[{k}].given_at",
                  f"given at turn {item['given_at']}, after the turn {number} it is active in")
    expected = Counter((i, key, g) for i, key, g, _ in active)
    actual = Counter((item["id"], _kwargs_key(item["kwargs"]), item["given_at"]) for item in written)
    if expected != actual:
        missing = sorted(expected - actual)
        extra = sorted(actual - expected)
        detail = []
        if missing:
            detail.append("missing " + ", ".join(f"{i} (given at {g})" for i, _, g in missing))
        if extra:
            detail.append("unexpected " + ", ".join(f"{i} (given at {g})" for i, _, g in extra))
        _fail(where, f"{field}.active_instructions",
              "does not follow from the new_instructions events: " + "; ".join(detail))


def is_unreleased_spec(spec: str) -> bool:
    """Whether an ``image_meta`` spec (a JSON string) declares an image that was never released."""
    try:
        parsed = json.loads(spec)
    except ValueError:
        return False
    return isinstance(parsed, dict) and parsed.get(UNRELEASED_SPEC_KEY) is False


def _check_unreleased(meta: Sequence[Mapping[str, Any]], where: str) -> None:
    """A row without image bytes under ``unreleased-images``: every named image must be declared unreleased.

    The departure covers images that exist in the source but were not published, not rows that merely lost
    their images, so each entry says so itself and a conversation naming no image at all is still refused.
    """
    if not meta:
        _fail(where, "images", "empty, and image_meta names no image either ('unreleased-images' covers "
                               "named images that were not released)")
    for index, entry in enumerate(meta):
        if not is_unreleased_spec(entry["spec"]):
            _fail(where, f"image_meta[{index}].spec",
                  f"images is empty but this spec does not declare the image unreleased "
                  f"(expected a JSON object with \"{UNRELEASED_SPEC_KEY}\": false)")


def _schema_view(row: Mapping[str, Any], allowed: frozenset[str]) -> Mapping[str, Any]:
    """The row as the JSON schema should see it.

    The schema describes a complete row (``images`` has at least one item). Under ``unreleased-images`` an empty
    ``images`` list stands for the images ``image_meta`` names, so the schema checks a view with one stand-in
    per named image (at least one); :func:`_check_unreleased` then checks that the names really are unreleased.
    """
    if "unreleased-images" in allowed and row.get("images") == [] and isinstance(row.get("image_meta"), list):
        return {**row, "images": [b"\0"] * max(1, len(row["image_meta"]))}
    return row


@lru_cache(maxsize=64)
def _image_numbers(n_images: int) -> frozenset[str]:
    """The numbers, as written, of the names ``Image1``..``Image<n_images>``."""
    return frozenset(str(k) for k in range(1, n_images + 1))


def _check_image_names(text: str, n_images: int, where: str, field: str) -> None:
    # Most texts name no image or only images that exist, written plainly: a substring test or a set test says
    # so; anything else (an unknown number, a leading zero, other digits) is decided by the loop below.
    if "Image" not in text or _image_numbers(n_images).issuperset(_IMAGE_NAME_LOOSE.findall(text)):
        return
    for match in _IMAGE_NAME.finditer(text):
        k = int(match.group(1))
        if not 1 <= k <= n_images:
            _fail(where, field, f"names Image{k} but the conversation has {n_images} image(s)")


def _check_semantics(row: Mapping[str, Any], where: str, allow: frozenset[str]) -> None:
    images = row["images"]
    meta = row["image_meta"]
    for index, image in enumerate(images):
        _check_image(image, where, f"images[{index}]")
    unreleased = not images and "unreleased-images" in allow
    n_images = len(meta) if unreleased else len(images)
    if unreleased:
        _check_unreleased(meta, where)
    if len(meta) != n_images:
        _fail(where, "image_meta", f"{len(meta)} entries for {n_images} images")
    for index, entry in enumerate(meta):
        if entry["name"] != f"Image{index + 1}":
            _fail(where, f"image_meta[{index}].name", f"expected 'Image{index + 1}', got {entry['name']!r}")

    gaps = "turn-gaps" in allow
    active: list[tuple[str, str, int, str]] = []
    previous = 0
    for index, turn in enumerate(row["turns"]):
        field = f"turns[{index}]"
        number = turn["turn"]
        if gaps:
            if number <= previous:
                _fail(where, f"{field}.turn", f"turn numbers must increase: {number} follows {previous}")
        elif number != index + 1:
            _fail(where, f"{field}.turn", f"turns must be numbered 1..n in order: expected {index + 1}, got {number}")
        previous = number
        for list_name in ("new_instructions", "distractors"):
            for k, item in enumerate(turn[list_name]):
                problem = _kwargs_problem(item["kwargs"])
                if problem:
                    _fail(where, f"{field}.{list_name}[{k}].kwargs", problem)
        active = _apply_events(active, turn["new_instructions"], number, where, field)
        _check_active(turn, active, number, where, field)
        for text_field in ("question", "prompt"):
            _check_image_names(turn[text_field], n_images, where, f"{field}.{text_field}")
        for k, image_index in enumerate(turn["image_indices"]):
            if image_index >= n_images:
                _fail(where, f"{field}.image_indices[{k}]",
                      f"index {image_index} out of range for {n_images} image(s) (indices are 0-based)")


def check_departures(allow: Iterable[str]) -> frozenset[str]:
    """Return ``allow`` as a set, refusing names that are not in :data:`DEPARTURES`."""
    names = frozenset(allow)
    unknown = sorted(names - set(DEPARTURES))
    if unknown:
        raise ValidationError(f"unknown departure(s) {', '.join(unknown)}; known: {', '.join(sorted(DEPARTURES))}",
                              where="departures")
    return names


def validate_row(row: Any, where: str | None = None, *, config: str | None = None,
                 allow: Iterable[str] = ()) -> None:
    """Check one row against the schema and the semantic rules; raise ``ValidationError`` naming row and field.

    ``where`` names the row in messages (e.g. ``"mmmt-if/test row 12"``); ``config``, when given, must equal the
    row's ``config`` field; ``allow`` names declared :data:`DEPARTURES` from the contract.
    """
    allowed = check_departures(allow) if allow else frozenset()
    label = _describe(where, row)
    if not isinstance(row, Mapping):
        raise ValidationError(f"a row must be a mapping, not {type(row).__name__}", where=label)
    _schema_error(_schema_view(row, allowed), label)
    if config is not None and row["config"] != config:
        _fail(label, "config", f"row says {row['config']!r} but is written to config {config!r}")
    _check_semantics(row, label, allowed)


@lru_cache(maxsize=8)
def _field_check(*path: str) -> Any:
    """The compiled yes/no check of the schema node at ``path`` (e.g. ``"properties", "config"``), or ``None``."""
    schema = conversation_schema()
    node: Any = schema
    for key in path:
        node = node[key]
    return compile_schema({"$defs": schema.get("$defs", {}), **node}, "_".join(("field", *path)))


#: The fields configs that only place instructions differently (``mmmt-if``, ``appended``, ``end-only``) may differ
#: in: the row's ``config`` and ``system_prompt``, and each turn's ``prompt``.
_PLACEMENT_FIELDS = frozenset({"config", "system_prompt", "turns"})


def _same(a: Any, b: Any) -> bool:
    """The same object, or an equal string or integer (ids and turn numbers are made afresh per row)."""
    return a is b or (type(a) is type(b) and type(a) in (str, int) and a == b)


def _shares_all_but_placement(row: Mapping[str, Any], base: Mapping[str, Any]) -> bool:
    if not isinstance(row, Mapping) or row.keys() != base.keys():
        return False
    if not all(_same(row[key], base[key]) for key in row if key not in _PLACEMENT_FIELDS):
        return False
    turns, base_turns = row["turns"], base["turns"]
    if not isinstance(turns, list) or len(turns) != len(base_turns):
        return False
    for turn, base_turn in zip(turns, base_turns, strict=True):
        if not isinstance(turn, Mapping) or turn.keys() != base_turn.keys():
            return False
        if not all(_same(turn[key], base_turn[key]) for key in turn if key != "prompt"):
            return False
    return True


def validate_sibling_row(row: Any, base: Mapping[str, Any], where: str | None = None, *,
                         config: str | None = None) -> None:
    """:func:`validate_row` for a row of the conversation of ``base``, a row that already passed it (no departures).

    When ``row`` holds the very values of ``base`` in every field but those placement changes (``config``,
    ``system_prompt``, each turn's ``prompt``), only those are checked: their schema rules, the config name and
    the image names the prompts use; the rest was checked with ``base``. Any other row is validated in full, and a
    row that fails is validated in full too, so the message is the one :func:`validate_row` gives.
    """
    checks = (_field_check("properties", "config"), _field_check("properties", "system_prompt"),
              _field_check("$defs", "turn", "properties", "prompt"))
    if None in checks or not _shares_all_but_placement(row, base):
        validate_row(row, where, config=config)
        return
    config_ok, system_ok, prompt_ok = checks
    if not (config_ok(row["config"]) and system_ok(row["system_prompt"])
            and all(prompt_ok(turn["prompt"]) for turn in row["turns"])):
        validate_row(row, where, config=config)
        return
    label = _describe(where, row)
    if config is not None and row["config"] != config:
        _fail(label, "config", f"row says {row['config']!r} but is written to config {config!r}")
    n_images = len(row["images"])
    for index, turn in enumerate(row["turns"]):
        _check_image_names(turn["prompt"], n_images, label, f"turns[{index}].prompt")


def row_problems(row: Any, where: str | None = None, *, config: str | None = None,
                 allow: Iterable[str] = ()) -> list[str]:
    """Return the validation problem of ``row`` as a list (empty when valid); for reports that go on after errors."""
    try:
        validate_row(row, where, config=config, allow=allow)
    except ValidationError as exc:
        return [str(exc)]
    return []
