"""Measure image Q&A sources on one core: render cost per family and chat planning cost.

    python scripts/bench_sources.py [--images 300] [--chats 300] [--repeats 3]

Rendering is timed as ``render_image`` (draw + PNG/JPEG encoding), the work the generator does per image;
planning is ``sample_chat`` for 20-question chats with 2-5 images. Every repeat draws its own scenes and chats
(distinct seeds), so no timed input has been seen before; the text masks the families cache per process are warmed
on scenes of their own first. Photos are decoded and encoded once per process and then served from memory, so
their figure is that first encoding (the cache is emptied before each repeat). Prints CPU time of this process and wall
time per item, min / median / max over the repeats, with the commit and the load average. Results go to
docs/benchmarks.md by hand.
"""

from __future__ import annotations

import argparse
import time

import benchinfo

from generator.common.rng import derive_rng
from generator.generation.sources import get_source, render_image
from generator.generation.sources.families import all_families
from generator.generation.sources.mix import procedural_image_spec


def bench_family(family, count: int, repeat: int) -> tuple[float, float, float, float, float]:
    """(render CPU ms, render wall ms, KiB per image, sampling CPU us, sampling wall us) for ``count`` new scenes
    over difficulties 1-3."""
    cpu, wall = time.process_time(), time.perf_counter()
    specs = [family.sample_valid(derive_rng("bench", family.name, repeat, k), 1 + k % 3) for k in range(count)]
    sample_cpu, sample_wall = time.process_time() - cpu, time.perf_counter() - wall
    image_specs = [procedural_image_spec(family, spec) for spec in specs]
    cpu, wall = time.process_time(), time.perf_counter()
    sizes = [len(render_image(spec)[0]) for spec in image_specs]
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return (cpu / count * 1000, wall / count * 1000, sum(sizes) / count / 1024,
            sample_cpu / count * 1e6, sample_wall / count * 1e6)


def warm(family, count: int = 20) -> None:
    """Fill the per-process text masks with scenes that are not timed."""
    for k in range(count):
        render_image(procedural_image_spec(family, family.sample_valid(derive_rng("bench", "warm", k), 1 + k % 3)))


def bench_photos() -> tuple[float, float, float, int]:
    """(CPU ms, wall ms, KiB) per photo, mean of the first encoding of every installed photo, and their number."""
    from generator.generation.sources.photos import _encoded_photo, available_photos

    names = available_photos()
    _encoded_photo.cache_clear()
    cpu, wall = time.process_time(), time.perf_counter()
    sizes = [len(render_image({"source": "photos", "kind": "photos", "photo": name})[0]) for name in names]
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return cpu / len(names) * 1000, wall / len(names) * 1000, sum(sizes) / len(names) / 1024, len(names)


def bench_chats(name: str, count: int, repeat: int) -> tuple[float, float]:
    """(CPU ms, wall ms) per chat planned."""
    source = get_source(name)
    cpu, wall = time.process_time(), time.perf_counter()
    for k in range(count):
        rng = derive_rng("bench", "chat", repeat, k)
        source.sample_chat(rng, rng.randint(2, 5), 20)
    return (time.process_time() - cpu) / count * 1000, (time.perf_counter() - wall) / count * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=300, help="images per family and repeat")
    parser.add_argument("--chats", type=int, default=300, help="chats planned per source and repeat")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    started, started_cpu = time.perf_counter(), benchinfo.script_cpu()
    benchinfo.header(f"image sources, one process; {args.images} images per family, {args.chats} chats per source, "
                     f"{args.repeats} repeats (min / median / max)")
    print("| family | CPU ms/image | wall ms/image | KiB/image | CPU us/spec sampled | wall us/spec sampled |")
    print("|---|---|---|---|---|---|")
    for family in all_families():
        warm(family)
        runs = [bench_family(family, args.images, repeat) for repeat in range(args.repeats)]
        cpu, wall, kib, sample_cpu, sample_wall = ([run[i] for run in runs] for i in range(5))
        print(f"| {family.name} | {benchinfo.spread(cpu)} | {benchinfo.spread(wall)} | {benchinfo.spread(kib, 1)} | "
              f"{benchinfo.spread(sample_cpu, 0)} | {benchinfo.spread(sample_wall, 0)} |")
    try:
        photos = [bench_photos() for _ in range(args.repeats)]
    except Exception as exc:  # the photos extra is optional
        print(f"| photos | skipped: {exc} | | | | |")
    else:
        cpu, wall, kib = ([run[i] for run in photos] for i in range(3))
        print(f"| photos (JPEG, first encoding, mean of {photos[0][3]}) | {benchinfo.spread(cpu)} | "
              f"{benchinfo.spread(wall)} | {benchinfo.spread(kib, 1)} | - | - |")
    print("\n| source | CPU ms/chat planned (20 questions, 2-5 images) | wall ms/chat |\n|---|---|---|")
    for name in ("mix", "shapes", "receipt"):
        runs = [bench_chats(name, args.chats, repeat) for repeat in range(args.repeats)]
        print(f"| {name} | {benchinfo.spread([r[0] for r in runs], 3)} | {benchinfo.spread([r[1] for r in runs], 3)} |")
    benchinfo.footer(benchinfo.script_cpu() - started_cpu, time.perf_counter() - started)


if __name__ == "__main__":
    main()
