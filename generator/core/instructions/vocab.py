"""Word lists shared by the samplers and the witness composer.

The lists are kept disjoint on purpose: a keyword that must appear exactly twice must never be produced by the
witness as filler, and a forbidden word must never be a sentence starter. ``tests/test_instructions_*`` checks
the disjointness.
"""

from __future__ import annotations

# Sentence starters per letter: the witness opens each sentence with one of them to satisfy start:letter.
STARTERS: dict[str, tuple[str, ...]] = {
    "A": ("Also", "Again"),
    "B": ("Both", "Beyond"),
    "C": ("Consider", "Certainly"),
    "D": ("During", "Details"),
    "E": ("Each", "Even"),
    "F": ("First", "From"),
    "G": ("Given", "Generally"),
    "H": ("Here", "Having"),
    "I": ("In", "Indeed"),
    "J": ("Judging", "Jointly"),
    "K": ("Kindly", "Keep"),
    "L": ("Looking", "Lastly"),
    "M": ("Most", "Many"),
    "N": ("Next", "Notably"),
    "O": ("Overall", "Often"),
    "P": ("Perhaps", "Put"),
    "Q": ("Quietly", "Quickly"),
    "R": ("Regarding", "Roughly"),
    "S": ("So", "Surely"),
    "T": ("This", "Then"),
    "U": ("Upon", "Usually"),
    "V": ("Viewed", "Various"),
    "W": ("We", "With"),
    "X": ("Xylophones", "Xeroxed"),
    "Y": ("Yes", "Yet"),
    "Z": ("Zooming", "Zealously"),
}
DEFAULT_STARTERS: tuple[str, ...] = ("This", "Here", "Overall")

# Neutral words used to lengthen sentences; no digits, no capitals, no keyword or forbidden word.
FILLERS: tuple[str, ...] = (
    "the", "view", "shows", "a", "calm", "scene", "with", "soft", "light", "and", "clear", "detail",
    "in", "every", "part", "of", "frame",
)

# Keywords the samplers draw for keyword:include / keyword:frequency (official ones first).
KEYWORDS: tuple[str, ...] = (
    "per se", "itself", "like", "remarkable", "context", "picture", "observe", "color", "shape", "texture",
    "balance", "contrast",
)

# Words the samplers draw for keyword:forbidden (common hedges and intensifiers).
FORBIDDEN: tuple[str, ...] = (
    "very", "really", "basically", "actually", "literally", "obviously", "honestly", "simply", "just", "totally",
)

START_PHRASES: tuple[str, ...] = (
    "My answer is",
    "Here is my answer",
    "Looking at the images",
    "In short",
    "To answer your question",
    "Based on what I see",
)

END_PHRASES: tuple[str, ...] = (
    "Is there anything else I can help with?",
    "Let me know if you have more questions.",
    "Hope this helps!",
    "That is all for now.",
    "Any other questions?",
)

SECTION_MARKERS: tuple[str, ...] = ("Section", "Part", "Step", "Chapter")
POSTSCRIPT_MARKERS: tuple[str, ...] = ("P.S.", "P.P.S.")

PLACEHOLDERS: tuple[str, ...] = ("[name]", "[place]", "[date]", "[item]", "[color]", "[size]")
HIGHLIGHTS: tuple[str, ...] = ("*important*", "*visible*", "*central*", "*striking*", "*useful*", "*main*")
CAPITAL_WORDS: tuple[str, ...] = ("NOTE", "KEY", "MAIN", "CORE", "TOP", "BIG")
QUOTATION = '"well lit"'
TITLE_WORD = "summary"
