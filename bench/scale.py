"""Scale benchmark (issue 15). Part 1, out-of-core input: synthetic d=100 float32
data written as one ``.npy`` and as a directory of Parquet files at each size;
one epoch of the default ``Autoencoder(latent_dim=8, max_epochs=1)`` on each, in a
fresh subprocess that reports its own peak resident memory (``VmHWM``), wall
time and rows/s; and the in-memory fit (``np.load`` then ``fit``) of each size
up to 1 GB. Files are deleted after each size.

Targets: the largest streamed run's peak RSS within 1.2x of the smallest's and
under 2 GB; streaming throughput at least 70% of the in-memory fit's on the
smallest size; the in-memory fit's peak below 2x the data's size.

Parts 2-4 (DDP, recommenders at scale, GPU) add their own function to ``PARTS``.

    nice -n 10 python bench/scale.py --part 1 --sizes 1,4,16 --dir /tmp/aekit-scale
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

D = 100
GB = 1e9
WRITE_ROWS = 1 << 18  # rows generated and written at a time
FILE_ROWS = 1 << 21  # rows per Parquet file (about 840 MB)
GROUP_ROWS = 1 << 16  # rows per Parquet row group (26 MB)


def write_data(folder: Path, n_rows: int, seed: int = 0) -> tuple[Path, Path]:
    """``x.npy`` and ``parquet/part-*.parquet`` holding the same rows: 8 latent
    factors through a fixed random map plus noise, float32."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(8, D)).astype(np.float32)
    npy = folder / "x.npy"
    out = np.lib.format.open_memmap(npy, "w+", np.float32, (n_rows, D))
    pdir = folder / "parquet"
    pdir.mkdir(exist_ok=True)
    names = [f"f{j}" for j in range(D)]
    writer = None
    for start in range(0, n_rows, WRITE_ROWS):
        n = min(WRITE_ROWS, n_rows - start)
        block = rng.normal(size=(n, 8)).astype(np.float32) @ mixing
        block += 0.1 * rng.normal(size=(n, D)).astype(np.float32)
        out[start : start + n] = block
        if start % FILE_ROWS == 0:
            if writer is not None:
                writer.close()
            path = pdir / f"part-{start // FILE_ROWS:04d}.parquet"
            schema = pa.schema([(c, pa.float32()) for c in names])
            writer = pq.ParquetWriter(path, schema, compression="none")
        columns = [pa.array(block[:, j]) for j in range(D)]
        table = pa.Table.from_arrays(columns, names=names)
        writer.write_table(table, row_group_size=GROUP_ROWS)  # type: ignore[union-attr]
    if writer is not None:
        writer.close()
    out.flush()
    del out
    return npy, pdir


def child(mode: str, path: str, hidden: str, batch: str) -> None:
    """Run in the subprocess: fit one epoch, print a JSON line of measurements."""
    import aekit

    params: dict = {"latent_dim": 8, "max_epochs": 1, "random_state": 0}
    if batch != "auto":
        params["batch_size"] = int(batch)
    if hidden != "auto":
        params["hidden_dims"] = tuple(int(h) for h in hidden.split(","))

    start = time.perf_counter()
    if mode == "memory":
        data = np.load(path)
        n = len(data)
    else:
        data = path
        n = len(aekit.data.open_table(path))
    fit_start = time.perf_counter()
    ae = aekit.Autoencoder(**params).fit(data)
    done = time.perf_counter()
    peak_kb = _peak_rss_kb()
    print(
        json.dumps(
            {
                "mode": mode,
                "hidden_dims": list(ae.hidden_dims_),
                "batch_size": ae.batch_size_,
                "rows": n,
                "seconds": done - start,
                "fit_seconds": done - fit_start,
                "rows_per_s": n / (done - fit_start),
                "peak_rss_gb": peak_kb * 1024 / GB,
                "loss": ae.history_[-1]["loss"],
                "val_loss": ae.history_[-1].get("val_loss"),
            }
        )
    )


def _peak_rss_kb() -> int:
    """This process's peak resident memory: ``VmHWM`` of /proc/self/status, which
    starts afresh at ``exec`` (``ru_maxrss`` keeps the forking parent's peak, here
    including the pages of the file it has just written)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure(mode: str, path: Path, args: argparse.Namespace) -> dict:
    model = [args.hidden_dims, args.batch_size]
    cmd = [sys.executable, __file__, "--child", mode, str(path), *model]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{mode} run failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def part1_out_of_core(args: argparse.Namespace) -> list[dict]:
    """Part 1: streamed .npy and Parquet fits per size, the in-memory fit of the
    smallest; prints one JSON line per run and the targets."""
    rows: list[dict] = []
    sizes = sorted(float(s) for s in args.sizes.split(","))
    for size in sizes:
        n = int(size * GB / (D * 4))
        folder = Path(args.dir) / f"{size:g}GB"
        t = time.perf_counter()
        npy, pdir = write_data(folder, n)
        print(f"# {size:g} GB: {n} rows written in {time.perf_counter() - t:.0f} s")
        paths = {"memory": npy, "npy": npy, "parquet": pdir}
        for mode in args.modes.split(","):
            if mode == "memory" and size > 1:
                continue  # in memory only up to 1 GB
            path = paths[mode]
            record = {"size_gb": size, **measure(mode, path, args)}
            print(json.dumps(record), flush=True)
            rows.append(record)
        shutil.rmtree(folder)
    _targets(rows, sizes)
    return rows


def _targets(rows: list[dict], sizes: list[float]) -> None:
    def pick(size: float, mode: str) -> dict | None:
        return next(
            (r for r in rows if r["size_gb"] == size and r["mode"] == mode), None
        )

    small, big = sizes[0], sizes[-1]
    memory_size = max((s for s in sizes if s <= 1), default=small)
    memory = pick(memory_size, "memory")
    for mode in ("npy", "parquet"):
        a, b = pick(small, mode), pick(big, mode)
        if a and b:
            ratio = b["peak_rss_gb"] / a["peak_rss_gb"]
            print(
                f"# {mode}: peak RSS {b['peak_rss_gb']:.2f} GB at {big:g} GB vs "
                f"{a['peak_rss_gb']:.2f} GB at {small:g} GB (x{ratio:.2f}; target "
                "<= 1.2 and < 2 GB)"
            )
        same = pick(memory_size, mode)
        if same and memory:
            share = same["rows_per_s"] / memory["rows_per_s"]
            print(
                f"# {mode}: throughput {share:.0%} of in-memory at {memory_size:g} GB "
                "(target >= 70%)"
            )
    if memory:
        print(
            f"# in-memory: peak RSS {memory['peak_rss_gb']:.2f} GB for "
            f"{memory_size:g} GB of data (x{memory['peak_rss_gb'] / memory_size:.2f}; "
            "target < 2)"
        )


# Each part of the benchmark: its number -> the function that runs it.
PARTS: dict[str, Callable[[argparse.Namespace], list[dict]]] = {
    "1": part1_out_of_core,
}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:6])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", default="1", choices=sorted(PARTS))
    parser.add_argument("--sizes", default="1,4,16", help="GB of data, e.g. 0.1,1")
    parser.add_argument("--dir", default="/tmp/aekit-scale", help="scratch folder")
    parser.add_argument(
        "--hidden-dims",
        default="auto",
        help="'auto' (the default model) or e.g. 16: a small model when the CPU "
        "is too slow or shared for an epoch of the default one",
    )
    parser.add_argument("--batch-size", default="auto", help="'auto' or an int")
    parser.add_argument(
        "--modes", default="memory,npy,parquet", help="runs per size (memory <= 1 GB)"
    )
    args = parser.parse_args()
    PARTS[args.part](args)


if __name__ == "__main__":
    main()
