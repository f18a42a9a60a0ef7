"""Real photographs: the public-domain / CC0 sample images that ship inside the scikit-image wheel.

Only files present in the wheel are used (nothing is downloaded). The questions are open-ended: a photo has no
answer that can be checked by a program, so these chats measure instruction following alone.
"""

from __future__ import annotations

import random
from functools import lru_cache
from pathlib import Path
from typing import Any

from generator.common.errors import UserError
from generator.generation.sources.base import (
    GENERIC_MULTI,
    QA,
    ChatMaterial,
    ImageSpec,
    Source,
    SourceInfo,
    image_name,
    pick_questions,
)

MAX_SIDE = 512

# name -> (file in skimage/data, licence, attribution, open questions with {a} for the image name)
PHOTOS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "astronaut": ("astronaut.png", "Public domain",
                  "Eileen Collins, NASA Great Images database (via scikit-image)",
                  ("What is the person in {a} wearing?", "What can you see in the background of {a}?",
                   "What might the occasion for taking {a} have been?")),
    "camera": ("camera.png", "CC0-1.0", "Lav Varshney (via scikit-image)",
               ("What is the person in {a} doing?", "Describe the setting of {a}.",
                "Why might {a} be in black and white?")),
    "chelsea": ("chelsea.png", "CC0-1.0", "Stefan van der Walt (via scikit-image)",
                ("What animal is shown in {a}, and what is it doing?", "Describe the fur pattern in {a}.",
                 "What mood does the animal in {a} seem to be in?")),
    "coffee": ("coffee.png", "CC0-1.0", "Rachel Michetti, courtesy of Pikolo Espresso Bar (via scikit-image)",
               ("What drink is shown in {a}?", "Describe the pattern on the drink in {a}.",
                "What is the surface under the cup in {a} made of?")),
    "coins": ("coins.png", "No known copyright restrictions", "Brooklyn Museum Collection (via scikit-image)",
              ("What objects are laid out in {a}?", "How are the objects in {a} arranged?",
               "What could the objects in {a} tell a historian?")),
    "rocket": ("rocket.jpg", "Public domain", "SpaceX, launch of DSCOVR on Falcon 9 (via scikit-image)",
               ("What event is shown in {a}?", "Describe the weather in {a}.",
                "What structures stand next to the vehicle in {a}?")),
    "hubble_deep_field": ("hubble_deep_field.jpg", "Public domain", "NASA / HubbleSite (via scikit-image)",
                          ("What do the bright spots in {a} show?", "Which colours appear in {a}?",
                           "Why is {a} scientifically interesting?")),
    "retina": ("retina.jpg", "CC0-1.0", "Mikael Häggström, Wikimedia Commons (via scikit-image)",
               ("What part of the body is shown in {a}?", "Describe the lines running across {a}.",
                "What kind of instrument could have taken {a}?")),
    "immunohistochemistry": ("ihc.png", "No known copyright restrictions",
                             "Center for Microscopy And Molecular Imaging (via scikit-image)",
                             ("What kind of image is {a}?", "Which colours dominate {a}, and what might they mark?",
                              "Describe the structures visible in {a}.")),
    "text": ("text.png", "Public domain", "Wikipedia, File:Corner.png (via scikit-image)",
             ("What is written in {a}?", "How is the text in {a} styled?",
              "What makes the text in {a} hard or easy to read?")),
    "clock": ("clock_motion.png", "Public domain", "Stefan van der Walt (via scikit-image)",
              ("What object is shown in {a}?", "Why does {a} look blurred?",
               "Can you tell the time from {a}? Explain.")),
    "horse": ("horse.png", "CC0-1.0", "Andreas Preuss (marauder), openclipart (via scikit-image)",
              ("What animal is shown in {a}?", "What is the animal in {a} doing?",
               "What style of picture is {a}?")),
    "brick": ("brick.png", "CC0-1.0", "CC0Textures, Bricks25 (via scikit-image)",
              ("What surface is shown in {a}?", "Describe the pattern in {a}.",
               "Where might you find the surface shown in {a}?")),
    "grass": ("grass.png", "CC0-1.0", "linolafett, DeviantArt (via scikit-image)",
              ("What is shown in {a}?", "Describe the texture in {a}.", "Where might {a} have been taken?")),
    "gravel": ("gravel.png", "CC0-1.0", "CC0Textures, Gravel04 (via scikit-image)",
               ("What material is shown in {a}?", "Describe the sizes of the pieces in {a}.",
                "What could the material in {a} be used for?")),
}

PHOTOS_INFO = SourceInfo("photos", "photos", ("open",), "Public domain / CC0 (per image)",
                         "scikit-image's bundled sample photographs (install the 'photos' extra); open questions.")

PHOTO_MULTI = (
    "Which of {a} and {b} was more likely taken outdoors, and why?",
    "Which of {a} and {b} has more visible detail?",
    "How does the lighting differ between {a} and {b}?",
    "Could {a} and {b} appear in the same article? Explain.",
)


@lru_cache(maxsize=1)
def data_dir() -> Path:
    """Return scikit-image's data folder, or raise ``UserError`` when the extra is not installed."""
    try:
        import skimage.data
    except ImportError:
        raise UserError("the photos source needs scikit-image: pip install 'mmmt-if[photos]'") from None
    return Path(skimage.data.__file__).resolve().parent


def available_photos() -> list[str]:
    """Return the names of the photos whose files are present in the installed scikit-image."""
    folder = data_dir()
    return [name for name, (file, *_rest) in PHOTOS.items() if (folder / file).is_file()]


class PhotosSource(Source):
    name = "photos"
    kind = "photos"
    prefix = "photos"
    image_kinds = ("photos",)

    @classmethod
    def from_spec(cls, argument: str, *, column_map: dict[str, str], difficulty: int) -> Source:
        if argument:
            raise UserError("photos takes no argument", where="--source")
        return cls()

    @classmethod
    def render(cls, spec: ImageSpec) -> tuple[bytes, str]:
        return render_photo(spec)

    @classmethod
    def meta(cls, spec: ImageSpec) -> dict[str, Any]:
        return photo_meta(spec)

    def __init__(self) -> None:
        self.names = available_photos()
        if len(self.names) < 2:
            raise UserError("the installed scikit-image ships fewer than two sample photos")

    def sample_chat(self, rng: random.Random, n_images: int, n_questions: int) -> ChatMaterial:
        if n_images <= len(self.names):
            chosen = rng.sample(self.names, n_images)
        else:
            chosen = [rng.choice(self.names) for _ in range(n_images)]
        singles = [[QA(q.format(a=image_name(i)), None, "open", [i]) for q in PHOTOS[photo][3]]
                   for i, photo in enumerate(chosen)]
        multis = []
        for i in range(n_images):
            for j in range(i + 1, n_images):
                template = rng.choice(PHOTO_MULTI + GENERIC_MULTI)
                multis.append(QA(template.format(a=image_name(i), b=image_name(j)), None, "open", [i, j]))
        qas = pick_questions(rng, singles, multis, n_questions)
        images: list[ImageSpec] = [{"source": "photos", "kind": "photos", "photo": photo} for photo in chosen]
        return ChatMaterial(images=images, qas=qas)


def render_photo(spec: ImageSpec) -> tuple[bytes, str]:
    """Return the photo as JPEG, at most 512 pixels on its longest side."""
    name = spec["photo"]
    if name not in PHOTOS:
        raise UserError(f"unknown photo {name!r} in an image spec")
    return _encoded_photo(name), "jpeg"


@lru_cache(maxsize=len(PHOTOS))
def _encoded_photo(name: str) -> bytes:
    """Decode, shrink and encode a photo once per process (about 20 ms; the set is small and fixed)."""
    from PIL import Image

    from generator.generation.sources.drawing import encode_jpeg

    with Image.open(data_dir() / PHOTOS[name][0]) as image:
        image.load()
        picture = image.convert("RGB") if image.mode != "L" else image.copy()
    picture.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return encode_jpeg(picture)


def photo_meta(spec: ImageSpec) -> dict[str, Any]:
    _file, licence, attribution, _questions = PHOTOS[spec["photo"]]
    return {"source": "photos", "license": licence, "attribution": attribution}
