"""Scale benchmark (issue 15). Part 1, out-of-core input: synthetic d=100 float32
data written as one ``.npy`` and as a directory of Parquet files at each size;
one epoch of the default ``Autoencoder(latent_dim=8, max_epochs=1)`` (its
defaults: the (512, 256) network, batch 256, PCA start, early stopping's
validation split) on each, in a fresh subprocess, and the in-memory fit
(``np.load`` then ``fit``) of each size up to 1 GB. The parent polls each
child's peak resident memory (``VmHWM``); a child also reports wall time, rows/s
and the final losses. With ``--timeout`` a run is stopped after that many
seconds and reported with its peak so far (``finished: false``). Files are
deleted after each size. Results: one JSON line per run on stdout, and with
``--out`` a JSON file and a Markdown table (``.md`` beside it) to paste.

Targets: the largest streamed run's peak RSS within 1.2x of the smallest's and
under 2 GB; streaming throughput at least 70% of the in-memory fit's on 1 GB;
the in-memory fit's peak below 2x the data's size.

Part 2 (DDP, 1 vs 2 gloo processes, time per epoch of each) runs
``bench/scale_ddp.py``'s part 2; parts 3-4 are in that script.

The big runs (an idle machine; the 16 GB size needs about 33 GB free under
``--dir``, for its .npy and its Parquet copy; hours):

    nice -n 10 python bench/scale.py --part 1 --sizes 1,4,16 --out scale1.json
    nice -n 10 python bench/scale.py --part 2 --rows 200000 --epochs 3

Quick checks on a shared machine (one thread a run; the bigger streamed runs
cut at 300 s, with their peak memory so far):

    nice -n 10 python bench/scale.py --part 1 --sizes 0.1 --threads 1 --out s.json
    nice -n 10 python bench/scale.py --part 1 --sizes 0.4 --modes npy,parquet \\
        --threads 1 --timeout 300 --out m.json
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


def child(mode: str, path: str, threads: str) -> None:
    """Run in the subprocess: fit one epoch of the default model (on ``threads``
    CPU threads, or torch's default for "default"), print a JSON line of
    measurements."""
    import torch

    import aekit

    if threads != "default":
        torch.set_num_threads(int(threads))

    start = time.perf_counter()
    if mode == "memory":
        data = np.load(path)
        n = len(data)
    else:
        data = path
        n = len(aekit.data.open_table(path))
    fit_start = time.perf_counter()
    ae = aekit.Autoencoder(latent_dim=8, max_epochs=1, random_state=0).fit(data)
    done = time.perf_counter()
    record = {
        "mode": mode,
        "hidden_dims": list(ae.hidden_dims_),
        "batch_size": ae.batch_size_,
        "rows": n,
        "seconds": done - start,
        "fit_seconds": done - fit_start,
        "rows_per_s": n / (done - fit_start),
        "peak_rss_gb": _peak_rss_kb() * 1024 / GB,
        "loss": ae.history_[-1]["loss"],
        "val_loss": ae.history_[-1].get("val_loss"),
    }
    print(json.dumps(record))


def _peak_rss_kb() -> int:
    """This process's peak resident memory: ``VmHWM`` of /proc/self/status, which
    starts afresh at ``exec`` (``ru_maxrss`` keeps the forking parent's peak, here
    including the pages of the file it has just written)."""
    status = Path("/proc/self/status")
    if status.exists():
        return _vm_hwm(status.read_text())
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure(mode: str, path: Path, args: argparse.Namespace) -> dict:
    """One run in a subprocess; its peak RSS polled from /proc while it runs
    (so a run stopped at ``args.timeout`` seconds still has one)."""
    timeout = args.timeout
    cmd = [sys.executable, __file__, "--child", mode, str(path), args.threads]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    status, peak_kb = Path(f"/proc/{proc.pid}/status"), 0
    while proc.poll() is None:
        if status.exists():
            peak_kb = max(peak_kb, _vm_hwm(status.read_text()))
        if timeout is not None and time.perf_counter() - start > timeout:
            proc.kill()
            proc.wait()
            return {
                "mode": mode,
                "finished": False,
                "seconds": time.perf_counter() - start,
                "peak_rss_gb": peak_kb * 1024 / GB,
            }
        time.sleep(0.5)
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} run failed:\n{err.decode()[-3000:]}")
    record = json.loads(out.decode().strip().splitlines()[-1])
    return {**record, "finished": True}


def _vm_hwm(status: str) -> int:
    """``VmHWM`` (kB) of a /proc/<pid>/status text (0 when absent)."""
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


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
    _targets([r for r in rows if r["finished"]], sizes)
    if args.out:
        _summary(rows, Path(args.out))
    return rows


def _summary(rows: list[dict], path: Path) -> None:
    """``path`` (JSON, every run's record) and ``path`` with ``.md``: a table."""
    path.write_text(json.dumps(rows, indent=1))
    lines = [
        "| data GB | input | peak RSS GB | peak / data | fit s | rows/s | loss |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        done = r["finished"]
        cells = [
            f"{r['size_gb']:g}",
            r["mode"],
            f"{r['peak_rss_gb']:.2f}",
            f"{r['peak_rss_gb'] / r['size_gb']:.2f}",
            f"{r['fit_seconds']:.0f}" if done else f"stopped at {r['seconds']:.0f}",
            f"{r['rows_per_s']:,.0f}" if done else "",
            f"{r['loss']:.4f}" if done else "",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    path.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print(f"# summary: {path} and {path.with_suffix('.md')}")


def part2_ddp(args: argparse.Namespace) -> list[dict]:
    """Part 2: `bench/scale_ddp.py`'s 1 vs 2 gloo processes (losses, time per
    epoch of each)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from scale_ddp import part_ddp

    part_ddp(args.rows, args.epochs, "adam")
    return []


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
    "2": part2_ddp,
}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:5])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", default="1", choices=sorted(PARTS))
    parser.add_argument("--sizes", default="1,4,16", help="GB of data, e.g. 0.1,1")
    parser.add_argument("--dir", default="/tmp/aekit-scale", help="scratch folder")
    parser.add_argument(
        "--modes", default="memory,npy,parquet", help="runs per size (memory <= 1 GB)"
    )
    parser.add_argument("--timeout", type=float, help="stop a run after s seconds")
    parser.add_argument(
        "--threads",
        default="default",
        help="CPU threads of each run (torch's default); 1 on a shared machine",
    )
    parser.add_argument("--out", help="part 1: write a JSON and a .md summary here")
    parser.add_argument("--rows", type=int, default=200_000, help="part 2's rows")
    parser.add_argument("--epochs", type=int, default=3, help="part 2's epochs")
    args = parser.parse_args()
    PARTS[args.part](args)


if __name__ == "__main__":
    main()
