"""Row features: the datasets Features, the arrow schema and the JSON schema describe the same row.
"""

from __future__ import annotations

import pytest
from dataset_rows import make_row

from generator.dataset.features import ROW_SPEC, build_features


def _struct_keys(spec) -> object:
    if isinstance(spec, dict):
        return {key: _struct_keys(value) for key, value in spec.items()}
    if isinstance(spec, list):
        return [_struct_keys(spec[0])]
    return spec


def _schema_keys(schema: dict, node: dict) -> object:
    if "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
    if node.get("type") == "object":
        return {key: _schema_keys(schema, sub) for key, sub in node["properties"].items()}
    if node.get("type") == "array" and "items" in node:
        return [_schema_keys(schema, node["items"])]
    return None


def _strip_leaves(tree) -> object:
    if isinstance(tree, dict):
        return {key: _strip_leaves(value) for key, value in tree.items()}
    if isinstance(tree, list):
        return [_strip_leaves(tree[0])] if tree and isinstance(tree[0], (dict, list)) else None
    return None


def test_json_schema_has_the_same_fields_as_the_features():
    from generator.dataset.schema import conversation_schema

    schema = conversation_schema()
    from_schema = _strip_leaves(_schema_keys(schema, schema))
    from_spec = _strip_leaves(_struct_keys(ROW_SPEC))
    assert from_schema == from_spec


@pytest.mark.parametrize(("path", "expected"), [
    (("images",), "List(Image"),
    (("turns",), "List("),
    (("image_meta",), "List("),
])
def test_lists_are_list_features_not_sequences(path, expected):
    features = build_features()
    assert repr(features[path[0]]).startswith(expected)


def test_arrow_schema_stores_images_as_bytes_path_structs_and_carries_features():
    import pyarrow as pa

    from generator.dataset.features import arrow_schema

    schema = arrow_schema()
    image_type = schema.field("images").type.value_type
    assert image_type == pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    turn_type = schema.field("turns").type.value_type
    assert turn_type.field("turn").type == pa.int32()
    assert turn_type.field("active_instructions").type.value_type.field("kwargs").type == pa.string()
    assert b"huggingface" in schema.metadata


def test_features_round_trip_through_yaml():
    from generator.dataset.features import features_from_yaml, features_yaml

    assert features_from_yaml(features_yaml()) == build_features()


def test_lazy_module_attributes():
    import generator.dataset.features as module

    assert build_features() == module.FEATURES
    with pytest.raises(AttributeError):
        module.NOT_A_THING  # noqa: B018


def test_make_row_is_valid():
    from generator.dataset.schema import validate_row

    validate_row(make_row(1))
    validate_row(make_row(2, config="appended", n_turns=5, n_images=3))
