"""The one place where user files are read and parsed: every bad input becomes one :class:`UserError` line.

Commands never call ``json.loads``, ``yaml.safe_load`` or ``pq.ParquetFile`` on user data directly; they call the
readers here, which name the file (and the line) and refuse what the libraries would accept silently or turn into a
traceback:

- bytes that are not UTF-8 (strict decoding, the byte offset named);
- JSON that repeats a key, uses ``NaN``/``Infinity``, nests deeper than :data:`MAX_DEPTH` (100,000 brackets used to
  raise ``RecursionError``) or holds a lone surrogate such as ``"\\ud800"`` (it cannot be written back as UTF-8);
- YAML with a duplicate key, a non-plain tag (``!!python/...``) or a value type the caller did not expect;
- parquet files that are truncated, zeroed or not parquet at all.

Standard library only at module level, because the released ``scoring.py`` embeds this module; ``yaml`` and
``pyarrow`` are imported inside the functions that need them.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from generator.common.errors import UserError, ValidationError

#: Deepest nesting of arrays/objects accepted in any JSON document (real inputs use fewer than ten levels).
MAX_DEPTH = 64
# A lone surrogate can only enter a decoded string through a \uD800-\uDFFF escape: strict UTF-8 rejects the bytes.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _strerror(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def read_bytes(path: str | os.PathLike[str], *, what: str = "file") -> bytes:
    """The bytes of ``path``; a missing or unreadable file is one line naming it."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise UserError(f"cannot read the {what}: no such file", where=os.fspath(path)) from None
    except IsADirectoryError:
        raise UserError(f"{what} is a folder, expected a file", where=os.fspath(path)) from None
    except OSError as exc:
        raise UserError(f"cannot read the {what}: {_strerror(exc)}", where=os.fspath(path)) from None


def decode_utf8(data: bytes, where: str) -> str:
    """Strict UTF-8 (a leading byte-order mark is dropped); invalid bytes are one line naming their offset."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"not valid UTF-8 (byte {exc.start}: {data[exc.start:exc.start + 1]!r})",
                        where=where) from None


def read_text(path: str | os.PathLike[str], *, what: str = "file") -> str:
    """The text of a UTF-8 file, strictly decoded."""
    return decode_utf8(read_bytes(path, what=what), os.fspath(path))


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    record = dict(pairs)
    if len(record) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"key {key!r} appears twice")
            seen.add(key)
    return record


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def check_value(value: Any, where: str, *, max_depth: int = MAX_DEPTH, surrogates: bool = True) -> None:
    """Refuse nesting deeper than ``max_depth`` and strings holding lone surrogates (iteratively: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = [*item.keys(), *item.values()]
        elif isinstance(item, list):
            children = item
        else:
            if surrogates and isinstance(item, str):
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError as exc:
                    raise ValidationError(f"a string holds a lone surrogate (\\u{ord(item[exc.start]):04x}), which is not "
                                    "text", where=where) from None
            continue
        if depth >= max_depth:
            raise ValidationError(f"JSON nested deeper than {max_depth} levels", where=where)
        stack.extend((child, depth + 1) for child in children)


def loads_json(text: str, where: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse one JSON document: no repeated keys, no NaN/Infinity, bounded depth, no lone surrogates."""
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except RecursionError:
        raise ValidationError(f"JSON nested deeper than {max_depth} levels", where=where) from None
    except ValueError as exc:  # JSONDecodeError, a repeated key, NaN
        message = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise ValidationError(f"malformed JSON ({message})", where=where) from None
    if isinstance(value, dict | list):
        surrogates = bool(_SURROGATE_ESCAPE.search(text))
        # Fewer opening brackets than the bound (counting those inside strings too) cannot nest deeper than it:
        # then only a surrogate escape needs the walk.
        if surrogates or text.count("[") + text.count("{") > max_depth:
            check_value(value, where, max_depth=max_depth, surrogates=surrogates)
    return value


def load_json_file(path: str | os.PathLike[str], *, what: str = "JSON file") -> Any:
    """A whole JSON file read through :func:`loads_json`."""
    return loads_json(read_text(path, what=what), os.fspath(path))


def iter_json_lines(path: str | os.PathLike[str], *, what: str = "JSON Lines file") -> Iterator[tuple[str, Any]]:
    """Yield ``(where, value)`` for each non-blank line of a JSON Lines file; ``where`` is ``path:line N``."""
    name = os.fspath(path)
    try:
        handle = open(path, "rb")  # noqa: SIM115 (closed below; opening errors are reported first)
    except FileNotFoundError:
        raise UserError(f"{what} not found", where=name) from None
    except OSError as exc:
        raise UserError(f"cannot read the {what}: {_strerror(exc)}", where=name) from None
    with handle:
        try:
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                where = f"{name}:line {number}"
                text = decode_utf8(raw if number > 1 else raw.removeprefix(b"\xef\xbb\xbf"), where)
                yield where, loads_json(text, where)
        except IsADirectoryError:
            raise UserError(f"{what} is a folder, expected a file", where=name) from None
        except OSError as exc:
            raise UserError(f"cannot read the {what}: {_strerror(exc)}", where=name) from None


def json_object_lines(path: str | os.PathLike[str], *, what: str = "JSON Lines file") -> Iterator[tuple[str, dict]]:
    """Like :func:`iter_json_lines`, refusing a line that is not a JSON object."""
    for where, value in iter_json_lines(path, what=what):
        if not isinstance(value, dict):
            raise ValidationError(f"expected a JSON object, got {_json_type(value)}", where=where)
        yield where, value


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "true/false", type(None): "null"}
    return names.get(type(value), "a number")


# ------------------------------------------------------------------------------------------------------ YAML
def _yaml_loader() -> Any:
    """A SafeLoader that refuses duplicate keys and any tag outside YAML's plain types (``!!python/...``)."""
    import yaml

    class StrictLoader(yaml.SafeLoader):
        pass

    def mapping(loader: Any, node: Any, deep: bool = False) -> dict[Any, Any]:
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=deep)
            try:
                duplicate = key in result
            except TypeError:
                raise yaml.constructor.ConstructorError(None, None, "a mapping key must be a plain value",
                                                        key_node.start_mark) from None
            if duplicate:
                raise yaml.constructor.ConstructorError(None, None, f"key {key!r} appears twice",
                                                        key_node.start_mark)
            result[key] = loader.construct_object(value_node, deep=deep)
        return result

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    return StrictLoader


def loads_yaml(text: str, where: str, *, first_line: int = 1) -> Any:
    """Parse YAML (a superset of JSON) strictly; errors are one line with the line number."""
    import yaml

    try:
        value = yaml.load(text, Loader=_yaml_loader())  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        at = f"{where}:{mark.line + first_line}" if mark is not None else where
        problem = getattr(exc, "problem", None) or str(exc)
        raise ValidationError(f"not valid YAML ({' '.join(str(problem).split())})", where=at) from None
    except RecursionError:
        raise ValidationError(f"YAML nested deeper than {MAX_DEPTH} levels", where=where) from None
    check_value(value, where, surrogates=False)
    return value


def load_yaml_file(path: str | os.PathLike[str], *, what: str = "YAML file") -> Any:
    """A whole YAML (or JSON) file read through :func:`loads_yaml`."""
    return loads_yaml(read_text(path, what=what), os.fspath(path))


_FRONT_MATTER = re.compile(r"^---\r?\n(.*?)\r?\n---\r?\n?", re.S)


def split_front_matter(text: str, where: str = "README.md") -> tuple[dict[str, Any], str]:
    """(YAML metadata, body) of a dataset card; a missing, invalid or non-mapping front matter is one line."""
    match = _FRONT_MATTER.match(text)
    if not match:
        raise ValidationError("no YAML front matter (--- ... ---) at the top", where=where)
    meta = loads_yaml(match.group(1), where, first_line=2)
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ValidationError("the front matter is not a mapping", where=where)
    return meta, text[match.end():]


def read_front_matter(path: str | os.PathLike[str]) -> tuple[dict[str, Any], str]:
    """:func:`split_front_matter` of a README file."""
    return split_front_matter(read_text(path, what="README"), os.fspath(path))


def check_dataset_folder(folder: str | os.PathLike[str]) -> None:
    """A local dataset folder needs its card: without README.md, ``load_dataset`` would read every config's shards
    as one split (and report duplicate conversation ids); say what is missing instead."""
    path = Path(folder)
    script = path / f"{path.name}.py"
    if path.is_dir() and script.is_file():
        # datasets refuses a folder holding a loading script named after it; no reader runs it, none accepts it
        raise UserError(f"a loading script {script.name} sits in the dataset folder; datasets refuses such folders "
                        "and nothing here runs it (remove it)", where=os.fspath(folder))
    if path.is_dir() and not (path / "README.md").is_file():
        raise UserError("no README.md: a dataset folder written by mmmt-if has a card whose configs tell "
                        "load_dataset which files form each config (regenerate the folder or restore README.md)",
                        where=os.fspath(folder))


# --------------------------------------------------------------------------------------------------- parquet
def open_parquet(path: str | os.PathLike[str], where: str | None = None) -> Any:
    """A ``pyarrow.parquet.ParquetFile``; truncated, zeroed or foreign files are one line naming the file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise ValidationError(f"not a readable parquet file ({_first_line(exc)})", where=where or os.fspath(path)) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def dataset_error(exc: BaseException, where: str) -> UserError | None:
    """The one-line error for a failure of ``datasets``/``pyarrow``/the Hub client while loading data, else None.

    ``load_dataset`` reports corrupt shards, bad cards, stray scripts, missing repositories and refused tokens
    through many exception types of several libraries; this decides once, for every command, which of them are the
    user's data or access and not a bug of ours. A token that a server echoes is masked.
    """
    if isinstance(exc, UserError):
        return exc
    module = type(exc).__module__ or ""
    data_libraries = ("datasets", "huggingface_hub", "pyarrow", "requests", "httpx", "fsspec", "yaml", "urllib3")
    if not (isinstance(exc, OSError | ValueError | KeyError | UnicodeError | RecursionError | ImportError)
            or module.startswith(data_libraries) or _raised_in(exc, data_libraries)):
        return None
    detail = "nested too deeply" if isinstance(exc, RecursionError) else _first_line(exc)
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        token = os.environ.get(name)
        if token:
            detail = detail.replace(token, "***")
    return ValidationError(f"cannot load the dataset ({type(exc).__name__}: {detail[:500]})", where=where)


def _raised_in(exc: BaseException, modules: tuple[str, ...]) -> bool:
    """True when the innermost frame of ``exc`` belongs to one of ``modules`` (a plain ``RuntimeError`` that
    ``datasets`` raises for a stray loading script is about the data, not a bug of ours)."""
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    return str(tb.tb_frame.f_globals.get("__name__", "")).startswith(modules)


@contextmanager
def quiet_loading_logs() -> Iterator[None]:
    """Silence the loaders' own error logs inside the block: the failure is reported once, as one line."""
    loggers = [logging.getLogger(name) for name in ("datasets", "huggingface_hub", "fsspec")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


@contextmanager
def loading_errors(where: str) -> Iterator[None]:
    """Turn data-loading failures inside the block into one-line errors (see :func:`dataset_error`)."""
    try:
        with quiet_loading_logs():
            yield
    except Exception as exc:
        error = dataset_error(exc, where)
        if error is None or error is exc:
            raise
        raise error from None


__all__ = [
    "MAX_DEPTH",
    "check_dataset_folder",
    "check_value",
    "dataset_error",
    "decode_utf8",
    "iter_json_lines",
    "json_object_lines",
    "load_json_file",
    "load_yaml_file",
    "loading_errors",
    "loads_json",
    "loads_yaml",
    "open_parquet",
    "quiet_loading_logs",
    "read_bytes",
    "read_front_matter",
    "read_text",
    "split_front_matter",
]
