"""Witness composer: one deterministic response that satisfies a whole active set of instructions.

Each instruction type records what a satisfying response needs in a shared :class:`Requirements` object
(sentence-level rules such as the first letter, the end mark and the words per sentence; response-level rules such
as counts, lists, a title or JSON). The composer then lays out *slots* (one sentence each: a title, list items,
section openers, prose sentences, a postscript, a closing phrase), distributes the required words (keywords,
numbers, image names, the reference answer) over them, pads every sentence to the length bounds and assembles
the text. The result is re-checked with every checker before it is returned, so a witness is never wrong; when
the set cannot be satisfied the composer raises ``ValueError``. No randomness is involved.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from generator.core import text as textmod
from generator.core.instructions import vocab
from generator.core.instructions.requirements import Requirements

_MARKS = ".!?"
_MAX_ROUNDS = 60
_COMFORT_WORDS = 4  # sentences shorter than this read badly; padded when the rules allow


@dataclass
class _Slot:
    kind: str
    lead: list[str] | None = None  # words that open the sentence instead of a starter word
    tail: str | None = None  # a closing phrase that carries its own end mark
    complete: str | None = None  # a finished sentence used verbatim (a start phrase ending with a mark)
    payload: list[str] = field(default_factory=list)
    extra: int = 0
    index: int = 0


def _wc(token: str) -> int:
    return textmod.word_count(token)


class _Composer:
    def __init__(self, req: Requirements, answer: str | None) -> None:
        self.req = req
        banned: set[str] = set()
        for phrase in list(req.forbidden) + list(req.keyword_min) + list(req.keyword_max):
            banned.update(w.casefold() for w in textmod.words(phrase))
        self.banned = banned
        self.fillers = [w for w in vocab.FILLERS if w.casefold() not in banned]
        if not self.fillers:
            raise ValueError("every filler word is excluded by the keyword rules")
        self.starter = self._starter()
        self.answer = self._prepare_answer(answer)

    # -- vocabulary -------------------------------------------------------------------------------------------
    def _starter(self) -> str:
        letter = self.req.letter
        if letter is None:
            candidates = vocab.DEFAULT_STARTERS
        else:
            key = textmod.normalize_letter(letter).upper()
            candidates = vocab.STARTERS.get(key, ())
        for word in candidates:
            if word.casefold() not in self.banned:
                return word
        if letter is not None:
            return letter.upper()
        raise ValueError("no sentence starter is allowed by the keyword rules")  # pragma: no cover

    def _prepare_answer(self, answer: str | None) -> str | None:
        if answer is None:
            return None
        cleaned = " ".join(answer.split()).rstrip(".!?;: ")
        if not cleaned:
            return None
        if self.req.no_commas:
            cleaned = re.sub(r"\s*,\s*(?:and\s+)?", " and ", cleaned).strip()
        if self.req.capital_max is not None:
            cleaned = cleaned.lower()
        cleaned = self._upper(cleaned)
        lead_in = "the answer is"
        if not any(w in self.banned for w in lead_in.split()):
            cleaned = f"{lead_in} {cleaned}"
        return cleaned

    def _upper(self, text: str) -> str:
        """Write the words an image-grounded rule wants in capitals (colours of the images) in capitals."""
        for word in sorted(self.req.upper_words):
            text = re.sub(r"(?i)(?<![^\W_])" + re.escape(word) + r"(?![^\W_])", word.upper(), text)
        return text

    def _pad_words(self, count: int) -> list[str]:
        return [self.fillers[i % len(self.fillers)] for i in range(count)]

    # -- sentences --------------------------------------------------------------------------------------------
    def _fixed_words(self, slot: _Slot) -> int:
        if slot.complete is not None:
            return _wc(slot.complete)
        lead = slot.lead if slot.lead is not None else ([] if self._tail_alone(slot) else [self.starter])
        return sum(_wc(t) for t in lead) + sum(_wc(t) for t in slot.payload) + (_wc(slot.tail) if slot.tail else 0)

    def _tail_alone(self, slot: _Slot) -> bool:
        """A closing phrase can stand alone when it already starts with the required letter."""
        if slot.tail is None or slot.payload or slot.extra:
            return False
        if self.req.letter is None:
            return _wc(slot.tail) >= self.req.wmin
        first = textmod.first_letter(slot.tail)
        return (
            first is not None
            and textmod.normalize_letter(first) == textmod.normalize_letter(self.req.letter)
            and _wc(slot.tail) >= self.req.wmin
        )

    def _capacity(self, slot: _Slot) -> int | None:
        if slot.complete is not None or slot.kind in ("title",):
            return 0
        if self.req.wmax is None:
            return None
        return self.req.wmax - self._fixed_words(slot)

    def _base_pad(self, slot: _Slot) -> int:
        """Filler words a sentence needs to reach the minimum (and a comfortable) length."""
        comfort = _COMFORT_WORDS if self.req.wmax is None else min(_COMFORT_WORDS, self.req.wmax)
        return max(0, max(self.req.wmin, comfort) - self._fixed_words(slot))

    def _sentence(self, slot: _Slot) -> str:
        if slot.complete is not None:
            return slot.complete
        mark = self.req.mark or "."
        if slot.tail is not None and self._tail_alone(slot):
            return slot.tail
        lead = list(slot.lead) if slot.lead is not None else [self.starter]
        self._fixed_words(slot)
        pad = self._base_pad(slot) + slot.extra
        if slot.kind in ("section", "title") and pad == 0 and not slot.payload:
            pad = 1
        body = " ".join(lead + slot.payload + self._pad_words(pad))
        if slot.tail is not None:
            tail = slot.tail
            if tail[:1].isupper() and not tail.startswith("I "):
                tail = tail[0].lower() + tail[1:]
            return f"{body} {tail}"
        return body + mark

    # -- layout -----------------------------------------------------------------------------------------------
    def _payload(self) -> list[str]:
        req = self.req
        items: list[str] = []
        if self.answer:
            items.append(self.answer)
        fixed_text = " ".join(
            part
            for part in (self.answer, req.start_phrase, req.end_phrase, req.sections[0] if req.sections else None)
            if part
        )
        section_copies = req.sections[1] if req.sections else 0
        for word in sorted(set(req.keyword_min) | set(req.keyword_max)):
            present = textmod.phrase_count(fixed_text, word)
            if req.sections and textmod.phrase_count(req.sections[0], word):
                present += section_copies - 1
            need = max(0, req.keyword_min.get(word, 0) - present)
            limit = req.keyword_max.get(word)
            if limit is not None and present + need > limit:
                raise ValueError(f"keyword {word!r} would appear more than {limit} times")
            items.extend([word] * need)
        items.extend(str(n) for n in req.numbers)
        items.extend(req.tokens)
        for token, alternatives in req.one_of:
            if not any(textmod.phrase_count(self.answer or "", alt) for alt in alternatives):
                items.append(token)
        return [self._upper(item) for item in items] if req.upper_words else items

    def _structural_slots(self) -> tuple[list[_Slot], list[_Slot], list[_Slot], list[_Slot]]:
        """Return (head, lists, tail, sections) slots; prose slots are added by the caller."""
        req = self.req
        head: list[_Slot] = []
        if req.start_phrase is not None:
            phrase = req.start_phrase.strip()
            if phrase[-1] in _MARKS:
                head.append(_Slot("start", complete=phrase))
            else:
                head.append(_Slot("start", lead=phrase.split()))
        if req.title:
            head.append(_Slot("title", payload=[vocab.TITLE_WORD]))
        head.extend(_Slot("heading", index=i + 1) for i in range(req.headings))
        sections: list[_Slot] = []
        if req.sections:
            marker, count = req.sections
            sections = [_Slot("section", lead=[marker, str(i + 1)], index=i + 1) for i in range(count)]
        lists: list[_Slot] = [_Slot("bullet", index=i + 1) for i in range(req.bullets or 0)]
        lists.extend(_Slot("numbered", index=i + 1) for i in range(req.numbered or 0))
        tail: list[_Slot] = []
        if req.postscript is not None:
            tail.append(_Slot("ps"))
        if req.end_phrase is not None:
            tail.append(_Slot("end", tail=req.end_phrase.strip()))
        return head, lists, tail, sections

    def compose(self) -> str:
        req = self.req
        head, lists, tail, sections = self._structural_slots()
        structural = head + sections + lists + tail
        smax = req.smax
        main: list[_Slot] = []
        if smax is None or len(structural) < smax or not structural:
            main.append(_Slot("main"))
        if req.paragraphs is not None:
            need = req.paragraphs - self._fixed_group_count(head, sections, lists, tail)
            while len(main) < need:
                main.append(_Slot("main"))
        while len(structural) + len(main) < req.smin:
            main.append(_Slot("main"))
        payload = self._payload()
        if req.lead_tokens:
            payload = self._place_lead(payload, main, head, sections)
        self._distribute(payload, main, structural)
        if smax is not None and len(structural) + len(main) > smax:
            raise ValueError(f"needs {len(structural) + len(main)} sentences but at most {smax} are allowed")
        text = self._assemble(head, sections, lists, tail, main)
        for _ in range(_MAX_ROUNDS):
            # A word such as "Figs." may not end a sentence (it reads as an abbreviation), so count the sentences
            # the checkers see and add more until the minimum is met.
            if len(textmod.sentences(text)) >= req.smin or (smax is not None and len(structural) + len(main) >= smax):
                break
            main.append(_Slot("main"))
            text = self._assemble(head, sections, lists, tail, main)
        for _ in range(_MAX_ROUNDS):
            total = textmod.word_count(text)
            if total >= req.tmin:
                break
            if not self._lengthen(req.tmin - total, structural, main):
                break
            text = self._assemble(head, sections, lists, tail, main)
        if req.tmax is not None and textmod.word_count(text) > req.tmax:
            raise ValueError(f"the shortest witness has more than {req.tmax} words")
        return text

    def _place_lead(self, payload: list[str], main: list[_Slot], head: list[_Slot], sections: list[_Slot]
                    ) -> list[str]:
        """Put the words the first sentence must hold into it; returns the payload still to distribute.

        The first sentence is a main slot only when nothing structural comes before it. The answer goes in front of
        the lead words when both fit, so that the answer's own items (an ordered list) come first in the text.
        """
        lead = list(self.req.lead_tokens)
        if not main or head or sections:
            raise ValueError("the opening words need the first sentence, which another rule takes")
        with_answer = bool(self.answer) and payload[:1] == [self.answer]
        main[0].payload = [*payload[:1], *lead] if with_answer else lead
        room = self._capacity(main[0])
        if with_answer and room is not None and room < 0:
            main[0].payload = lead
            room = self._capacity(main[0])
        elif with_answer:
            payload = payload[1:]
        if room is not None and room < 0:
            raise ValueError("the opening words do not fit in one sentence")
        return payload

    def _fixed_group_count(self, head, sections, lists, tail) -> int:
        groups = 0
        groups += sum(1 for s in head if s.kind in ("start", "title"))
        groups += 1 if any(s.kind == "heading" for s in head) else 0
        groups += len(sections)
        groups += (1 if self.req.bullets else 0) + (1 if self.req.numbered else 0)
        groups += 1 if tail else 0
        return groups

    def _distribute(self, payload: list[str], main: list[_Slot], structural: list[_Slot]) -> None:
        order = [s for s in main] + [s for s in structural if s.kind in ("bullet", "numbered", "section")]
        order += [s for s in structural if s.kind in ("start", "end", "ps", "heading")]
        for token in payload:
            size = _wc(token)
            for slot in order:
                room = self._capacity(slot)
                if room is None or room >= size:
                    slot.payload.append(token)
                    break
            else:
                if self.req.wmax is not None and 1 + size > self.req.wmax:
                    raise ValueError(f"{token!r} does not fit in a sentence of at most {self.req.wmax} words")
                slot = _Slot("main", payload=[token])
                main.append(slot)
                order.insert(len(main) - 1, slot)

    def _lengthen(self, deficit: int, structural: list[_Slot], main: list[_Slot]) -> bool:
        """Add filler words (or sentences) to reach a minimum word count; False when nothing can grow."""
        for slot in main + [s for s in structural if s.kind in ("bullet", "numbered", "section", "ps")]:
            room = self._capacity(slot)
            room = deficit if room is None else room - self._base_pad(slot) - slot.extra
            if room > 0:
                slot.extra += min(room, deficit)
                return True
        if self.req.smax is not None and len(structural) + len(main) >= self.req.smax:
            return False
        main.append(_Slot("main"))
        return True

    def _assemble(self, head, sections, lists, tail, main) -> str:
        req = self.req
        if req.json:
            sentences = [
                "<<" + self._sentence(s) + ">>" if s.kind == "title" else self._sentence(s) for s in head + main + tail
            ]
            return self._case(" ".join(sentences))
        groups: list[list[str]] = []
        for slot in head:
            if slot.kind == "title":
                groups.append(["<<" + self._sentence(slot) + ">>"])
            elif slot.kind == "start":
                groups.append([self._sentence(slot)])
        headings = [f"# {self._sentence(s)}" for s in head if s.kind == "heading"]
        if headings:
            groups.append(headings)
        for slot in sections:
            sentence = self._sentence(slot)
            marker_words = " ".join(slot.lead or [])
            rest = sentence[len(marker_words):].lstrip()
            groups.append([marker_words + ("\n" + rest if rest and rest not in _MARKS else rest)])
        main_group_at = len(groups)
        bullets = [f"- {self._sentence(s)}" for s in lists if s.kind == "bullet"]
        numbered = [f"{s.index}. {self._sentence(s)}" for s in lists if s.kind == "numbered"]
        if bullets:
            groups.append(bullets)
        if numbered:
            groups.append(numbered)
        closing: list[str] = []
        for slot in tail:
            if slot.kind == "ps":
                closing.append(f"{req.postscript} {self._sentence(slot)}")
            else:
                closing.append(self._sentence(slot))
        if closing:
            groups.append(closing)
        main_sentences = [self._sentence(s) for s in main]
        if main_sentences:
            target = req.paragraphs
            if target is not None and target > len(groups):
                parts = target - len(groups)
                chunks = _split_evenly(main_sentences, parts)
                for offset, chunk in enumerate(chunks):
                    groups.insert(main_group_at + offset, [" ".join(chunk)])
            else:
                groups.insert(main_group_at, [" ".join(main_sentences)])
        if req.paragraphs is not None and len(groups) > req.paragraphs:
            keep = max(req.paragraphs, 1)
            merged = [*groups[:keep - 1], [line for group in groups[keep - 1:] for line in group]]
            groups = merged
        text = "\n\n".join("\n".join(group) for group in groups)
        return self._case(text)

    def _case(self, text: str) -> str:
        if self.req.case == "lower":
            return text.lower()
        if self.req.case == "upper":
            return text.upper()
        return text

    def finish(self, body: str) -> str:
        req = self.req
        if req.json:
            key = "ANSWER" if req.case == "upper" else "answer"
            return json.dumps({key: body}, ensure_ascii=False)
        if req.quoted:
            first_line = body.split("\n", 1)[0]
            opener = '"'
            if textmod._LIST_ITEM.match(first_line) or textmod._HEADING.match(first_line) or (
                textmod._POSTSCRIPT.match(first_line)
            ) or (req.sections and first_line.casefold().startswith(req.sections[0].casefold())):
                opener = '"\n'
            return opener + body + '"'
        return body


def _split_evenly(items: list[str], parts: int) -> list[list[str]]:
    parts = max(1, min(parts, len(items)))
    size, extra = divmod(len(items), parts)
    chunks: list[list[str]] = []
    start = 0
    for index in range(parts):
        end = start + size + (1 if index < extra else 0)
        chunks.append(items[start:end])
        start = end
    return chunks


def compose_from_requirements(req: Requirements, answer: str | None = None) -> str:
    """Compose the text for already collected requirements (no final re-check)."""
    composer = _Composer(req, answer)
    return composer.finish(composer.compose())


def compose_witness(active: list, answer: str | None = None) -> str:
    """One response that passes every checker of ``active`` (a list of ``Instruction``) and contains ``answer``.

    The answer keeps its words; only its case may change when an instruction forces the case, its commas become
    "and" under ``punctuation:no_commas``, and trailing sentence punctuation is dropped so it can sit inside a
    sentence. Raises ``ValueError`` when the set (with this answer) cannot be satisfied.
    """
    from generator.core.instructions.check import check
    from generator.core.instructions.registry import get_type

    req = Requirements()
    for instruction in active:
        get_type(instruction.id).contribute(instruction.kwargs, req)
    text = compose_from_requirements(req, answer)
    for instruction in active:
        verdict = check(instruction, text)
        if not verdict.ok:
            raise ValueError(f"cannot satisfy {instruction.id} together with the others: {verdict.reason}")
    return text
