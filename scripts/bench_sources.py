"""Measure image Q&A sources on one core: render throughput per family and chat planning speed.

    python scripts/bench_sources.py [--images 300] [--chats 300]

Rendering is timed as ``render_image`` (draw + PNG/JPEG encoding), the work the generator does per image;
planning is ``sample_chat`` for 20-question chats with 2-5 images. Rates use the process's CPU time, so a busy
machine does not distort them. Results go to docs/benchmarks.md by hand.
"""

from __future__ import annotations

import argparse
import platform
import time

from generator.common.rng import derive_rng
from generator.generation.sources import get_source, render_image
from generator.generation.sources.families import all_families
from generator.generation.sources.mix import procedural_image_spec


def bench_family(family, count: int) -> tuple[float, float, float]:
    """Return (images/s, mean KiB, specs sampled/s) over difficulties 1-3, by CPU time of this process.

    CPU time rather than wall time: on a shared machine other processes would otherwise count against us.
    Text masks are cached per process, so the first images are rendered once before timing.
    """
    start = time.process_time()
    specs = [family.sample_valid(derive_rng("bench", family.name, k), 1 + k % 3) for k in range(count)]
    sampled = count / (time.process_time() - start)
    image_specs = [procedural_image_spec(family, spec) for spec in specs]
    for spec in image_specs[:20]:
        render_image(spec)
    start = time.process_time()
    sizes = [len(render_image(spec)[0]) for spec in image_specs]
    rate = count / (time.process_time() - start)
    return rate, sum(sizes) / len(sizes) / 1024, sampled


def bench_chats(name: str, count: int) -> float:
    source = get_source(name)
    start = time.process_time()
    for k in range(count):
        rng = derive_rng("bench", "chat", k)
        source.sample_chat(rng, rng.randint(2, 5), 20)
    return count / (time.process_time() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=300, help="images per family")
    parser.add_argument("--chats", type=int, default=300, help="chats planned per source")
    args = parser.parse_args()
    print(f"Python {platform.python_version()}, one process, rates by CPU time")
    print("| family | images/s | ms/image | KiB/image | specs sampled/s |\n|---|---|---|---|---|")
    for family in all_families():
        rate, kib, sampled = bench_family(family, args.images)
        print(f"| {family.name} | {rate:.0f} | {1000 / rate:.2f} | {kib:.1f} | {sampled:.0f} |")
    try:
        photos = get_source("photos")
        specs = photos.sample_chat(derive_rng("bench", "photos"), 5, 5).images * 20
        start = time.process_time()
        sizes = [len(render_image(spec)[0]) for spec in specs]
        rate = len(specs) / (time.process_time() - start)
        print(f"| photos (JPEG) | {rate:.0f} | {1000 / rate:.2f} | {sum(sizes) / len(sizes) / 1024:.1f} | - |")
    except Exception as exc:  # the photos extra is optional
        print(f"| photos | skipped: {exc} | | | |")
    print("\n| source | chats planned/s (20 questions, 2-5 images) |\n|---|---|")
    for name in ("mix", "shapes", "receipt"):
        print(f"| {name} | {bench_chats(name, args.chats):.0f} |")


if __name__ == "__main__":
    main()
