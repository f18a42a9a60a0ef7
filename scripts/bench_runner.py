"""Throughput of ``generator.running.runner.run`` against the local rule-based server (tests/fake_openai_server.py).

Measures the client-side overhead (messages, base64 images, HTTP, fsynced appends) with an instant server, and how
concurrency hides a fixed server latency for both history modes.

    python scripts/bench_runner.py --conversations 20 --turns 10 --delay 0.05 --concurrency 1,8
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fake_openai_server import FakeServer

from generator.common.rng import derive_rng
from generator.running.client import ChatClient
from generator.running.runner import RunOptions, run


def make_rows(conversations: int, turns: int, images: int) -> list[dict]:
    from PIL import Image, ImageDraw

    rows = []
    for c in range(conversations):
        pictures = []
        for i in range(images):
            # a noisy band makes the PNG about as large as a real chart or photo crop (~60 KiB)
            noise = derive_rng("bench-runner", c, i).randbytes(512 * 96)
            img = Image.new("RGB", (512, 512), (255, 255, 255))
            img.paste(Image.frombytes("L", (512, 96), noise).convert("RGB"), (0, 400))
            draw = ImageDraw.Draw(img)
            for k in range(12):
                draw.rectangle((20 + 37 * k, 30 + 11 * i, 50 + 37 * k, 380 - 13 * c % 200), fill=(k * 20, 90, 200))
            buffer = io.BytesIO()
            img.save(buffer, format="PNG")
            pictures.append({"bytes": buffer.getvalue(), "path": None})
        rows.append({"id": f"c{c:05d}", "system_prompt": "", "images": pictures,
                     "turns": [{"turn": t, "prompt": f"Question {t} about Image{t % images + 1}?"}
                               for t in range(1, turns + 1)]})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--images", type=int, default=3)
    parser.add_argument("--delay", type=float, default=0.0, help="server latency per request, seconds")
    parser.add_argument("--concurrency", default="1,8")
    args = parser.parse_args()
    rows = make_rows(args.conversations, args.turns, args.images)
    witnesses = {row["id"]: [f"Reference {t}." for t in range(args.turns)] for row in rows}
    total = args.conversations * args.turns
    print(f"{args.conversations} conversations x {args.turns} turns, {args.images} images of "
          f"{sum(len(i['bytes']) for i in rows[0]['images']) // args.images // 1024} KiB, server delay {args.delay}s")
    with tempfile.TemporaryDirectory() as tmp:
        server = FakeServer(Path(tmp) / "log.jsonl", delay=args.delay).start()
        try:
            for history in ("model", "reference"):
                for concurrency in (int(c) for c in args.concurrency.split(",")):
                    out = Path(tmp) / f"{history}-{concurrency}.jsonl"
                    client = ChatClient(server.base_url, timeout=30)
                    started = time.perf_counter()
                    run(rows, client, out, RunOptions(model="fake", history=history, concurrency=concurrency),
                        quiet=True, reference_fn=lambda row: witnesses[row["id"]])
                    elapsed = time.perf_counter() - started
                    print(f"history={history:9s} concurrency={concurrency:2d}: {total} responses in {elapsed:6.2f} s"
                          f" = {total / elapsed:7.1f} responses/s")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
