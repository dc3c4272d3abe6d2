"""The single-process engine on folders of shards: equal to `encode`, resumable, refusing to mix vectors,
and each bad shard a one-line error with nothing half-written."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cli_in_process import invoke
from shard_files import INSTRUCTION, assert_equals_uninterrupted, corpus_texts, kill_after_first_shard, manifest, read_output, start_cli, write_shards

from instructembed.errors import InstructEmbedError
from instructembed.scale import embed_shards


def test_three_shards_equal_encode_and_manifest_describes_them(tmp_path, default_model, encode):
    texts = corpus_texts(24)
    write_shards(tmp_path / "in", texts, 3)
    report = embed_shards(default_model, tmp_path / "in", tmp_path / "out", instruction=INSTRUCTION, chunk_size=5, show_progress_bar=False)
    assert (report.shards, report.embedded, report.skipped, report.rows) == (3, 3, 0, 24)
    ids, got_texts, vectors = read_output(tmp_path / "out")
    assert ids == [f"doc-{i}" for i in range(24)] and got_texts == texts
    assert np.abs(vectors - encode(texts)).max() < 1e-5
    data = manifest(tmp_path / "out")
    assert data["settings"]["model"]["name"] == default_model.model_name_or_path
    assert data["settings"]["model"]["dimension"] == 384 and len(data["settings"]["model"]["weights"]) >= 32
    assert data["settings"]["instruction"] == INSTRUCTION and data["settings"]["columns"] == ["id", "text", "embedding"]
    assert {name: entry["rows"] for name, entry in data["shards"].items()} == {"part-000.parquet": 8, "part-001.parquet": 8, "part-002.parquet": 8}
    schema = pq.read_schema(tmp_path / "out" / "part-000.parquet")
    assert pa.types.is_fixed_size_list(schema.field("embedding").type) and schema.field("embedding").type.list_size == 384


def test_rerun_skips_complete_shards_and_redoes_a_changed_or_damaged_one(tmp_path, default_model):
    inputs = write_shards(tmp_path / "in", corpus_texts(12), 3, fmt=".jsonl")
    out = tmp_path / "out"
    embed_shards(default_model, tmp_path / "in", out, instruction=INSTRUCTION, show_progress_bar=False)
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.parquet")}
    again = embed_shards(default_model, tmp_path / "in", out, instruction=INSTRUCTION, show_progress_bar=False)
    assert (again.skipped, again.embedded) == (3, 0)
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.parquet")} == before
    inputs[1].write_text(inputs[1].read_text() + '{"id": "extra", "text": "one more row"}\n')  # a changed input
    (out / "part-002.parquet").write_bytes(b"damaged")  # an output that fails its checksum
    third = embed_shards(default_model, tmp_path / "in", out, instruction=INSTRUCTION, show_progress_bar=False)
    assert (third.skipped, third.embedded) == (1, 2)
    assert manifest(out)["shards"]["part-001.parquet"]["rows"] == 5
    assert read_output(out)[0][-1] == "doc-11"


def test_other_instruction_or_model_is_refused(tmp_path, default_model, base_model):
    write_shards(tmp_path / "in", corpus_texts(6), 2)
    out = tmp_path / "out"
    embed_shards(default_model, tmp_path / "in", out, instruction=INSTRUCTION, show_progress_bar=False)
    with pytest.raises(InstructEmbedError, match="made with instruction 'Represent the sentence for retrieval:', not 'Other:'"):
        embed_shards(default_model, tmp_path / "in", out, instruction="Other:", show_progress_bar=False)
    with pytest.raises(InstructEmbedError, match="was made with model 'instructembed-mini'.*not 'all-MiniLM-L6-v2'"):
        embed_shards(base_model, tmp_path / "in", out, instruction=INSTRUCTION, show_progress_bar=False)
    assert len(manifest(out)["shards"]) == 2


def test_shards_without_ids_get_shard_prefixed_ids_and_an_empty_shard_an_empty_output(tmp_path, default_model):
    write_shards(tmp_path / "in", corpus_texts(4), 2, with_ids=False)
    pq.write_table(pa.table({"text": pa.array([], pa.string())}), tmp_path / "in" / "part-009.parquet")
    report = embed_shards(default_model, tmp_path / "in", tmp_path / "out", instruction=INSTRUCTION, show_progress_bar=False, keep_text=False)
    assert report.embedded == 3
    ids, texts, vectors = read_output(tmp_path / "out")
    assert ids == ["part-000:0", "part-000:1", "part-001:0", "part-001:1"] and texts == [] and vectors.shape == (4, 384)
    empty = pq.read_table(tmp_path / "out" / "part-009.parquet")
    assert empty.num_rows == 0 and empty.column_names == ["id", "embedding"]
    assert manifest(tmp_path / "out")["shards"]["part-009.parquet"]["rows"] == 0


def _bad(tmp_path, name: str):
    folder = tmp_path / name
    write_shards(folder, corpus_texts(6), 2)
    return folder


@pytest.mark.parametrize("case, message", [
    ("missing column", "missing column 'text'"),
    ("corrupt", "is not a readable parquet file"),
    ("null text", re.escape("1 row(s) with a null 'text'")),
    ("blank text", "text is empty"),
    ("mixed formats", "mixes .jsonl and .parquet shards"),
])
def test_bad_shards_are_one_line_errors_and_complete_shards_stay(tmp_path, default_model, case, message):
    folder = _bad(tmp_path, case.replace(" ", "-"))
    last = folder / "part-005.parquet"
    if case == "missing column":
        pq.write_table(pa.table({"body": ["a text under another name"]}), last)
    elif case == "corrupt":
        last.write_bytes(b"PAR1 this is not parquet")
    elif case == "null text":
        pq.write_table(pa.table({"id": ["n0", "n1"], "text": ["fine", None]}), last)
    elif case == "blank text":
        pq.write_table(pa.table({"id": ["n0", "n1"], "text": ["fine", " \u200b "]}), last)
    else:
        (folder / "part-005.jsonl").write_text('{"text": "x"}\n')
    out = tmp_path / "out"
    with pytest.raises(InstructEmbedError, match=message) as caught:
        embed_shards(default_model, folder, out, instruction=INSTRUCTION, show_progress_bar=False)
    assert "\n" not in str(caught.value)
    visible = sorted(p.name for p in out.glob("*.parquet")) if out.exists() else []
    if case == "blank text":  # found while embedding: the shards before it are complete and kept
        assert visible == ["part-000.parquet", "part-001.parquet"] == sorted(manifest(out)["shards"])
    else:  # found while checking, before any model ran
        assert visible == []
    assert not [p for p in out.glob(".*.part")] if out.exists() else True


def test_cli_folder_output_rules(tmp_path):
    folder = _bad(tmp_path, "in")
    assert invoke("embed", str(folder), "-o", str(tmp_path / "v.npy"))[1].startswith("shards are written to a folder")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    assert "is not empty and has no manifest.json" in invoke("embed", str(folder), "-o", str(tmp_path / "busy"))[1]
    assert invoke("embed", str(folder), "-o", str(tmp_path / "o"), "--workers", "2")[1] == "--workers is an option of --engine ray"
    assert invoke("embed", str(folder), "-o", str(tmp_path / "o"), "--engine", "spark")[1] == "--engine must be one of local, ray, got 'spark'"
    assert invoke("embed", str(folder), "-o", str(tmp_path / "o"), "--engine", "ray", "--workers", "0")[1] == "workers must be a positive whole number, got 0"
    assert not (tmp_path / "o").exists()
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killed_cli_job_resumes_to_the_uninterrupted_output(tmp_path, default_model, sig):
    """A real process killed once its first shard is out; the rerun completes the rest. SIGTERM also
    removes the shard it was writing (exit 143); after SIGKILL the rerun removes it."""
    write_shards(tmp_path / "in", corpus_texts(96), 6)
    out = tmp_path / "out"
    process = start_cli("embed", str(tmp_path / "in"), "-o", str(out), "--instruction", INSTRUCTION,
                        "--batch-size", "1", "--chunk-size", "2", "--no-progress")
    done_at_kill = kill_after_first_shard(process, out, sig)
    assert 1 <= len(done_at_kill) < 6, f"the job was not stopped mid-way: {done_at_kill}"
    if sig == signal.SIGTERM:
        assert process.returncode == 143 and not list(out.glob(".*.part")), process.stderr.read()
    for path in out.glob("*.parquet"):  # a shard is visible only once complete
        assert pq.read_table(path).num_rows == 16
    rerun = start_cli("embed", str(tmp_path / "in"), "-o", str(out), "--instruction", INSTRUCTION, "--no-progress")
    assert rerun.wait(timeout=600) == 0, rerun.stderr.read()
    assert "already complete" in rerun.stderr.read()
    assert_equals_uninterrupted(default_model, tmp_path / "in", out, tmp_path / "whole")


def test_worker_load_and_checksum_never_import_the_evaluator():
    """Every Ray actor loads the model and checksums its weights: the evaluator (about 1.5 s of imports per worker
    on a 2-core machine) must stay out of that path, while the checksum equals the evaluator's cache fingerprint."""
    code = (
        "import sys\n"
        "import instructembed.scale.ray_engine\n"
        "from instructembed.engine import Instructor\n"
        "from instructembed.scale.identity import weights_checksum\n"
        "model = Instructor(device='cpu')\n"
        "checksum = weights_checksum(model)\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('instructembed.evaluate'))\n"
        "from instructembed.evaluate import model_fingerprint\n"
        "print(repr(loaded), checksum == model_fingerprint(model))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split()[-2:] == ["[]", "True"], out.stdout + out.stderr


def test_a_bfloat16_rerun_into_a_float32_folder_is_refused_and_nothing_changes(tmp_path, default_model):
    write_shards(tmp_path / "in", corpus_texts(6), 2)
    embed_shards(default_model, tmp_path / "in", tmp_path / "out", instruction=INSTRUCTION, show_progress_bar=False)
    assert manifest(tmp_path / "out")["settings"]["model"]["dtype"] == "float32"
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    code, message = invoke("embed", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--instruction", INSTRUCTION,
                           "--dtype", "bfloat16", "--no-progress")
    assert code == 2 and message.endswith("was made with backend torch in float32, not torch in bfloat16: use --backend torch --dtype float32")
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == before
