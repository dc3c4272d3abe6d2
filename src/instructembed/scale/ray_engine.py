"""The Ray Data engine: shards read by Ray Data, embedded by a pool of actors (one model each, loaded
once), written by the driver one output shard per input shard, with the resume rules of `plan`."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from instructembed.engine.inputs import is_blank
from instructembed.errors import InstructEmbedError
from instructembed.scale.identity import ModelIdentity, weights_checksum
from instructembed.scale.local_engine import embed_settings
from instructembed.scale.plan import ShardPlan, ShardReport, commit_shard, plan_shards, row_id, shard_writer, write_empty_shard
from instructembed.scale.shards import InputShard, ShardInfo

PATH_COLUMN = "path"  # Ray Data's `include_paths` column: which shard a row came from


def _import_ray():
    try:
        import ray
        import ray.data
    except ImportError:
        raise InstructEmbedError("the Ray engine needs Ray Data: pip install 'instructembed[ray]'") from None
    return ray


class EmbedActor:
    """A Ray Data actor: loads the model once, then embeds each batch it is handed into `embedding`."""

    def __init__(
        self, model: str | None, *, device: str, backend: str, dtype: str | None, max_seq_length: int | None, threads: int,
        text_column: str, instruction: str | None, instruction_column: str | None, normalize: bool,
        batch_size: int, expected_weights: str | None,
    ) -> None:
        import torch

        from instructembed.engine import Instructor

        if threads > 0:
            torch.set_num_threads(threads)
        self.model = Instructor(model, device=device, backend=backend, dtype=dtype, max_seq_length=max_seq_length)
        if expected_weights is not None and weights_checksum(self.model) != expected_weights:
            raise InstructEmbedError(
                f"model {model!r} on this worker ({os.uname().nodename}) has other weights than on the driver: "
                "install the same model on every node"
            )
        self.text_column, self.instruction, self.instruction_column = text_column, instruction, instruction_column
        self.normalize, self.batch_size = normalize, batch_size

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        where = str(batch[PATH_COLUMN][0]) if PATH_COLUMN in batch and len(batch[PATH_COLUMN]) else "the dataset"
        if self.text_column not in batch:
            raise InstructEmbedError(f"{where}: missing column {self.text_column!r} (columns: {', '.join(batch)})")
        texts = batch[self.text_column]
        if self.instruction_column is not None:
            if self.instruction_column not in batch:
                raise InstructEmbedError(f"{where}: missing column {self.instruction_column!r}")
            instructions = batch[self.instruction_column]
        else:
            instructions = [self.instruction or ""] * len(texts)
        pairs = []
        for i, (instruction, text) in enumerate(zip(instructions, texts)):
            if PATH_COLUMN in batch:
                where = str(batch[PATH_COLUMN][i])
            if not isinstance(text, str):
                kind = "null" if text is None else type(text).__name__
                raise InstructEmbedError(f"{where}: a row's text is {kind}, not a string ({self.text_column!r})")
            if not isinstance(instruction, str):
                raise InstructEmbedError(f"{where}: a row's instruction is {type(instruction).__name__}, not a string")
            if is_blank(text):
                raise InstructEmbedError(f"{where}: a row's text is empty")
            pairs.append([str(instruction), str(text)])
        vectors = self.model.encode(pairs, batch_size=self.batch_size, normalize_embeddings=self.normalize, show_progress_bar=False)
        out = dict(batch)
        out["embedding"] = np.asarray(vectors, dtype=np.float32).reshape(len(pairs), -1)
        return out


def embed_dataset(
    ds: Any,
    *,
    model: str | Path | None = None,
    instruction: str | None = None,
    instruction_column: str | None = None,
    text_column: str = "text",
    workers: int = 1,
    threads_per_worker: int = 1,
    gpus_per_worker: float = 0,
    batch_size: int = 32,
    chunk_size: int = 1024,
    normalize: bool = True,
    max_seq_length: int | None = None,
    backend: str = "torch",
    dtype: str | None = None,
    expected_weights: str | None = None,
) -> Any:
    """`ds` (a Ray Dataset) with an `embedding` column: a fixed pool of `workers` actors, each loading
    `model` (a name or folder every node can load; None for the default) once, on a GPU when
    `gpus_per_worker` > 0, on `backend` in `dtype` (as `Instructor` takes them), embedding `chunk_size` rows
    per call in forward passes of `batch_size`.

    Example:
        >>> ds = ray.data.read_parquet("s3://bucket/docs/")
        >>> embed_dataset(ds, instruction="Represent the document for retrieval:", workers=4).write_parquet("out/")
    """
    ray = _import_ray()
    if instruction is not None and instruction_column is not None:
        raise InstructEmbedError("give an instruction or an instruction column, not both")
    if model is not None and not isinstance(model, (str, Path)):
        raise InstructEmbedError("model must be a name or folder that each Ray worker loads itself, not a loaded model")
    _check_pool(workers, threads_per_worker, gpus_per_worker, batch_size, chunk_size)
    return ds.map_batches(
        EmbedActor,
        fn_constructor_kwargs={
            "model": None if model is None else str(model), "device": "cuda" if gpus_per_worker > 0 else "cpu",
            "backend": backend, "dtype": dtype, "max_seq_length": max_seq_length, "threads": threads_per_worker,
            "text_column": text_column, "instruction": instruction, "instruction_column": instruction_column,
            "normalize": normalize, "batch_size": batch_size, "expected_weights": expected_weights,
        },
        batch_size=chunk_size,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=threads_per_worker,
        num_gpus=gpus_per_worker or None,
        # Ray Data's actor pools default to max_restarts=-1 and max_task_retries=-1: a worker that dies
        # is restarted and the batches it held are retried, so nothing is lost.
    )


def spread_chunk_size(chunk_size: int, rows: int, workers: int, batch_size: int) -> int:
    """`chunk_size`, lowered so that every worker gets at least two calls: Ray Data bundles input blocks up to a
    call's size, so 2,000 rows with a 4,096-row chunk would all go to one actor while the others idle."""
    return min(chunk_size, max(batch_size, -(-rows // (2 * workers))))


def _check_pool(workers: int | None, threads: int, gpus: float, batch_size: int, chunk_size: int) -> None:
    for name, value in (("workers", workers), ("threads per worker", threads), ("batch size", batch_size), ("chunk size", chunk_size)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise InstructEmbedError(f"{name} must be a positive whole number, got {value!r}")
    if isinstance(gpus, bool) or not isinstance(gpus, (int, float)) or gpus < 0:
        raise InstructEmbedError(f"GPUs per worker must be >= 0, got {gpus!r}")


def _check_fits(ray: Any, workers: int, threads: int, gpus: float) -> None:
    """One actor that can never be placed is an error; a pool larger than the cluster is now waits for nodes."""
    import logging

    resources = ray.cluster_resources()
    for name, each in (("CPU", threads), ("GPU", gpus)):
        have = resources.get(name, 0)
        if each > have:
            raise InstructEmbedError(f"each worker asks for {each:g} {name}(s), but the Ray cluster has {have:g}")
        if workers * each > have:
            logging.getLogger(__name__).warning(
                "%d workers need %g %ss, the Ray cluster has %g: the job waits for more nodes", workers, workers * each, name, have
            )


def embed_shards_ray(
    inputs: str | Path,
    output: str | Path,
    *,
    model: str | Path | None = None,
    address: str | None = None,
    workers: int | None = None,
    threads_per_worker: int = 1,
    gpus_per_worker: float = 0,
    instruction: str | None = None,
    instruction_column: str | None = None,
    text_column: str = "text",
    id_column: str | None = "id",
    keep_text: bool = True,
    batch_size: int = 32,
    chunk_size: int = 1024,
    normalize: bool = True,
    max_seq_length: int | None = None,
    backend: str = "torch",
    dtype: str | None = None,
    show_progress_bar: bool = True,
) -> ShardReport:
    """`embed_shards` on a Ray cluster: the cluster at `address` (`ray start --head` prints it), the one
    this process is already connected to, or a local one started for the job. Same output and resume
    rules: a rerun skips verified shards; a killed job loses only the shards it was writing.

    Input shards are read by the cluster's workers, so on several machines they must sit on storage
    every node sees; the output is written by this process.
    """
    from instructembed.engine import Instructor

    _check_pool(workers, threads_per_worker, gpus_per_worker, batch_size, chunk_size)
    probe = Instructor(None if model is None else str(model), device="cpu", backend=backend, dtype=dtype,
                       max_seq_length=max_seq_length)  # fails fast on a bad model
    identity, seq_length = ModelIdentity.of(probe), int(probe.max_seq_length)
    del probe
    settings = embed_settings(
        identity, backend=backend, max_seq_length=seq_length, normalize=normalize, instruction=instruction,
        instruction_column=instruction_column, text_column=text_column, id_column=id_column, keep_text=keep_text,
    )
    plan = plan_shards(inputs, output, settings)
    report = plan.report()
    with plan.manifest:
        for shard, info in [p for p in plan.pending if p[1].rows == 0]:
            write_empty_shard(plan.manifest, shard)
            report.embedded += 1
        todo = [p for p in plan.pending if p[1].rows > 0]
        if not todo:
            return report
        ray = _import_ray()
        with _connected(ray, address), _ordered_context(ray):
            pool = workers if workers is not None else _default_workers(ray, threads_per_worker, gpus_per_worker)
            _check_fits(ray, pool, threads_per_worker, gpus_per_worker)
            ds = _read(ray, [shard for shard, _ in todo], [info for _, info in todo], settings)
            chunk_size = spread_chunk_size(chunk_size, sum(info.rows for _, info in todo), pool, batch_size)
            ds = embed_dataset(
                ds, model=model, instruction=instruction, instruction_column=instruction_column, text_column=text_column,
                workers=pool, threads_per_worker=threads_per_worker, gpus_per_worker=gpus_per_worker,
                batch_size=batch_size, chunk_size=chunk_size, normalize=normalize, max_seq_length=max_seq_length,
                backend=backend, dtype=dtype, expected_weights=identity.weights,
            )
            with _user_errors(ray):
                _write_in_order(ds, plan, todo, report, show_progress_bar)
    return report


class _ShardStream:
    """Rows arriving in input order, written to one output shard per input shard; a shard is committed
    when the next one begins (or the stream ends), after its row count is checked against the input."""

    def __init__(self, plan: ShardPlan, todo: list[tuple[InputShard, ShardInfo]], report: ShardReport) -> None:
        self.plan, self.report = plan, report
        self.by_path = {os.path.realpath(shard.path): (shard, info) for shard, info in todo}
        self.current: tuple[InputShard, ShardInfo] | None = None
        self.writer: Any = None
        self.written = 0

    def write(self, batch: dict[str, np.ndarray]) -> int:
        settings = self.plan.manifest.settings
        paths = [os.path.realpath(str(p)) for p in batch[PATH_COLUMN]]
        for start, stop in _runs(paths):
            if self.current is None or self.by_path.get(paths[start]) is not self.current:
                self.finish()
                if paths[start] not in self.by_path:
                    raise InstructEmbedError(f"the cluster returned rows of an unexpected file: {paths[start]}")
                self.current, self.written = self.by_path[paths[start]], 0
                self.writer = shard_writer(self.plan.manifest, self.current[0])
            shard, info = self.current
            values = batch[settings.id_column][start:stop] if info.has_id and settings.id_column in batch else [None] * (stop - start)
            ids = [row_id(shard, info, value, self.written + i) for i, value in enumerate(values)]
            texts = [str(t) for t in batch[settings.text_column][start:stop]]
            self.writer.write(ids, texts, np.asarray(batch["embedding"][start:stop], dtype=np.float32))
            self.written += stop - start
        return len(paths)

    def finish(self) -> None:
        """Commit the shard being written, if any."""
        if self.current is None:
            return
        (shard, info), self.current = self.current, None
        if self.written != info.rows:
            self.writer.abort()
            raise InstructEmbedError(f"{shard.path}: {self.written} rows came back from the cluster, expected {info.rows}")
        commit_shard(self.plan.manifest, shard, self.writer, self.written)
        self.report.embedded += 1
        self.report.rows += self.written

    def abort(self) -> None:
        """Drop the shard being written: it never becomes visible."""
        if self.current is not None:
            self.writer.abort()
            self.current = None


def _write_in_order(ds: Any, plan: ShardPlan, todo: list[tuple[InputShard, ShardInfo]], report: ShardReport, progress: bool) -> None:
    stream = _ShardStream(plan, todo, report)
    total = sum(info.rows for _, info in todo)
    with tqdm(total=total, desc="Embedding", unit="text", disable=not progress, dynamic_ncols=True) as bar:
        try:
            for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
                bar.update(stream.write(batch))
            stream.finish()
        finally:
            stream.abort()


def _runs(values: list[str]) -> Iterator[tuple[int, int]]:
    """(start, stop) of each run of equal consecutive values."""
    start = 0
    for i in range(1, len(values) + 1):
        if i == len(values) or values[i] != values[start]:
            yield start, i
            start = i


def _read(ray: Any, shards: list[InputShard], infos: list[ShardInfo], settings: Any) -> Any:
    """Ray Data read tasks over the shards. They ask for no CPU: reading is light next to embedding, and
    actors holding every CPU of the cluster (2 workers on 2 CPUs) must not starve them."""
    paths = [str(shard.path) for shard in shards]
    if shards[0].format == ".jsonl":
        return ray.data.read_json(paths, include_paths=True, num_cpus=0)  # Arrow reads JSON Lines (blank lines skipped)
    wanted = [settings.text_column] + [c for c in (settings.instruction_column,) if c]
    if settings.id_column is not None and all(info.has_id for info in infos):
        wanted.append(settings.id_column)
    elif settings.id_column is not None and any(info.has_id for info in infos):
        wanted = None  # some shards have the id column and some do not: read them whole
    return ray.data.read_parquet(paths, include_paths=True, columns=wanted, num_cpus=0)


def _default_workers(ray: Any, threads: int, gpus: float) -> int:
    resources = ray.cluster_resources()
    if gpus > 0:
        count = int(resources.get("GPU", 0) // gpus)
        if count < 1:
            raise InstructEmbedError(f"--gpus-per-worker {gpus} asked for, but the Ray cluster has {resources.get('GPU', 0):g} GPU(s)")
        return count
    return max(1, int(resources.get("CPU", 1) // threads))


@contextlib.contextmanager
def _connected(ray: Any, address: str | None) -> Iterator[None]:
    """The cluster at `address` (or the one already joined, or a new local one); shut down after if we started it."""
    if ray.is_initialized():
        yield
        return
    import logging

    if address:
        _check_reachable(address)
    try:
        local = {} if address else {"include_dashboard": False}  # options of a cluster started here
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING, **local)
    except Exception as exc:  # ConnectionError, TimeoutError, RuntimeError, ... depending on what failed
        where = f"at {address}" if address else "on this machine"
        raise InstructEmbedError(f"cannot reach or start the Ray cluster {where}: {_first_line(exc)}") from None
    try:
        yield
    finally:
        ray.shutdown()


def _check_reachable(address: str, timeout: float = 10.0) -> None:
    """Fail at once (not after Ray's long retries) when nothing answers at a `host:port` address."""
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # "auto", or a form Ray resolves itself
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise InstructEmbedError(f"cannot reach or start the Ray cluster at {address}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def _ordered_context(ray: Any) -> Iterator[None]:
    """Rows come back in input order (so shards finish one after another); Ray's own bars stay off (ours
    shows). Parquet is read through Ray Data's V1 datasource: V2 lists files in a task that needs a whole
    CPU, which never starts while the actors hold every CPU of the cluster."""
    context = ray.data.DataContext.get_current()
    saved = (context.execution_options.preserve_order, context.enable_progress_bars, getattr(context, "use_datasource_v2", None))
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False
    if saved[2] is not None:
        context.use_datasource_v2 = False
    try:
        yield
    finally:
        context.execution_options.preserve_order, context.enable_progress_bars = saved[:2]
        if saved[2] is not None:
            context.use_datasource_v2 = saved[2]


@contextlib.contextmanager
def _user_errors(ray: Any) -> Iterator[None]:
    """A failed Ray job as one line: the InstructEmbedError a worker raised, else Ray's first line."""
    try:
        yield
    except InstructEmbedError:
        raise
    except ray.exceptions.RayError as exc:
        raise InstructEmbedError(_root_message(exc)) from None


def _root_message(exc: BaseException) -> str:
    """The InstructEmbedError inside a Ray error, else its innermost cause (e.g. a JSON parse error)."""
    import ray.exceptions

    seen: set[int] = set()
    stack: list[Any] = [exc]
    innermost: BaseException | None = None
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, InstructEmbedError):
            return str(current)
        if not isinstance(current, ray.exceptions.RayError):
            innermost = current
        stack.extend([getattr(current, "cause", None), current.__cause__, current.__context__])
    for line in reversed(str(exc).splitlines()):
        if "InstructEmbedError: " in line:
            return line.split("InstructEmbedError: ", 1)[1].strip()
    if innermost is not None:
        return f"the Ray job failed: {type(innermost).__name__}: {_first_line(innermost)}"
    return f"the Ray job failed: {_first_line(exc)}"


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
