"""A byte-level BPE tokenizer trained on the test's own texts (nothing downloaded), for the real-trainer tests.

Byte-level BPE decodes every token sequence back to the exact text it encoded, so a trainer that decodes responses
hands the reward the same text the test scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

IMAGE_TOKEN = "<image>"
# Message content is a string (text-only rows) or TRL's typed parts (vision-language rows), where each image part
# becomes the processor's image token, which a LLaVA processor expands to one token per patch of the image.
CHAT_TEMPLATE = ("{% for m in messages %}<|{{ m['role'] }}|>"
                 "{% if m['content'] is string %}{{ m['content'] }}{% else %}{% for part in m['content'] %}"
                 "{% if part['type'] == 'image' %}" + IMAGE_TOKEN + "{% else %}{{ part['text'] }}{% endif %}"
                 "{% endfor %}{% endif %}<|end|>{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}")


def byte_level_tokenizer(corpus: list[str], vocab_size: int = 600, special: Sequence[str] = ()) -> Any:
    """A ``transformers`` fast tokenizer with a pad, an end-of-text token, a small chat template and any extra
    ``special`` tokens (such as :data:`IMAGE_TOKEN`)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokens = ["<pad>", "<unk>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>", *special]
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=tokens, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(corpus, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="<pad>", unk_token="<unk>",
                                   eos_token="<|end|>")
    fast.chat_template = CHAT_TEMPLATE
    return fast
