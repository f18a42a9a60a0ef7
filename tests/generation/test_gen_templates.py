"""The message templates: sandboxed, strict, without randomness, and producing the official layouts."""

from __future__ import annotations

import pytest

from generator.authoring.templates import make_environment, render_template


def test_environment_has_no_randomness_and_is_strict(tmp_path) -> None:
    from jinja2.exceptions import SecurityError, TemplateAssertionError, UndefinedError

    env = make_environment(tmp_path)
    assert "random" not in env.filters and "shuffle" not in env.filters
    assert "lipsum" not in env.globals
    with pytest.raises(TemplateAssertionError):
        env.from_string("{{ [1, 2] | random }}")
    with pytest.raises(UndefinedError):
        env.from_string("{{ lipsum() }}").render()
    with pytest.raises(UndefinedError):
        env.from_string("{{ missing }}").render()
    with pytest.raises(SecurityError):
        env.from_string("{{ items.append(3) }}").render(items=[1])


@pytest.mark.parametrize(("template", "context", "expected"), [
    ("user_turn.j2", {"question": "Q?", "new": ["Do X."], "distractor": "", "reminder": ""},
     "Instruction: Do X. Q?"),
    ("user_turn.j2", {"question": "Q?", "new": [], "distractor": "", "reminder": ""}, "Q?"),
    ("user_turn.j2", {"question": "Q?", "new": ["A.", "B."], "distractor": "(N)", "reminder": "R"},
     "Instruction: A. Instruction: B. (N) Q?\n\nR"),
    ("end_only_turn.j2", {"question": "Q?", "new": ["Do X."], "distractor": "", "reminder": ""},
     "Q? Instruction: Do X."),
    ("appended_block.j2", {"active": ["A.", "B."]},
     "Remember to follow all of these instructions in your response:\n1. A.\n2. B."),
    ("system_prompt.j2", {"instructions": []}, ""),
    ("system_prompt.j2", {"instructions": ["A."]},
     "Follow all of these instructions in every response of this conversation:\n1. A."),
])
def test_layouts(template, context, expected) -> None:
    assert render_template(template, **context) == expected


@pytest.mark.parametrize("frame", ["quoted-note", "someone-else", "caption"])
def test_distractor_frames_quote_the_wording(frame) -> None:
    from generator.generation.plan import DISTRACTOR_FRAMES

    assert frame in DISTRACTOR_FRAMES
    text = render_template("distractor.j2", frame=frame, wording="End every sentence with a question mark (?).")
    assert '"End every sentence with a question mark (?)."' in text
    assert not text.startswith("Instruction:")


def test_unknown_distractor_frame_fails() -> None:
    from jinja2.exceptions import UndefinedError

    with pytest.raises(UndefinedError):
        render_template("distractor.j2", frame="nope", wording="x")
