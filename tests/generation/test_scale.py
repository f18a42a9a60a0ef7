"""Sharded generation on a real Ray cluster and into a real S3-compatible server, against a local run.

Marked ``scale``: they need the ``scale-test`` extra (Ray, s3fs, moto's server) and run as their own CI step. The
Ray instance and the moto server are started by these tests on 127.0.0.1 and stopped by them (by handle, never by
name). Several shards per split (``--rows-per-shard 4``) make the order in which workers finish vary.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli

pytestmark = pytest.mark.scale

ARGS = ["--variant", "mmmt-if,appended,distractors", "--turns", "3", "--seed", "11",
        "--splits", "test=10,validation=3", "--images-per-chat", "1-2", "--rows-per-shard", "4", "--quiet"]


def _hashes(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _gen(out: str, *extra: str) -> None:
    result = CliRunner().invoke(cli, ["gen", *ARGS, "--out", out, *extra], catch_exceptions=False)
    assert result.exit_code == 0, result.output + result.stderr


@pytest.fixture(scope="module")
def local_run(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    out = tmp_path_factory.mktemp("local") / "ds"
    _gen(str(out))
    hashes = _hashes(out)
    assert sum(name.endswith(".parquet") for name in hashes) == 3 * (3 + 1)  # 3 configs x (3 test + 1 val)
    return out, hashes


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a throwaway local instance needs no token
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
    try:
        yield ray
    finally:
        ray.shutdown()


def test_local_num_proc_matches_serial(local_run, tmp_path) -> None:
    _gen(str(tmp_path / "ds"), "--num-proc", "2")
    assert _hashes(tmp_path / "ds") == local_run[1]


def test_ray_matches_local_byte_for_byte(ray_cluster, local_run, tmp_path) -> None:
    _gen(str(tmp_path / "ds"), "--engine", "ray")
    assert _hashes(tmp_path / "ds") == local_run[1]


def test_killed_shard_task_is_retried_with_the_same_bytes(ray_cluster, local_run, tmp_path) -> None:
    from generator.generation.config import GenConfig  # noqa: F401  (workers unpickle tasks holding configs)
    from generator.generation.pipeline import GenerationRun, generate
    from generator.generation.variants import get_variant

    flag = tmp_path / "killed-once"

    def kill_first_attempt(task) -> None:
        # The worker process dies abruptly in the middle of the run, the first time shard 2 of "test" starts.
        if task.split == "test" and task.index == 1 and not flag.exists():
            flag.write_text(str(os.getpid()))
            os._exit(1)

    configs = [get_variant(name).replace(turns=3, images_min=1, images_max=2)
               for name in ("mmmt-if", "appended", "distractors")]
    run = GenerationRun(seed=11, splits={"test": 10, "validation": 3})
    out = tmp_path / "ds"
    generate(out, configs, run, engine="ray", rows_per_shard=4, quiet=True, before_shard=kill_first_attempt)
    assert flag.exists(), "the fault was never injected"
    assert int(flag.read_text()) != os.getpid()
    assert _hashes(out) == local_run[1]
    assert not list(tmp_path.glob(".ds.tmp-*")) and not list(out.rglob(".*part*"))


def test_ray_engine_error_is_one_line(ray_cluster, tmp_path) -> None:
    from generator.common.errors import UserError
    from generator.generation.pipeline import GenerationRun, generate
    from generator.generation.variants import get_variant

    def refuse(task) -> None:
        raise UserError("source refused shard", where=f"shard {task.index}")

    with pytest.raises(UserError, match="source refused shard"):
        generate(tmp_path / "ds", [get_variant("mmmt-if").replace(turns=2)], GenerationRun(splits={"test": 2}),
                 engine="ray", quiet=True, before_shard=refuse)
    assert not (tmp_path / "ds").exists() and not list(tmp_path.glob(".ds.tmp-*"))


# ------------------------------------------------------------------------------------------------ S3
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server():
    pytest.importorskip("moto.server")
    pytest.importorskip("s3fs")
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("moto server did not start")
        saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION",
                                                "AWS_ENDPOINT_URL")}
        os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing-secret",
                          AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=url)
        import fsspec

        fsspec.filesystem("s3", skip_instance_cache=True).mkdir("bucket")
        yield url
    finally:
        for key, value in locals().get("saved", {}).items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.terminate()
        server.wait(timeout=30)


def _s3():
    import fsspec

    return fsspec.filesystem("s3", skip_instance_cache=True)


def test_s3_output_reads_back_equal(s3_server, local_run, tmp_path) -> None:
    import datasets

    result = CliRunner().invoke(cli, ["gen", *ARGS[:-1], "--out", "s3://bucket/runs/ds"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "testing-secret" not in result.output + result.stderr
    fs = _s3()
    listed = sorted(p[len("bucket/runs/ds/"):] for p in fs.find("bucket/runs/ds"))
    assert listed == sorted(local_run[1])
    assert fs.ls("bucket/runs", detail=False) == ["bucket/runs/ds"]  # no staging prefix left behind
    for name, digest in local_run[1].items():
        assert hashlib.sha256(fs.cat_file(f"bucket/runs/ds/{name}")).hexdigest() == digest, name

    options = {"endpoint_url": s3_server}
    for config in ("mmmt-if", "appended"):
        # A cache of this test alone: the object store's paths are the same on every run, its contents are not.
        cache = str(tmp_path / "hf-cache")
        remote = datasets.load_dataset("parquet", data_files={"test": f"s3://bucket/runs/ds/{config}/test-*.parquet"},
                                       split="test", storage_options=options, cache_dir=cache)
        local = datasets.load_dataset(str(local_run[0]), config, split="test", cache_dir=cache)
        assert remote.features == local.features
        assert remote.data.table.equals(local.data.table)

    checked = CliRunner().invoke(cli, ["validate", "s3://bucket/runs/ds", "--quiet"])
    assert checked.exit_code == 0, checked.output + checked.stderr
    assert checked.output.startswith("ok: s3://bucket/runs/ds")


def test_s3_failed_run_leaves_nothing_and_overwrite_replaces(s3_server, tmp_path) -> None:
    from generator.common.errors import UserError
    from generator.generation.pipeline import GenerationRun, generate
    from generator.generation.variants import get_variant

    configs = [get_variant("mmmt-if").replace(turns=2)]

    def fail_second(task) -> None:
        if task.index == 1:
            raise UserError("disk full", where="test")

    with pytest.raises(UserError):
        generate("s3://bucket/failed/ds", configs, GenerationRun(splits={"test": 6}), rows_per_shard=3, quiet=True,
                 before_shard=fail_second)
    fs = _s3()
    assert not fs.exists("bucket/failed/ds")
    assert not fs.exists("bucket/failed") or fs.ls("bucket/failed", detail=False) == []

    generate("s3://bucket/over/ds", configs, GenerationRun(splits={"test": 6}), rows_per_shard=3, quiet=True)
    refused = CliRunner().invoke(cli, ["gen", "--turns", "2", "--conversations", "2", "--quiet",
                                       "--out", "s3://bucket/over/ds"])
    assert refused.exit_code != 0 and "not empty" in refused.output + refused.stderr
    generate("s3://bucket/over/ds", configs, GenerationRun(splits={"test": 2}), quiet=True, overwrite=True)
    names = sorted(p.rsplit("/", 1)[-1] for p in fs.find("bucket/over/ds/mmmt-if"))
    assert names == ["test-00000-of-00001.parquet"]  # the old run's two shards are gone
    fs.pipe_file("bucket/foreign/notes.txt", b"mine")
    with pytest.raises(UserError, match="refusing to replace"):
        generate("s3://bucket/foreign", configs, GenerationRun(splits={"test": 2}), quiet=True, overwrite=True)
    assert fs.cat_file("bucket/foreign/notes.txt") == b"mine"
