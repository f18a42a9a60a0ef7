"""``mmmtif publish``: release a dataset folder to the Hub as one commit plus one version tag."""

from __future__ import annotations

import click

from generator.cli import COMMANDS


@click.command("publish")
@click.argument("folder", metavar="FOLDER")
@click.option("--repo-id", required=True, help="Target dataset repository, ORG/NAME.")
@click.option("--version", "version", required=True, help="Release version and tag, vX.Y.Z.")
@click.option("--private", is_flag=True, help="Create the repository as private (when it does not exist yet).")
@click.option("--dry-run", is_flag=True, help="Print the planned additions, updates and deletions; change nothing.")
@click.option("--message", "-m", default=None, help="Changelog entry of this release.")
@click.option("--endpoint", default=None, envvar="HF_ENDPOINT",
              help="Hub endpoint (default: HF_ENDPOINT or https://huggingface.co).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
def command(folder: str, repo_id: str, version: str, private: bool, dry_run: bool, message: str | None,
            endpoint: str | None, quiet: bool) -> None:
    """Validate FOLDER (or an fsspec URL such as s3://bucket/prefix) and publish it as VERSION of REPO_ID.

    The token comes from HF_TOKEN or `hf auth login` and is never printed. An existing tag is refused; publishing
    content identical to the latest release does nothing.
    """
    from generator.dataset.storage import local_copy
    from generator.release.publish import publish

    with local_copy(folder) as local:
        publish(str(local), repo_id, version, private=private, dry_run=dry_run, message=message,
                endpoint=endpoint, echo=click.echo, quiet=quiet)


COMMANDS.register(command.name or "", command)
