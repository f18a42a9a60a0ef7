"""``mmmtif run``: get responses from a model behind an OpenAI-compatible chat-completions endpoint."""

from __future__ import annotations

import json
import os
from typing import Any

import click

from generator.cli import COMMANDS
from generator.common.errors import UserError
from generator.running.conversations import conversations_without_images, load_conversations


@click.command("run")
@click.option("--dataset", required=True, help="Dataset folder (e.g. ./mmmt-if) or Hub repo id.")
@click.option("--config", default=None, help="Dataset config (variant); the default config when omitted.")
@click.option("--split", default=None, help="Split to run; 'test' or the only split when omitted.")
@click.option("--model", required=True, help="Model name sent to the endpoint.")
@click.option("--base-url", required=True, help="Endpoint base URL, e.g. http://localhost:8000/v1.")
@click.option("--api-key-env", default="OPENAI_API_KEY", show_default=True,
              help="Environment variable holding the API key (unset: no key is sent).")
@click.option("--samples", type=click.IntRange(min=1), default=1, show_default=True,
              help="Responses per turn (N of PIF-N-K).")
@click.option("--history", type=click.Choice(["model", "reference", "source"]), default="model", show_default=True,
              help="Earlier assistant turns: the model's own answers (sample 0), fixed oracle answers that obey the "
                   "instructions (reference), or the dataset's own answers verbatim (source; MMDU's answers, which "
                   "ignore the format instructions).")
@click.option("--temperature", type=float, default=None, help="Sampling temperature (server default if unset).")
@click.option("--max-tokens", type=click.IntRange(min=1), default=None, help="Completion token limit.")
@click.option("--seed", type=int, default=None,
              help="Send a per-request seed derived from this and (id, turn, sample), for servers that honour it.")
@click.option("--extra-body", default=None, help="JSON object merged into every request body.")
@click.option("--concurrency", type=click.IntRange(min=1), default=4, show_default=True,
              help="Requests in flight at once.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=120.0, show_default=True,
              help="Seconds without a byte from the server before retrying; ten times this bounds a whole answer.")
@click.option("--max-retries", type=click.IntRange(min=0), default=6, show_default=True,
              help="Retries per request on 429, 5xx, timeouts and malformed bodies.")
@click.option("--backoff-base", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="First retry delay in seconds (doubles each retry).")
@click.option("--backoff-max", type=click.FloatRange(min=0), default=60.0, show_default=True,
              help="Longest retry delay in seconds (also caps Retry-After).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N conversations.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="responses.jsonl to write; existing lines are kept and skipped (resume).")
@click.option("--on-error", type=click.Choice(["stop", "record"]), default="stop", show_default=True,
              help="When the server refuses one request for good (400/413/422, e.g. context too long): stop, or "
                   "record an empty answer with finish_reason 'error' and go on.")
@click.option("--sort/--no-sort", default=True, show_default=True,
              help="Rewrite the file sorted by (id, turn, sample) when the run completes.")
@click.option("--quiet", is_flag=True, help="No progress bar or summary.")
@click.pass_context
def command(ctx: click.Context, dataset: str, config: str | None, split: str | None, model: str, base_url: str,
            api_key_env: str, samples: int, history: str, temperature: float | None, max_tokens: int | None,
            seed: int | None, extra_body: str | None, concurrency: int, timeout: float, max_retries: int,
            backoff_base: float, backoff_max: float, limit: int | None, out_path: str, on_error: str,
            sort: bool, quiet: bool) -> None:
    """Ask a model every turn of the dataset (N samples each) and append the answers to --out.

    Resumable: rerun the same command after an interruption and only the missing (id, turn, sample) are asked.
    """
    from generator.running.client import ChatClient
    from generator.running.runner import RunOptions, run

    api_key = os.environ.get(api_key_env) or None
    given = ctx.get_parameter_source("api_key_env") == click.core.ParameterSource.COMMANDLINE
    if api_key is None and given:
        raise UserError(f"environment variable {api_key_env} is not set", where="--api-key-env")
    extra: dict[str, Any] | None = None
    if extra_body:
        try:
            extra = json.loads(extra_body)
        except json.JSONDecodeError as exc:
            raise UserError(f"not JSON: {exc.msg}", where="--extra-body") from None
        if not isinstance(extra, dict):
            raise UserError("must be a JSON object", where="--extra-body")
    try:
        client = ChatClient(base_url, api_key=api_key, timeout=timeout, max_retries=max_retries,
                            backoff_base=backoff_base, backoff_max=backoff_max)
    except ValueError as exc:
        raise UserError(str(exc), where="--base-url") from None
    options = RunOptions(model=model, history=history, samples=samples, temperature=temperature,
                         max_tokens=max_tokens, concurrency=concurrency, seed=seed, extra_body=extra, sort=sort,
                         record_errors=on_error == "record")
    if samples > 1 and temperature == 0 and not quiet:
        click.echo(f"note: --samples {samples} with --temperature 0: a greedy server answers every sample alike, "
                   "which makes PIF-N-K equal PIF-1-1", err=True)
    rows = load_conversations(dataset, config, split, quiet=quiet)
    without, total = conversations_without_images(rows, limit)
    if without:
        click.echo(f"warning: {without} of {total} conversations have no images and are sent as text only (the "
                   "official release publishes none: rebuild it with `mmmtif import-official CSV --mmdu SOURCE`)",
                   err=True)
    summary = run(rows, client, out_path, options, limit=limit, quiet=quiet)
    if not quiet:
        resumed = f", {summary.already_done} kept from before" if summary.already_done else ""
        repaired = "; removed a truncated last line" if summary.dropped_partial_line else ""
        if summary.recorded_errors:
            repaired += f"; {summary.recorded_errors} refused requests recorded as empty answers"
        click.echo(f"{summary.completed} new responses{resumed} ({summary.already_done + summary.completed}/"
                   f"{summary.total}); tokens {summary.prompt_tokens} prompt + {summary.completion_tokens} "
                   f"completion -> {out_path}{repaired}", err=True)


COMMANDS.register(command.name or "", command)
