"""The column layout of a conversation row, in one place.

``ROW_SPEC`` is a plain-Python description of the row contract; ``FEATURES`` (a ``datasets.Features``) and
``arrow_schema()`` (the pyarrow schema the writer streams with) are both built from it, so the parquet files, the
README's ``dataset_info`` and ``load_dataset`` can never disagree. Images are ``List(Image())`` (embedded
``{"bytes", "path"}`` structs, as ``datasets`` stores them) and turns ``List({...})``: ``Sequence({...})`` would
turn the list of turns into a dict of lists. Instruction parameters are JSON strings because their shape differs
from one instruction to the next.

``FEATURES`` and ``ARROW_SCHEMA`` are created on first access so that importing this module stays cheap.
"""

from __future__ import annotations

from typing import Any

#: Leaf types: "string", "int32" (datasets ``Value``) and "image" (datasets ``Image``); ``[x]`` is a list of x;
#: a dict is a struct. Key order is the column order of the parquet files.
INSTRUCTION_SPEC: dict[str, Any] = {"id": "string", "kwargs": "string", "wording": "string"}

ROW_SPEC: dict[str, Any] = {
    "id": "string",
    "config": "string",
    "source": "string",
    "system_prompt": "string",
    "images": ["image"],
    "image_meta": [
        {"name": "string", "source": "string", "license": "string", "attribution": "string", "spec": "string"}
    ],
    "turns": [
        {
            "turn": "int32",
            "question": "string",
            "prompt": "string",
            "new_instructions": [{**INSTRUCTION_SPEC, "action": "string"}],
            "active_instructions": [{**INSTRUCTION_SPEC, "given_at": "int32"}],
            "distractors": [dict(INSTRUCTION_SPEC)],
            "reference_answer": "string",
            "answer_type": "string",
            "image_indices": ["int32"],
        }
    ],
}

#: The actions a ``new_instructions`` entry may carry.
ACTIONS = ("add", "replace", "revoke")


def _to_feature(spec: Any) -> Any:
    from datasets import Image, List, Value

    if isinstance(spec, dict):
        return {name: _to_feature(sub) for name, sub in spec.items()}
    if isinstance(spec, list):
        return List(_to_feature(spec[0]))
    if spec == "image":
        return Image()
    return Value(spec)


def build_features() -> Any:
    """Return a fresh ``datasets.Features`` for the row contract."""
    from datasets import Features

    return Features(_to_feature(ROW_SPEC))


def _feature_dict(spec: Any) -> Any:
    """The ``datasets`` serialisation of a feature (what ``Features.to_dict`` gives), built without datasets."""
    if isinstance(spec, dict):
        return {name: _feature_dict(sub) for name, sub in spec.items()}
    if isinstance(spec, list):
        return {"feature": _feature_dict(spec[0]), "_type": "List"}
    if spec == "image":
        return {"_type": "Image"}
    return {"dtype": spec, "_type": "Value"}


def _arrow_type(spec: Any) -> Any:
    import pyarrow as pa

    if isinstance(spec, dict):
        return pa.struct([(name, _arrow_type(sub)) for name, sub in spec.items()])
    if isinstance(spec, list):
        return pa.list_(_arrow_type(spec[0]))
    if spec == "image":
        return pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    return {"string": pa.string(), "int32": pa.int32()}[spec]


def arrow_schema() -> Any:
    """Return the pyarrow schema of the parquet files, with the ``huggingface`` features metadata attached.

    ``datasets`` reads the features back from that metadata, so a file is self-describing even without the README.
    Built with pyarrow alone: importing ``datasets`` (and pandas with it) costs about two seconds, which would be
    most of a small generation run; tests check that the result equals ``build_features().arrow_schema``.
    """
    import json

    import pyarrow as pa

    metadata = {"huggingface": json.dumps({"info": {"features": _feature_dict(ROW_SPEC)}})}
    return pa.schema([(name, _arrow_type(sub)) for name, sub in ROW_SPEC.items()]).with_metadata(metadata)


def _yaml_entry(name: str | None, spec: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {} if name is None else {"name": name}
    if isinstance(spec, dict):
        entry["struct"] = [_yaml_entry(sub_name, sub) for sub_name, sub in spec.items()]
    elif isinstance(spec, list):
        item = spec[0]
        if isinstance(item, dict):
            entry["list"] = [_yaml_entry(sub_name, sub) for sub_name, sub in item.items()]
        else:
            entry["list"] = "image" if item == "image" else item
    elif spec == "image":
        entry["dtype"] = "image"
    else:
        entry["dtype"] = spec
    return entry


def features_yaml() -> list[dict[str, Any]]:
    """Return the features as the README's ``dataset_info.features`` list (the format ``datasets`` writes).

    Built from ``ROW_SPEC`` without importing datasets (tests compare it with ``Features._to_yaml_list``).
    """
    return [_yaml_entry(name, spec) for name, spec in ROW_SPEC.items()]


def features_from_yaml(items: list[dict[str, Any]]) -> Any:
    """Parse a README ``dataset_info.features`` list back into ``datasets.Features``."""
    from datasets import Features

    return Features._from_yaml_list(items)


def __getattr__(name: str) -> Any:
    """Create ``FEATURES`` / ``ARROW_SCHEMA`` lazily (PEP 562) so importing this module does not import datasets."""
    if name == "FEATURES":
        value = build_features()
    elif name == "ARROW_SCHEMA":
        value = arrow_schema()
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value
