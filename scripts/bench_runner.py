"""Throughput of ``mmmtif run`` (``generator.running.runner.run``) against a fixed-latency server, beside a plain
aiohttp request loop measured in the same run.

The server runs in its own process (an aiohttp app that answers every chat-completions POST after ``--delay``
seconds), so the client's own costs (messages, base64 images, JSON, HTTP, the durable response log) are what the
figures show. For each concurrency the script times, ``--repeats`` times each:

* ``plain``: the reference, N coroutines POSTing pre-encoded request bodies of the same size with one aiohttp
  session, nothing else;
* ``runner``: the product's ``run`` with ``--history reference`` (every turn is ready at once), writing its
  fsynced response file.

and prints min / median / max responses per second, the share of the ideal (concurrency / latency), the
runner / plain ratio and the client CPU per response of each (median, ``time.process_time``: every thread of this
process, the server excluded), plus the CPU and wall time of the whole script and the load average before and
after. The two loops alternate within each repeat, and which one goes first alternates from one repeat to the
next, so both see the same machine; the plain loop checks every answer's status as the runner does. Every request is distinct: each
conversation has images of its own and each turn its own history.

    python scripts/bench_runner.py --delay 0.1 --concurrency 8,32,128 --repeats 3
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from generator.common.rng import derive_rng
from generator.running.client import ChatClient
from generator.running.runner import RunOptions, build_messages, image_data_uri, run

ANSWER = json.dumps({"id": "x", "object": "chat.completion", "model": "bench",
                     "choices": [{"index": 0, "message": {"role": "assistant", "content": "A short answer."},
                                  "finish_reason": "stop"}],
                     "usage": {"prompt_tokens": 300, "completion_tokens": 3, "total_tokens": 303}}).encode()


def serve(port: int, delay: float) -> None:
    """The server process: read the body, wait ``delay``, answer a fixed completion."""
    from aiohttp import web

    async def completions(request: web.Request) -> web.Response:
        await request.read()
        await asyncio.sleep(delay)
        return web.Response(body=ANSWER, content_type="application/json")

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/v1/chat/completions", completions)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, backlog=1024)


def make_rows(conversations: int, turns: int, images: int) -> list[dict]:
    from PIL import Image, ImageDraw

    rows = []
    for c in range(conversations):
        pictures = []
        for i in range(images):
            # a noisy band makes the PNG as large as a detailed photo crop (~130 KB), different in every image
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


def plain_loop(url: str, bodies: list[bytes], concurrency: int) -> float:
    """Seconds for N coroutines to POST every body once with one aiohttp session (the reference).

    Every answer's status is checked, as the runner checks it: a failed request is not a response, and any
    failure stops the benchmark rather than inflating the reference.
    """
    import aiohttp

    async def main() -> float:
        queue = list(reversed(bodies))
        failures: list[int] = []
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            async def worker() -> None:
                while queue:
                    body = queue.pop()
                    async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as r:
                        await r.read()
                        if r.status != 200:
                            failures.append(r.status)

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
        if failures:
            raise SystemExit(f"plain loop: {len(failures)} of {len(bodies)} requests failed (HTTP "
                             f"{sorted(set(failures))}); the figures would count errors as responses")
        return elapsed

    return asyncio.run(main())


def runner_once(url: str, rows: list[dict], witnesses: dict, concurrency: int, out: Path) -> float:
    """Seconds for ``run`` to answer every turn of ``rows`` (reference history), response file included."""
    if out.exists():
        out.unlink()
    client = ChatClient(url, timeout=60, max_retries=0)
    started = time.perf_counter()
    run(rows, client, out, RunOptions(model="bench", history="reference", concurrency=concurrency), quiet=True,
        reference_fn=lambda row: witnesses[row["id"]])
    return time.perf_counter() - started


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(port: int) -> None:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("bench server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.1, help="server latency per request, seconds")
    parser.add_argument("--concurrency", default="8,32,128")
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--images", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=10,
                        help="requests per measurement = rounds x concurrency (at least 100)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.delay)
        return

    port = _free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port), "--delay", str(args.delay)])
    cpu0, wall0 = time.process_time(), time.perf_counter()
    try:
        _wait_for(port)
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        load = os.getloadavg()
        print(f"server delay {args.delay * 1000:.0f} ms (own process), {args.images} PNG images per conversation, "
              f"{args.repeats} repeats; responses/s as min / median / max; client CPU ms per response (median)")
        print(f"{'conc':>5} {'ideal':>7} | {'plain aiohttp loop':>24} {'%ideal':>6} {'cpu':>5} | "
              f"{'mmmtif run':>24} {'%ideal':>6} {'cpu':>5} | runner/plain")
        for concurrency in (int(c) for c in args.concurrency.split(",")):
            total = max(100, args.rounds * concurrency)
            conversations = -(-total // args.turns)
            rows = make_rows(conversations, args.turns, args.images)
            witnesses = {row["id"]: [f"Reference {t}." for t in range(args.turns)] for row in rows}
            bodies = []
            for row in rows:
                uris = [image_data_uri(img) for img in row["images"]]
                for index in range(args.turns):
                    messages = build_messages(row, index, witnesses[row["id"]][:index], uris)
                    bodies.append(ChatClient.payload(messages, model="bench"))
            if len(set(bodies)) != len(bodies):
                raise SystemExit("two requests are the same: the comparison would favour caching")
            ideal = concurrency / args.delay
            plain, runner, plain_cpu, runner_cpu = [], [], [], []
            with tempfile.TemporaryDirectory() as tmp:
                for repeat in range(args.repeats):
                    # which loop goes first alternates, so that neither always meets a warmer (or busier) machine
                    for which in (("plain", "runner") if repeat % 2 == 0 else ("runner", "plain")):
                        cpu = time.process_time()
                        if which == "plain":
                            plain.append(len(bodies) / plain_loop(url, bodies, concurrency))
                            plain_cpu.append((time.process_time() - cpu) / len(bodies) * 1000)
                        else:
                            runner.append(len(bodies) / runner_once(url, rows, witnesses, concurrency,
                                                                    Path(tmp) / "out.jsonl"))
                            runner_cpu.append((time.process_time() - cpu) / len(bodies) * 1000)

            def fmt(values: list[float]) -> str:
                return f"{min(values):6.0f} / {statistics.median(values):6.0f} / {max(values):6.0f}"

            print(f"{concurrency:5d} {ideal:7.0f} | {fmt(plain):>24} {statistics.median(plain) / ideal:6.0%} "
                  f"{statistics.median(plain_cpu):5.2f} | {fmt(runner):>24} {statistics.median(runner) / ideal:6.0%} "
                  f"{statistics.median(runner_cpu):5.2f} | {statistics.median(runner) / statistics.median(plain):.2f}"
                  f"   ({len(bodies)} requests of {statistics.mean(map(len, bodies)) / 1024:.0f} KiB)", flush=True)
    finally:
        server.terminate()
        server.wait()
    print(f"client process: CPU {time.process_time() - cpu0:.1f} s, wall {time.perf_counter() - wall0:.1f} s "
          f"({os.cpu_count()} cores); load average before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, after "
          + " ".join(f"{value:.2f}" for value in os.getloadavg()))


if __name__ == "__main__":
    main()
