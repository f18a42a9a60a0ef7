"""Release a dataset folder to the Hub and verify the release through the Hub itself.

    python scripts/release.py DIR --repo-id ORG/NAME --version vX.Y.Z [--message TEXT] [--yes] [--endpoint URL]

Steps: validate the folder (as ``mmmtif validate``), print the dry-run plan, ask for confirmation (``--yes`` skips
it), publish (one commit, one tag), then verify what users will get: ``load_dataset(repo, config, revision=tag)``
for every config returns the conversation ids of the local shards, and the ``scoring.py`` downloaded at the tag is
byte-identical to the local one. Exit code 0 when the release is out and verified.

The token comes from ``HF_TOKEN`` or ``hf auth login``; ``--endpoint`` (or ``HF_ENDPOINT``) selects another Hub.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def local_ids(folder: Path) -> dict[str, dict[str, list[str]]]:
    """{config: {split: [conversation ids]}} read from the local shards (id column only)."""
    import pyarrow.parquet as pq

    from generator.dataset.layout import dataset_files

    return {config: {split: [i for path in sorted(paths) for i in pq.read_table(path, columns=["id"])["id"]
                             .to_pylist()] for split, paths in splits.items()}
            for config, splits in dataset_files(folder).items()}


def verify(folder: Path, repo_id: str, version: str) -> list[str]:
    """Problems found loading the release back from the Hub at its tag (empty when it matches the folder)."""
    import datasets
    from huggingface_hub import hf_hub_download

    datasets.config.USE_PARQUET_EXPORT = False
    problems = []
    for config, splits in local_ids(folder).items():
        loaded = datasets.load_dataset(repo_id, config, revision=version)
        for split, ids in splits.items():
            got = loaded[split]["id"] if split in loaded else []
            if sorted(got) != sorted(ids):
                problems.append(f"{config}/{split}: the Hub at {version} serves {len(got)} conversations, "
                                f"the folder has {len(ids)} (or other ids)")
    script = Path(hf_hub_download(repo_id, "scoring.py", repo_type="dataset", revision=version))
    if script.read_bytes() != (folder / "scoring.py").read_bytes():
        problems.append(f"scoring.py at {version} differs from the folder's")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--repo-id", required=True)
    parser.add_argument("--version", required=True)
    parser.add_argument("--message", default=None)
    parser.add_argument("--endpoint", default=None)
    parser.add_argument("--private", action="store_true")
    parser.add_argument("--yes", action="store_true", help="Do not ask before publishing.")
    args = parser.parse_args(argv)
    if args.endpoint:
        os.environ["HF_ENDPOINT"] = args.endpoint  # before huggingface_hub/datasets are imported

    from generator.common.errors import UserError
    from generator.release.publish import publish

    try:
        plan = publish(args.folder, args.repo_id, args.version, dry_run=True, message=args.message,
                       endpoint=args.endpoint, private=args.private)
        if plan.status != "dry-run":
            return 0  # already published or identical to the latest release: nothing to do
        if not args.yes and input(f"publish {args.repo_id}@{args.version}? [y/N] ").strip().lower() != "y":
            print("not published")
            return 1
        publish(args.folder, args.repo_id, args.version, message=args.message, endpoint=args.endpoint,
                private=args.private)
    except UserError as exc:
        print(f"release: error: {exc}", file=sys.stderr)
        return exc.exit_code
    problems = verify(args.folder, args.repo_id, args.version)
    for problem in problems:
        print(f"release: verification failed: {problem}", file=sys.stderr)
    if not problems:
        print(f"verified {args.repo_id}@{args.version}: every config loads at the tag with the folder's "
              "conversations, scoring.py matches")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
