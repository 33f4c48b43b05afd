"""Scoring millions of image files with Dask, on the same C++ core as `vitnt score`.

    import vitnt.dask
    df = vitnt.dask.score_files("faces/**/*.jpg", "vit.safetensors", output="scores/")

The inputs are cut into partitions of `partition_size` paths. A task scores one
partition in batches with a model that is loaded once per worker process (cached here,
keyed by the model settings) and gives one row per path: `path, quality, scalar, error`
(+ `emb_0..` with embedding=True, `q_0..` with patch_map=True; the same values and
order as `vitnt score`). An image that cannot be read gets an `error` and NaN numbers;
it never fails the job.

With `output`, every partition is written as one shard (`part-00000.csv`, or `.parquet`
when pandas has a Parquet engine), atomically: to a temporary file, then renamed. A
rerun into the same folder skips the shards that exist, so an interrupted job resumes
where it stopped. `_vitnt_manifest.json` records the inputs and settings, and a rerun
with other inputs or settings is refused instead of mixing results.

Command line: `python3 -m vitnt.dask --help`.
"""

from __future__ import annotations

import argparse
import dataclasses
import glob as _glob
import hashlib
import json
import os
import sys
import threading
import time
import uuid
from typing import Callable, Optional, Sequence, Union

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd

from . import Error, Model, expand_inputs

StrPath = Union[str, "os.PathLike[str]"]
MANIFEST = "_vitnt_manifest.json"


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything a worker needs to score a partition (hashable: the model cache key)."""

    model_path: str
    config_json: Optional[str] = None  # a description given as a dict, as JSON text
    config_path: Optional[str] = None  # a description given as a file
    arch: Optional[str] = None
    threads: int = 1  # CPU threads per task: a worker with T threads uses T x this
    precision: str = "fp32"  # or "bf16" (as vitnt.Model)
    blocks: Optional[tuple[int, int]] = None
    scaling: Optional[float] = None
    aggregation: Optional[str] = None
    embedding: bool = False
    patch_map: bool = False
    resize: bool = False
    batch_size: int = 32
    calibration_for: Optional[str] = None  # the calibration block of the scalar (None: default)
    # The client's working folder: relative input, model and config paths are taken from
    # it, so that they name the same files on workers started elsewhere.
    base_dir: str = ""

    def resolve(self, path: str) -> str:
        return os.path.join(self.base_dir, path) if self.base_dir else path


@dataclasses.dataclass
class Summary:
    """What write_shards did."""

    output: str
    format: str
    partitions: int  # in the whole job
    skipped: int  # complete before this run
    images: int  # inputs in the whole job
    scored: int  # scored in this run
    failed: int  # unreadable in this run (rows with an error)
    seconds: float

    def __str__(self) -> str:
        rate = self.scored / self.seconds if self.seconds > 0 else 0.0
        return (
            f"{self.partitions - self.skipped} of {self.partitions} partitions scored "
            f"({self.skipped} already complete): {self.scored} images in {self.seconds:.1f} s "
            f"({rate:.1f} img/s), {self.failed} failed -> {self.output} ({self.format})"
        )


# ---- on the workers -------------------------------------------------------------------

_models: dict = {}
_models_lock = threading.Lock()
load_count = 0  # models loaded by this process; a worker loads each model once


def worker_model(s: Settings) -> Model:
    """The model for `s`, loaded on first use in this process and kept."""
    global load_count
    model_path = s.resolve(s.model_path)
    config_path = s.resolve(s.config_path) if s.config_path else None
    key = (model_path, s.config_json, config_path, s.arch, s.threads, s.precision)
    # Held while loading, so that a worker's other threads wait instead of loading it too.
    with _models_lock:
        m = _models.get(key)
        if m is None:
            config = json.loads(s.config_json) if s.config_json else config_path
            m = Model(model_path, config=config, arch=s.arch, threads=s.threads,
                      precision=s.precision)
            _models[key] = m
            load_count += 1
        return m


def _preload(s: Settings) -> None:
    worker_model(s)  # kept in the worker; nothing sent back


def preload(client, model_path: StrPath, *, config: Union[dict, StrPath, None] = None,
            arch: Optional[str] = None, threads: int = 1, precision: str = "fp32") -> None:
    """Loads the model on every worker of `client` now: a bad model path or description
    fails here, with the message naming the file, before any partition is scored."""
    client.run(_preload, make_settings(model_path, config=config, arch=arch, threads=threads,
                                       precision=precision))


def _columns(s: Settings, num_features: int, grid: int) -> list[str]:
    cols = ["path", "quality", "scalar", "scalar_for", "error"]
    if s.embedding:
        cols += [f"emb_{i}" for i in range(num_features)]
    if s.patch_map:
        cols += [f"q_{i}" for i in range(grid * grid)]
    return cols


def _empty_frame(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype=object if c in ("path", "scalar_for", "error") else np.float32)
         for c in columns}
    )


def score_partition(paths: Sequence[str], s: Settings) -> pd.DataFrame:
    """One row per path, in order; unreadable images get `error` and NaN numbers."""
    model = worker_model(s)
    c = model.config
    grid = c["img_size"] // c["patch_size"]
    n = len(paths)
    quality = np.full(n, np.nan, np.float32)
    scalar = np.full(n, np.nan, np.float32)  # 0..100; NaN: uncalibrated or failed
    errors: list[Optional[str]] = [None] * n
    scalar_for: list[Optional[str]] = [None] * n  # the FR system of the row's scalar
    emb = np.full((n, c["num_features"]), np.nan, np.float32) if s.embedding else None
    pmap = np.full((n, grid * grid), np.nan, np.float32) if s.patch_map else None
    for start in range(0, n, s.batch_size):
        chunk = [s.resolve(p) for p in paths[start : start + s.batch_size]]
        # errors="report": a bad image is a row, not an exception. What still raises
        # (an invalid block range, a model without FR head) is wrong for every image.
        r = model.score(chunk, blocks=s.blocks, scaling=s.scaling, aggregation=s.aggregation,
                        embedding=s.embedding, patch_map=s.patch_map, resize=s.resize,
                        errors="report", batch_size=s.batch_size,
                        calibration_for=s.calibration_for)
        end = start + len(chunk)
        quality[start:end] = r.quality
        scalar[start:end] = np.where(r.scalar >= 0, r.scalar, np.nan)
        scalar_for[start:end] = [r.scalar_for if v >= 0 else None for v in r.scalar]
        errors[start:end] = r.errors
        if emb is not None:
            emb[start:end] = r.embedding
        if pmap is not None:
            pmap[start:end] = r.patch_map.reshape(len(chunk), -1)
    parts = [pd.DataFrame({"path": pd.Series(list(paths), dtype=object), "quality": quality,
                           "scalar": scalar, "scalar_for": pd.Series(scalar_for, dtype=object),
                           "error": pd.Series(errors, dtype=object)})]
    cols = _columns(s, c["num_features"], grid)
    if emb is not None:
        parts.append(pd.DataFrame(emb, columns=[k for k in cols if k.startswith("emb_")]))
    if pmap is not None:
        parts.append(pd.DataFrame(pmap, columns=[k for k in cols if k.startswith("q_")]))
    return pd.concat(parts, axis=1) if len(parts) > 1 else parts[0]


def _write_frame(df: pd.DataFrame, path: str, fmt: str) -> None:
    """Writes `path` atomically: a unique temporary file in the same folder, then rename."""
    folder, name = os.path.split(path)
    tmp = os.path.join(folder, f".{name}.tmp-{uuid.uuid4().hex}")
    try:
        if fmt == "parquet":
            df.to_parquet(tmp, index=False)
        else:
            # %.9g: the shortest text that gives back the float32 exactly (as `vitnt score`)
            df.to_csv(tmp, index=False, float_format="%.9g")
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_shard(paths: Sequence[str], s: Settings, path: str, fmt: str) -> dict:
    """Scores one partition into the shard `path`; returns its counts."""
    t0 = time.perf_counter()
    df = score_partition(paths, s)
    _write_frame(df, path, fmt)
    return {"rows": len(df), "failed": int(df["error"].notna().sum()),
            "seconds": time.perf_counter() - t0}


# ---- on the client --------------------------------------------------------------------


def list_inputs(paths_or_glob: Union[StrPath, Sequence[StrPath]]) -> list[str]:
    """The image paths of the job, in a fixed order.

    A list of paths is taken as is. A string is a glob pattern (sorted, `**` recursive),
    a folder (its images, recursively, sorted) or a list file (one path a line, `#`
    comments), as `vitnt score` reads folders and @lists.
    """
    if isinstance(paths_or_glob, (str, os.PathLike)):
        p = os.fspath(paths_or_glob)
        if _glob.has_magic(p):
            found = sorted(f for f in _glob.glob(p, recursive=True) if os.path.isfile(f))
            if not found:
                raise Error(f"{p}: the pattern matches no files")
            return found
        if p.startswith("@"):
            p = p[1:]
        if not os.path.exists(p):
            raise Error(f"{p}: no such file or folder (expected a glob, a folder or a list file)")
        found = expand_inputs([p] if os.path.isdir(p) else ["@" + p])
        if not found:
            raise Error(f"{p}: no input images in it")
        return found
    return [os.fspath(x) for x in paths_or_glob]


def parquet_available() -> bool:
    """Whether pandas can write Parquet here (pyarrow or fastparquet importable)."""
    for engine in ("pyarrow", "fastparquet"):
        try:
            __import__(engine)
            return True
        except ImportError:
            pass
    return False


def _resolve_format(fmt: str) -> str:
    if fmt == "auto":
        return "parquet" if parquet_available() else "csv"
    if fmt == "parquet" and not parquet_available():
        raise Error("format='parquet' needs pyarrow or fastparquet, and neither is installed "
                    "(use format='csv' or 'auto')")
    if fmt not in ("csv", "parquet"):
        raise Error(f"format must be auto, csv or parquet, got '{fmt}'")
    return fmt


def make_settings(model_path: StrPath, *, config: Union[dict, StrPath, None] = None,
                  arch: Optional[str] = None, threads: int = 1, precision: str = "fp32",
                  blocks: Union[tuple[int, int], str, None] = None,
                  scaling: Optional[float] = None, aggregation: Optional[str] = None,
                  embedding: bool = False, patch_map: bool = False, resize: bool = False,
                  batch_size: int = 32, calibration_for: Optional[str] = None) -> Settings:
    if config is not None and arch is not None:
        raise Error("give either config or arch, not both")
    if threads < 1 or batch_size < 1:
        raise Error("threads and batch_size must be positive")
    if precision not in ("fp32", "bf16"):
        raise Error(f"precision must be 'fp32' or 'bf16', got '{precision}'")
    if isinstance(blocks, str):
        a, sep, b = blocks.partition(":")
        try:
            blocks = (int(a), int(b))
        except ValueError:
            sep = ""
        if not sep:
            raise Error(f"blocks must be A:B (e.g. 0:19), got '{blocks}'")
    return Settings(
        model_path=os.fspath(model_path),
        config_json=json.dumps(config, sort_keys=True) if isinstance(config, dict) else None,
        config_path=os.fspath(config) if config is not None and not isinstance(config, dict)
        else None,
        arch=arch, threads=threads, precision=precision,
        blocks=tuple(blocks) if blocks is not None else None,
        scaling=scaling, aggregation=aggregation, embedding=embedding, patch_map=patch_map,
        resize=resize, batch_size=batch_size, calibration_for=calibration_for,
        base_dir=os.getcwd())


def _chunks(paths: list[str], size: int) -> list[list[str]]:
    if size < 1:
        raise Error("partition_size must be positive")
    return [paths[i : i + size] for i in range(0, len(paths), size)]


def _meta(s: Settings) -> pd.DataFrame:
    # The column list needs the model's width and grid; they come from its description,
    # without loading the weights where that is possible.
    if s.config_json:
        c = json.loads(s.config_json)
    elif s.arch:
        from . import builtin_arch
        c = builtin_arch(s.arch)
    else:
        c = worker_model(s).config  # the embedded description: load once here
    return _empty_frame(_columns(s, c["num_features"], c["img_size"] // c["patch_size"]))


def score_frame(paths_or_glob: Union[StrPath, Sequence[StrPath]], model_path: StrPath, *,
                partition_size: int = 1000, **options) -> dd.DataFrame:
    """A lazy Dask DataFrame of the scores (nothing is computed, nothing written)."""
    s = make_settings(model_path, **options)
    paths = list_inputs(paths_or_glob)
    parts = [dask.delayed(score_partition)(chunk, s) for chunk in _chunks(paths, partition_size)]
    return dd.from_delayed(parts, meta=_meta(s), verify_meta=False, prefix="vitnt-score")


@dataclasses.dataclass
class _Plan:
    output: str
    fmt: str
    settings: Settings
    chunks: list[list[str]]
    shards: list[str]
    todo: list[int]  # partitions without a shard yet


def _manifest(paths: list[str], partition_size: int, fmt: str, s: Settings) -> dict:
    # Files as the workers open them: a rerun from another folder naming the same files
    # is the same job.
    text = "\n".join(os.path.normpath(s.resolve(p)) for p in paths)
    settings = dataclasses.asdict(s)
    settings.pop("base_dir")
    settings["model_path"] = os.path.normpath(s.resolve(s.model_path))
    if s.config_path:
        settings["config_path"] = os.path.normpath(s.resolve(s.config_path))
    return {"vitnt_dask": 1, "inputs": len(paths),
            "inputs_sha256": hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest(),
            "partition_size": partition_size, "format": fmt,
            "settings": json.loads(json.dumps(settings))}


def plan_job(paths_or_glob, model_path, output: StrPath, *, partition_size: int = 1000,
             format: str = "auto", **options) -> _Plan:
    """Lists the inputs, checks/creates the output folder and finds what is left to do."""
    s = make_settings(model_path, **options)
    fmt = _resolve_format(format)
    paths = list_inputs(paths_or_glob)
    chunks = _chunks(paths, partition_size)
    out = os.fspath(output)
    os.makedirs(out, exist_ok=True)
    manifest = _manifest(paths, partition_size, fmt, s)
    mpath = os.path.join(out, MANIFEST)
    old = None
    if os.path.exists(mpath):
        with open(mpath) as f:
            old = json.load(f)
    if old != manifest:
        # Another job's shards must not be mixed with this one's; a folder without shards
        # (a run that failed before scoring anything) is simply taken over.
        if old is not None and any(f.startswith("part-") for f in os.listdir(out)):
            keys = sorted(k for k in set(old) | set(manifest) if old.get(k) != manifest.get(k))
            raise Error(f"{out}: holds the results of another job (different {', '.join(keys)} "
                        f"in {MANIFEST}); use a new output folder or remove this one")
        _write_json(mpath, manifest)
    # Temporary files of an interrupted run (their shards were never renamed into place).
    for f in os.listdir(out):
        if f.startswith(".part-") and ".tmp-" in f:
            os.remove(os.path.join(out, f))
    width = max(5, len(str(len(chunks) - 1)))
    shards = [os.path.join(out, f"part-{i:0{width}d}.{fmt}") for i in range(len(chunks))]
    todo = [i for i, p in enumerate(shards) if not os.path.exists(p)]
    return _Plan(out, fmt, s, chunks, shards, todo)


def _write_json(path: str, obj: dict) -> None:
    tmp = f"{path}.tmp-{uuid.uuid4().hex}"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def _default_client():
    try:
        from distributed import default_client
        return default_client()
    except (ImportError, ValueError):
        return None


def run_plan(plan: _Plan, client=None,
             progress: Optional[Callable[[int, int, int, int, float], None]] = None) -> Summary:
    """Scores the partitions left in `plan` on `client` (default: the current Dask client,
    else Dask's local scheduler). progress(done, todo, scored, failed, seconds) is called
    as partitions finish."""
    t0 = time.perf_counter()
    client = client or _default_client()
    tasks = [dask.delayed(write_shard)(plan.chunks[i], plan.settings, plan.shards[i], plan.fmt,
                                       dask_key_name=f"vitnt-shard-{uuid.uuid4().hex}-{i}")
             for i in plan.todo]
    scored = failed = done = 0

    def account(r: dict) -> None:
        nonlocal scored, failed, done
        done += 1
        failed += r["failed"]
        scored += r["rows"] - r["failed"]
        if progress:
            progress(done, len(tasks), scored, failed, time.perf_counter() - t0)

    if tasks and client is not None:
        from distributed import as_completed
        for fut in as_completed(client.compute(tasks)):
            account(fut.result())
    elif tasks:
        for r in dask.compute(*tasks):
            account(r)
    return Summary(plan.output, plan.fmt, len(plan.chunks), len(plan.chunks) - len(plan.todo),
                   sum(len(c) for c in plan.chunks), scored, failed, time.perf_counter() - t0)


def write_shards(paths_or_glob, model_path, output: StrPath, *, client=None,
                 partition_size: int = 1000, format: str = "auto", progress=None,
                 **options) -> Summary:
    """Scores into shards in `output`, skipping the shards that exist; returns a Summary."""
    plan = plan_job(paths_or_glob, model_path, output, partition_size=partition_size,
                    format=format, **options)
    return run_plan(plan, client, progress)


def read_shards(output: StrPath) -> dd.DataFrame:
    """The shards of `output` as one Dask DataFrame (one partition per shard, in order)."""
    out = os.fspath(output)
    with open(os.path.join(out, MANIFEST)) as f:
        fmt = json.load(f)["format"]
    files = sorted(_glob.glob(os.path.join(_glob.escape(out), f"part-*.{fmt}")))
    if not files:
        raise Error(f"{out}: no part-*.{fmt} shards")
    if fmt == "parquet":
        return dd.read_parquet(files)
    with open(files[0]) as f:
        columns = f.readline().rstrip("\n").split(",")
    texts = ("path", "scalar_for", "error")
    floats = [c for c in columns if c not in texts]
    # Only the number columns have missing values (an empty field); a path or an error
    # text is never read as NaN.
    df = dd.read_csv(files, blocksize=None, keep_default_na=False,
                     na_values={c: [""] for c in floats}, float_precision="round_trip",
                     dtype={**{c: object for c in texts if c in columns},
                            **{c: np.float64 for c in floats}})
    df = df.astype({c: np.float32 for c in floats})
    return df.map_partitions(_none_errors, meta=df._meta)


def _none_errors(df: pd.DataFrame) -> pd.DataFrame:
    # An empty error (scalar_for) field means "no error" ("no scalar"): None, as in the
    # lazy frame.
    df = df.copy()
    for c in ("scalar_for", "error"):
        if c in df.columns:
            df[c] = df[c].where(df[c] != "", None)
    return df


def score_files(paths_or_glob: Union[StrPath, Sequence[StrPath]], model_path: StrPath,
                output: Optional[StrPath] = None, *, client=None, partition_size: int = 1000,
                format: str = "auto", config: Union[dict, StrPath, None] = None,
                arch: Optional[str] = None, threads: int = 1, precision: str = "fp32",
                blocks: Union[tuple[int, int], str, None] = None, scaling: Optional[float] = None,
                aggregation: Optional[str] = None, embedding: bool = False,
                patch_map: bool = False, resize: bool = False,
                batch_size: int = 32, calibration_for: Optional[str] = None) -> dd.DataFrame:
    """Scores image files on a Dask cluster; returns a Dask DataFrame.

    paths_or_glob:  a list of paths, a glob ('faces/**/*.jpg'), a folder or a list file
    model_path:     the weights, readable at this path on every worker
    output:         a folder: the job is run now (on `client`, default: the current Dask
                    client, else Dask's local scheduler), every partition written as a
                    shard (skipped when it exists: reruns resume) and the shards are
                    returned; None: the lazy frame is returned, nothing is computed
    partition_size: paths per task (and per shard)
    format:         'auto' (Parquet when pandas has an engine, else CSV), 'csv', 'parquet'
    config, arch:   the model description (as vitnt.Model)
    threads:        CPU threads per task (a worker running T tasks at once uses T x this)
    precision:      'fp32' (exact) or 'bf16' (faster; as vitnt.Model)
    blocks, scaling, aggregation, embedding, patch_map, resize: as Model.score
    batch_size:     images decoded and scored per step inside a task
    calibration_for: the calibration block (FR system) of the scalar (default: the model's)

    Columns: path, quality (float32), scalar (float32: 0..100, NaN when uncalibrated),
    scalar_for (the calibration block of the scalar, None without one), error (None or
    why the image failed), emb_0.. and
    q_0.. when asked. Row order is input order.
    """
    options = dict(config=config, arch=arch, threads=threads, precision=precision,
                   blocks=blocks, scaling=scaling,
                   aggregation=aggregation, embedding=embedding, patch_map=patch_map,
                   resize=resize, batch_size=batch_size, calibration_for=calibration_for)
    if output is None:
        return score_frame(paths_or_glob, model_path, partition_size=partition_size, **options)
    write_shards(paths_or_glob, model_path, output, client=client,
                 partition_size=partition_size, format=format, **options)
    return read_shards(output)


# ---- command line ---------------------------------------------------------------------


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python3 -m vitnt.dask",
        description="Score image files with Dask into resumable shards (CSV, or Parquet "
                    "when pyarrow/fastparquet is installed).",
        epilog="Exit codes: 0 all scored, 1 fatal, 2 some images could not be read (their "
               "rows carry the reason in the error column). Rerunning with the same inputs "
               "and settings skips the shards already written.")
    ap.add_argument("input", help="a list file (one path a line), a folder or a quoted glob")
    ap.add_argument("output", help="output folder for the shards")
    ap.add_argument("--model", default=os.environ.get("VITNT_MODEL"),
                    help="weights (.safetensors), readable on every worker (default: $VITNT_MODEL)")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--model-config", help="model description JSON")
    g.add_argument("--arch", help="a shipped model description")
    c = ap.add_mutually_exclusive_group()
    c.add_argument("--scheduler", help="address of a running scheduler (tcp://host:8786)")
    c.add_argument("--scheduler-file", help="scheduler file written by `dask scheduler`")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                    help="without --scheduler: worker processes of a LocalCluster (default: cores)")
    ap.add_argument("--threads-per-worker", type=int, default=1,
                    help="without --scheduler: tasks run at once per worker (default 1)")
    ap.add_argument("--model-threads", type=int, default=1,
                    help="CPU threads per task (default 1)")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                    help="bf16: AVX512-BF16 GEMMs, faster, scores within ~1e-4 (default fp32)")
    ap.add_argument("--partition-size", type=int, default=1000, help="images per task and shard")
    ap.add_argument("--batch", type=int, default=32, help="images per step inside a task")
    ap.add_argument("--blocks", help="block range A:B (default: the model's)")
    ap.add_argument("--scaling", type=float)
    ap.add_argument("--aggregation", choices=["attention-last", "attention-all", "uniform"])
    ap.add_argument("--embedding", action="store_true", help="also write emb_0.. columns")
    ap.add_argument("--patch-map", action="store_true", help="also write q_0.. columns")
    ap.add_argument("--resize", action="store_true", help="resize crops of another size")
    ap.add_argument("--calibration-for", help="the calibration block (FR system) of the scalar "
                    "(default: the model's default)")
    ap.add_argument("--format", choices=["auto", "csv", "parquet"], default="auto")
    a = ap.parse_args(argv)
    if not a.model:
        ap.error("--model is required (or set VITNT_MODEL)")
    try:
        plan = plan_job(a.input, a.model, a.output, partition_size=a.partition_size,
                        format=a.format, config=a.model_config, arch=a.arch,
                        threads=a.model_threads, precision=a.precision, blocks=a.blocks,
                        scaling=a.scaling,
                        aggregation=a.aggregation, embedding=a.embedding,
                        patch_map=a.patch_map, resize=a.resize, batch_size=a.batch,
                        calibration_for=a.calibration_for)
    except (Error, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if a.format == "auto" and plan.fmt == "csv":
        print("note: no Parquet engine (pyarrow/fastparquet) installed: writing CSV shards",
              file=sys.stderr)

    def progress(done: int, todo: int, scored: int, failed: int, seconds: float) -> None:
        print(f"progress: {done}/{todo} partitions, {scored + failed} images, "
              f"{scored / max(seconds, 1e-9):.1f} img/s, {failed} failed",
              file=sys.stderr, flush=True)

    cluster = client = None
    try:
        if plan.todo:
            from distributed import Client, LocalCluster
            if a.scheduler or a.scheduler_file:
                client = Client(a.scheduler, scheduler_file=a.scheduler_file)
            else:
                cluster = LocalCluster(n_workers=a.workers, threads_per_worker=a.threads_per_worker,
                                       processes=True, dashboard_address=None)
                client = Client(cluster)
            s = plan.settings
            config = json.loads(s.config_json) if s.config_json else s.config_path
            preload(client, s.model_path, config=config, arch=s.arch, threads=s.threads)
        summary = run_plan(plan, client, progress)
    except Error as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    print(summary, file=sys.stderr)
    return 2 if summary.failed else 0


if __name__ == "__main__":
    # Run through the imported module (not this __main__ copy), so that the functions
    # sent to the workers are vitnt.dask.*, which the workers can import.
    from vitnt.dask import main as _main

    sys.exit(_main())
