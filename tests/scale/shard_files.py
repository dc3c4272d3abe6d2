"""Shard corpora the tests write themselves, readers of the output, and CLI runners."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

INSTRUCTION = "Represent the sentence for retrieval:"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
TOPICS = ["photosynthesis in leaves", "the stock market fell", "a goal in extra time", "quantum error correction",
          "baking sourdough bread", "migratory birds in winter", "a new vaccine trial", "jazz piano chords"]


def corpus_texts(n: int, salt: str = "") -> list[str]:
    """Varied lengths, so batches pad differently in each engine."""
    return [f"{salt}note {i}: {TOPICS[i % len(TOPICS)]}" + " and more detail" * (i % 5) for i in range(n)]


def write_shards(folder: Path, texts: list[str], shards: int, fmt: str = ".parquet", with_ids: bool = True) -> list[Path]:
    """`texts` split into `shards` files part-000.<fmt> ... with ids `doc-<n>` (or no id column)."""
    folder.mkdir(parents=True, exist_ok=True)
    bounds = np.linspace(0, len(texts), shards + 1).astype(int)
    paths = []
    for k in range(shards):
        rows = [{"id": f"doc-{i}", "text": texts[i]} if with_ids else {"text": texts[i]} for i in range(bounds[k], bounds[k + 1])]
        path = folder / f"part-{k:03d}{fmt}"
        if fmt == ".parquet":
            pq.write_table(pa.Table.from_pylist(rows), path)
        else:
            path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        paths.append(path)
    return paths


def read_output(folder: Path) -> tuple[list[str], list[str], np.ndarray]:
    """ids, texts and vectors of every shard in `folder`, in shard order."""
    ids, texts, vectors = [], [], []
    for path in sorted(folder.glob("*.parquet")):
        table = pq.read_table(path)
        ids += table.column("id").to_pylist()
        texts += table.column("text").to_pylist() if "text" in table.column_names else []
        column = table.column("embedding").combine_chunks()
        vectors.append(column.flatten().to_numpy().reshape(table.num_rows, column.type.list_size))
    return ids, texts, np.concatenate(vectors)


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def start_cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "instructembed", *args], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def kill_after_first_shard(process: subprocess.Popen, out: Path, sig: int = signal.SIGKILL, timeout: float = 600) -> set[str]:
    """Send `sig` (SIGKILL by default) to `process` as soon as the manifest records one output shard (its
    commit point: a shard renamed into place but not yet recorded is redone by a rerun) and wait for it to
    end; the names of the shards recorded at that moment."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = set(manifest(out)["shards"]) if (out / "manifest.json").is_file() else set()
        if done or process.poll() is not None:
            if process.poll() is None:
                process.send_signal(sig)
            process.wait(timeout=timeout)
            return done
        time.sleep(0.01)
    process.kill()
    raise AssertionError("no output shard appeared in time")


def assert_equals_uninterrupted(model, inputs: Path, out: Path, whole: Path) -> None:
    """`out` (a resumed job) holds what one uninterrupted in-process job writes to `whole`, and no temp file."""
    from instructembed.scale import embed_shards

    embed_shards(model, inputs, whole, instruction=INSTRUCTION, show_progress_bar=False)
    got, expected = read_output(out), read_output(whole)
    assert got[0] == expected[0] and got[1] == expected[1]
    assert np.abs(got[2] - expected[2]).max() < 1e-5
    assert not list(out.glob(".*.part"))
