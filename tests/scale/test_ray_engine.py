"""The Ray Data engine on one real local Ray cluster (started here, 2 CPUs, no dashboard): equal to
in-process `encode`, resumable after its driver is killed, complete after a worker is killed, and its
bad inputs one-line errors."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pyarrow.parquet as pq
import pytest
from ray_cluster import start_local_cluster
from shard_files import INSTRUCTION, assert_equals_uninterrupted, corpus_texts, kill_after_first_shard, manifest, read_output, start_cli, write_shards

from instructembed.errors import InstructEmbedError

ray = pytest.importorskip("ray", reason="the Ray engine needs instructembed[ray]")


@pytest.fixture(scope="module")
def cluster() -> str:
    """The cluster's address, for drivers in other processes."""
    start_local_cluster(num_cpus=2)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def test_three_shards_equal_encode(cluster, tmp_path, encode):
    from instructembed.scale import embed_shards_ray

    texts = corpus_texts(30)
    write_shards(tmp_path / "in", texts, 3, fmt=".jsonl")
    report = embed_shards_ray(tmp_path / "in", tmp_path / "out", instruction=INSTRUCTION, workers=2, chunk_size=4, show_progress_bar=False)
    assert (report.shards, report.embedded, report.rows) == (3, 3, 30)
    ids, got_texts, vectors = read_output(tmp_path / "out")
    assert ids == [f"doc-{i}" for i in range(30)] and got_texts == texts
    assert np.abs(vectors - encode(texts)).max() < 1e-5
    assert sorted(manifest(tmp_path / "out")["shards"]) == ["part-000.parquet", "part-001.parquet", "part-002.parquet"]


def test_bfloat16_workers_write_bfloat16_vectors_and_the_manifest_says_so(cluster, tmp_path):
    from instructembed import Instructor
    from instructembed.scale import embed_shards_ray

    texts = corpus_texts(8)
    write_shards(tmp_path / "in", texts, 2)
    embed_shards_ray(tmp_path / "in", tmp_path / "out", instruction=INSTRUCTION, workers=1, dtype="bfloat16", show_progress_bar=False)
    vectors = read_output(tmp_path / "out")[2]
    expected = Instructor(device="cpu", dtype="bfloat16").encode(texts, instruction=INSTRUCTION, normalize_embeddings=True)
    c = np.sum(vectors * expected, axis=1)
    assert c.min() >= 0.9999, c
    # each worker checks its model's checksum against the driver's bf16 probe: a float32 worker would refuse
    assert manifest(tmp_path / "out")["settings"]["model"]["dtype"] == "bfloat16"


def test_embed_dataset_with_an_instruction_column(cluster, default_model):
    from instructembed.scale import embed_dataset

    rows = [{"instruction": "Represent the title:" if i % 2 else "Represent the question:", "text": t} for i, t in enumerate(corpus_texts(6))]
    ds = embed_dataset(ray.data.from_items(rows), instruction_column="instruction", chunk_size=3, workers=1)
    out = sorted(ds.take_all(), key=lambda r: r["text"])
    rows.sort(key=lambda r: r["text"])
    expected = default_model.encode([[r["instruction"], r["text"]] for r in rows], normalize_embeddings=True)
    assert np.abs(np.stack([r["embedding"] for r in out]) - expected).max() < 1e-5


def test_killed_job_resumes_to_the_uninterrupted_output(cluster, tmp_path, default_model):
    """The driver (a real CLI process on this cluster) is killed once one shard is out; a rerun finishes."""

    write_shards(tmp_path / "in", corpus_texts(96), 6)
    out = tmp_path / "out"
    args = ["embed", str(tmp_path / "in"), "-o", str(out), "--engine", "ray", "--address", cluster,
            "--workers", "2", "--instruction", INSTRUCTION, "--no-progress"]
    done_at_kill = kill_after_first_shard(start_cli(*args, "--batch-size", "1", "--chunk-size", "2"), out)
    assert 1 <= len(done_at_kill) < 6, f"the job was not stopped mid-way: {done_at_kill}"
    for path in out.glob("*.parquet"):
        assert pq.read_table(path).num_rows == 16  # visible only once complete
    rerun = start_cli(*args)
    assert rerun.wait(timeout=600) == 0, rerun.stderr.read()
    assert_equals_uninterrupted(default_model, tmp_path / "in", out, tmp_path / "whole")


def _actor_processes() -> list:
    import psutil

    found = []
    for process in psutil.process_iter(["cmdline"]):
        line = " ".join(process.info["cmdline"] or [])
        if line.startswith("ray::") and "EmbedActor" in line:
            found.append(process)
    return found


def test_worker_killed_mid_job_still_yields_the_full_output(cluster, tmp_path, encode):
    """SIGKILL one actor's process while the job runs: Ray restarts it and retries its batches."""
    from instructembed.scale import embed_shards_ray

    texts = corpus_texts(96)
    write_shards(tmp_path / "in", texts, 6)
    out = tmp_path / "out"
    result: dict = {}

    def job() -> None:
        try:
            result["report"] = embed_shards_ray(tmp_path / "in", out, instruction=INSTRUCTION, workers=2, batch_size=1, chunk_size=2, show_progress_bar=False)
        except BaseException as exc:  # surfaced by the assertion below
            result["error"] = exc

    thread = threading.Thread(target=job)
    thread.start()
    killed = None
    deadline = time.monotonic() + 600
    while thread.is_alive() and killed is None and time.monotonic() < deadline:
        actors = _actor_processes()
        if actors and list(out.glob("*.parquet")):
            killed = actors[0].pid
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.01)
    thread.join(timeout=600)
    assert killed is not None, "no actor process was found to kill while the job ran"
    assert "error" not in result, result.get("error")
    assert result["report"].rows == 96
    ids, _, vectors = read_output(out)
    assert ids == [f"doc-{i}" for i in range(96)]
    assert np.abs(vectors - encode(texts)).max() < 1e-5


def test_null_text_is_one_line_error_and_a_fixed_rerun_completes(cluster, tmp_path):
    from instructembed.scale import embed_shards_ray

    write_shards(tmp_path / "in", corpus_texts(8), 2, fmt=".jsonl")
    bad = tmp_path / "in" / "part-009.jsonl"
    bad.write_text('{"id": "x0", "text": "fine"}\n{"id": "x1", "text": null}\n')  # found by the worker that embeds it
    out = tmp_path / "out"
    with pytest.raises(InstructEmbedError, match=r"part-009.jsonl: a row's text is null, not a string") as caught:
        embed_shards_ray(tmp_path / "in", out, instruction=INSTRUCTION, workers=1, chunk_size=4, show_progress_bar=False)
    assert "\n" not in str(caught.value)
    recorded = set(manifest(out)["shards"])
    assert recorded <= {"part-000.parquet", "part-001.parquet"}  # shards done before the failure are kept ...
    assert {p.name for p in out.glob("*.parquet")} == recorded and not list(out.glob(".*.part"))  # ... the bad one never shows
    bad.write_text('{"id": "x0", "text": "fine"}\n{"id": "x1", "text": "mended"}\n')
    report = embed_shards_ray(tmp_path / "in", out, instruction=INSTRUCTION, workers=1, chunk_size=4, show_progress_bar=False)
    assert (report.skipped, report.embedded) == (len(recorded), 3 - len(recorded))
    assert read_output(out)[0][-2:] == ["x0", "x1"]


def test_unreachable_cluster_is_a_one_line_error(tmp_path):
    write_shards(tmp_path / "in", corpus_texts(4), 1)
    process = start_cli("embed", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--engine", "ray", "--address", "127.0.0.1:9",
                        "--instruction", INSTRUCTION)
    assert process.wait(timeout=600) == 2
    stderr = process.stderr.read().strip()
    assert stderr.startswith("error: cannot reach or start the Ray cluster at 127.0.0.1:9") and "\n" not in stderr, stderr


def test_a_small_job_is_spread_over_every_worker():
    """Ray Data bundles input blocks up to a call's size: the chunk shrinks so each worker gets two calls or more."""
    from instructembed.scale.ray_engine import spread_chunk_size

    assert spread_chunk_size(4096, 2000, workers=2, batch_size=32) == 500  # 4 shards of 500: one call each
    assert spread_chunk_size(4096, 10**6, workers=4, batch_size=32) == 4096  # big jobs keep the chunk asked for
    assert spread_chunk_size(4096, 40, workers=2, batch_size=32) == 32  # never below a forward pass
