"""Shared work done once gives the same rows: cached template skeletons, shared plans and images, merged shard
statistics, the arrow schema without ``datasets``, and shards cut by the run alone."""

from __future__ import annotations

import random

import pytest

from generator.authoring.templates import render_fast, render_template

_WORDS = ["", " ", "Answer in one line.", "Start with 'B'. ", "{{ not jinja }}", "a\nb", "ß × €", "\x01"]


@pytest.mark.parametrize("seed", range(40))
def test_fast_rendering_equals_jinja(seed: int) -> None:
    rng = random.Random(seed)

    def words(n: int) -> list[str]:
        return [rng.choice(_WORDS) for _ in range(n)]

    for _ in range(10):
        cases = [
            ("user_turn.j2", {"question": rng.choice(_WORDS), "new": words(rng.randrange(4)),
                              "distractor": rng.choice(_WORDS), "reminder": rng.choice(_WORDS)}, {}),
            ("end_only_turn.j2", {"question": rng.choice(_WORDS), "new": words(rng.randrange(4)),
                                  "distractor": rng.choice(_WORDS), "reminder": rng.choice(_WORDS)}, {}),
            ("appended_block.j2", {"active": words(rng.randrange(8))}, {}),
            ("system_prompt.j2", {"instructions": words(rng.randrange(8))}, {}),
            ("distractor.j2", {"wording": rng.choice(_WORDS)},
             {"frame": rng.choice(["quoted-note", "someone-else", "caption"])}),
        ]
        for name, verbatim, plain in cases:
            assert render_fast(name, verbatim, **plain) == render_template(name, **verbatim, **plain), (name, verbatim)


def test_fast_rendering_falls_back_when_a_value_is_not_inserted_verbatim(tmp_path, monkeypatch) -> None:
    from generator.authoring import templates

    (tmp_path / "shout.j2").write_text("{{ question | upper }}!")
    monkeypatch.setattr(templates, "get_template",
                        lambda name, folder=None: templates.make_environment(tmp_path).get_template(name))
    monkeypatch.setattr(templates, "render_template",
                        lambda name, **ctx: templates.get_template(name).render(**ctx).strip())
    templates._skeleton.cache_clear()
    try:
        assert templates.render_fast("shout.j2", {"question": "why"}) == "WHY!"
    finally:
        templates._skeleton.cache_clear()


def test_arrow_schema_and_yaml_equal_what_datasets_builds() -> None:
    from generator.dataset.features import arrow_schema, build_features, features_yaml

    built = build_features()
    assert arrow_schema().equals(built.arrow_schema, check_metadata=True)
    assert features_yaml() == built._to_yaml_list()


def test_configs_sharing_conversations_build_the_same_rows_as_alone() -> None:
    from generator.generation.pipeline import GenerationRun, build_conversation
    from generator.generation.variants import get_variant

    names = ("mmmt-if", "appended", "end-only", "system", "distractors", "updates")
    configs = tuple(get_variant(name).replace(turns=6) for name in names)
    run = GenerationRun(seed=3)
    for index in range(3):
        together = build_conversation(configs, run, "test", index)
        for cfg, (row, rejected) in zip(configs, together, strict=True):
            alone, alone_rejected = build_conversation((cfg,), run, "test", index)[0]
            assert row == alone and rejected == alone_rejected, (cfg.name, index)
        assert together[0][0]["images"] is together[1][0]["images"]  # drawn and encoded once
        # appended shares every turn value of mmmt-if but the prompt (rendered and validated once)
        first, second = together[0][0]["turns"][-1], together[1][0]["turns"][-1]
        assert first["active_instructions"] is second["active_instructions"] and first["prompt"] != second["prompt"]


def test_turns_placed_the_same_way_are_proven_once(monkeypatch) -> None:
    from generator.generation import plan
    from generator.generation.pipeline import GenerationRun, build_conversation
    from generator.generation.variants import get_variant

    proofs: list[int] = []
    place = plan.place_question

    def counted(qa, active, conv_id, turn):
        proofs.append(turn)
        return place(qa, active, conv_id, turn)

    monkeypatch.setattr(plan, "place_question", counted)
    shared = tuple(get_variant(name).replace(turns=6) for name in ("mmmt-if", "appended", "end-only", "distractors"))
    build_conversation(shared, GenerationRun(seed=3), "test", 0)
    assert sorted(proofs) == [1, 2, 3, 4, 5, 6]
    proofs.clear()
    # the system config holds every instruction from turn 1: other active sets, proven on their own
    build_conversation((shared[0], get_variant("system").replace(turns=6)), GenerationRun(seed=3), "test", 0)
    assert len(proofs) > 6


def test_merged_shard_statistics_equal_one_pass() -> None:
    from generator.dataset.stats import StatsAccumulator
    from generator.generation.pipeline import GenerationRun, build_conversation
    from generator.generation.variants import get_variant

    cfg = get_variant("updates").replace(turns=5)
    rows = [(split, build_conversation((cfg,), GenerationRun(seed=1), split, i)[0][0])
            for split in ("test", "validation") for i in range(7)]
    whole = StatsAccumulator()
    for split, row in rows:
        whole.add(row, split)
    merged = StatsAccumulator()
    for start in range(0, len(rows), 3):
        part = StatsAccumulator()
        for split, row in rows[start:start + 3]:
            part.add(row, split)
        merged.merge(part)
    assert merged.result({"x": 1}) == whole.result({"x": 1})


def test_shard_tasks_depend_on_the_run_only() -> None:
    from generator.generation.pipeline import GenerationRun, shard_tasks
    from generator.generation.variants import get_variant

    configs = [get_variant("mmmt-if"), get_variant("appended"), get_variant("long")]
    tasks = shard_tasks(configs, GenerationRun(splits={"test": 10, "validation": 0}), rows_per_shard=4)
    # mmmt-if and appended share their material; long (100 turns) has its own.
    assert [([c.name for c in t.configs], t.split, t.index, t.count, t.start, t.stop) for t in tasks] == [
        (["mmmt-if", "appended"], "test", 0, 3, 0, 4), (["mmmt-if", "appended"], "test", 1, 3, 4, 8),
        (["mmmt-if", "appended"], "test", 2, 3, 8, 10), (["mmmt-if", "appended"], "validation", 0, 1, 0, 0),
        (["long"], "test", 0, 3, 0, 4), (["long"], "test", 1, 3, 4, 8), (["long"], "test", 2, 3, 8, 10),
        (["long"], "validation", 0, 1, 0, 0)]


def test_rows_per_shard_changes_files_not_rows(tmp_path) -> None:
    import pyarrow.parquet as pq

    from generator.generation.pipeline import GenerationRun, generate
    from generator.generation.variants import get_variant

    configs = [get_variant("mmmt-if").replace(turns=2, images_min=1, images_max=1)]
    run = GenerationRun(seed=5, splits={"test": 7})
    generate(tmp_path / "one", configs, run, quiet=True)
    result = generate(tmp_path / "three", configs, run, rows_per_shard=3, quiet=True)
    shards = sorted((tmp_path / "three" / "mmmt-if").glob("*.parquet"))
    assert [p.name for p in shards] == [f"test-0000{i}-of-00003.parquet" for i in range(3)]
    assert [pq.ParquetFile(p).metadata.num_rows for p in shards] == [3, 3, 1]
    one = pq.read_table(tmp_path / "one" / "mmmt-if" / "test-00000-of-00001.parquet")
    assert pq.ParquetDataset(shards).read().to_pylist() == one.to_pylist()
    assert result.counts == {"mmmt-if": {"test": 7}}


def test_ray_engine_without_ray_fails_in_one_line(tmp_path, monkeypatch) -> None:
    import sys

    from click.testing import CliRunner

    from generator.cli import cli

    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    result = CliRunner().invoke(cli, ["gen", "--turns", "2", "--conversations", "2", "--engine", "ray", "--quiet",
                                      "--out", str(tmp_path / "ds")])
    assert result.exit_code != 0
    message = result.output.strip()
    assert len(message.splitlines()) == 1 and "pip install 'mmmt-if[ray]'" in message, message
    assert "Traceback" not in message and not (tmp_path / "ds").exists()


@pytest.mark.parametrize("seed", range(20))
def test_format_strings_equal_jinja(seed: int) -> None:
    """The format strings cut from the skeletons give Jinja's text for values of their shape (non-empty ones)."""
    from generator.authoring.templates import format_template

    rng = random.Random(seed)
    full = [w for w in _WORDS if w] + ["{0}", "}{", "{{ x }}", "%s"]
    for _ in range(10):
        n = rng.randrange(6)
        words = [rng.choice(full) for _ in range(n)]
        fmt = format_template("appended_block.j2", (("active", (True,) * n),), tuple(("active", i) for i in range(n)))
        assert fmt is not None and fmt.format(*words).strip() == render_template("appended_block.j2", active=words)
        for layout in ("user_turn.j2", "end_only_turn.j2"):
            values = {"question": rng.choice(full), "distractor": rng.choice(["", *full]),
                      "reminder": rng.choice(["", *full])}
            new = [rng.choice(full) for _ in range(rng.randrange(4))]
            shape = (("question", True), ("new", (True,) * len(new)), ("distractor", bool(values["distractor"])),
                     ("reminder", bool(values["reminder"])))
            order = (("question", -1), ("distractor", -1), ("reminder", -1), *(("new", i) for i in range(len(new))))
            fmt = format_template(layout, shape, order)
            assert fmt is not None
            text = fmt.format(values["question"], values["distractor"], values["reminder"], *new).strip()
            assert text == render_template(layout, new=new, **values), (layout, values, new)


def test_rendered_prompts_equal_jinja_for_every_placement() -> None:
    """Every prompt of real plans (all wordings and layouts the presets use) is the text Jinja renders."""
    from generator.authoring.templates import render_template
    from generator.generation.pipeline import GenerationRun, prepare_source
    from generator.generation.plan import plan_conversation
    from generator.generation.render import event_wording, instruction_wording, render_turns
    from generator.generation.variants import get_variant

    def jinja_prompt(cfg, turn) -> str:
        new = [event_wording(e) for e in turn.events] if cfg.placement != "system" else []
        distractor = ""
        if turn.distractors:
            d = turn.distractors[0]
            distractor = render_template("distractor.j2", wording=instruction_wording(d.instruction), frame=d.frame)
        reminder = ""
        if cfg.reminder_every > 0 and turn.active and (turn.turn - 1) % cfg.reminder_every == 0:
            reminder = render_template("appended_block.j2", active=[instruction_wording(a.instruction)
                                                                     for a in turn.active])
        layout = "end_only_turn.j2" if cfg.placement == "end-only" else "user_turn.j2"
        return render_template(layout, question=turn.qa.question, new=new, distractor=distractor, reminder=reminder)

    run = GenerationRun(seed=5)
    checked = 0
    for name in ("mmmt-if", "appended", "end-only", "system", "distractors", "updates"):
        cfg = get_variant(name).replace(turns=12)
        source = prepare_source(run, (cfg,))
        for index in range(4):
            plan = plan_conversation(cfg, seed=5, split="test", index=index, source=source)
            for turn, rendered in zip(plan.turns, render_turns(cfg, plan), strict=True):
                assert rendered["prompt"] == jinja_prompt(cfg, turn), (name, index, turn.turn)
                checked += 1
    assert checked == 6 * 4 * 12


def test_an_active_instruction_has_one_entry_per_row() -> None:
    """The entry of an active instruction is the same dict in each turn (validated once), with its own values."""
    from generator.generation.pipeline import GenerationRun, build_conversation
    from generator.generation.variants import get_variant

    row = build_conversation((get_variant("updates").replace(turns=8),), GenerationRun(seed=2), "test", 1)[0][0]
    entries = [entry for turn in row["turns"] for entry in turn["active_instructions"]]
    assert len({id(entry) for entry in entries}) < len(entries)
    for turn in row["turns"]:
        assert all(entry["given_at"] <= turn["turn"] for entry in turn["active_instructions"])
