"""Scoring speed of exported ONNX graphs in onnxruntime against the estimators'
own methods, on 100k rows (issue 16, part 2).

Synthetic data: 32 features on a rank-8 subspace plus noise, with 2% of the
rows off it. A default `AnomalyDetector` (contamination 0.02) and a default
`Autoencoder(latent_dim=8)` are fitted on 20k rows; both then score 100k fresh
rows. For each, rows/s of

* the estimator: ``decision_function`` (the detector, float64 on the CPU) or
  ``transform`` (the autoencoder, float64 on the CPU; ``reconstruct``, in
  float32, for comparison),
* onnxruntime on the exported graph, float64 (the detector's default export)
  and float32, all three outputs (codes, reconstruction, score) in one call,

as the median of --repeats timed calls on the whole 100k-row array, torch and
onnxruntime each with --threads threads. The agreement of the scores and of
the labels at ``threshold_`` is printed too.

    python bench/export_speed.py [--repeats 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

import aekit

D, RANK, N_FIT, N_SCORE = 32, 8, 20_000, 100_000


def synthetic(n: int, seed: int) -> np.ndarray:
    """Rows on a rank-8 subspace plus noise; 2% of them off it."""
    rng = np.random.default_rng(seed)
    basis = np.random.default_rng(0).normal(size=(RANK, D))
    X = rng.normal(size=(n, RANK)) @ basis + 0.1 * rng.normal(size=(n, D))
    odd = rng.random(n) < 0.02
    X[odd] = 3.0 * rng.normal(size=(int(odd.sum()), D))
    return X


def rows_per_second(fn, repeats: int) -> tuple[float, list[float]]:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return N_SCORE / statistics.median(times), times


def session(path: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def report(name: str, rate: float, base: float, times: list[float]) -> None:
    spread = ", ".join(f"{t:.3f}" for t in times)
    print(f"| {name} | {rate:,.0f} | {rate / base:.2f}x | {spread} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    X_fit, X = synthetic(N_FIT, 1), synthetic(N_SCORE, 2)
    print(
        f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"onnxruntime {ort.__version__}, {args.threads} thread(s), "
        f"median of {args.repeats}; {N_SCORE:,} rows x {D} features"
    )
    det = aekit.AnomalyDetector(contamination=0.02, random_state=0).fit(X_fit)
    ae = aekit.Autoencoder(latent_dim=8, random_state=0, device="cpu").fit(X_fit)
    with tempfile.TemporaryDirectory() as tmp:
        det64 = session(det.to_onnx(Path(tmp) / "det64.onnx"), args.threads)
        det32 = session(
            det.to_onnx(Path(tmp) / "det32.onnx", dtype="float32"), args.threads
        )
        ae32 = session(ae.to_onnx(Path(tmp) / "ae32.onnx"), args.threads)
    X32 = X.astype(np.float32)

    print("\n| scoring 100k rows | rows/s | vs the estimator | seconds per run |")
    print("|---|---|---|---|")
    base, times = rows_per_second(lambda: det.decision_function(X), args.repeats)
    report("AnomalyDetector.decision_function (torch, float64)", base, base, times)
    for name, sess, data in (
        ("onnxruntime, detector graph float64", det64, X),
        ("onnxruntime, detector graph float32", det32, X32),
    ):
        rate, times = rows_per_second(
            lambda s=sess, d=data: s.run(None, {"x": d}), args.repeats
        )
        report(name, rate, base, times)
    base, times = rows_per_second(lambda: ae.transform(X), args.repeats)
    report("Autoencoder.transform (torch, float64)", base, base, times)
    for name, fn in (
        ("Autoencoder.reconstruct (torch, float32)", lambda: ae.reconstruct(X)),
        ("onnxruntime, autoencoder graph float32", lambda: ae32.run(None, {"x": X32})),
    ):
        rate, times = rows_per_second(fn, args.repeats)
        report(name, rate, base, times)

    scores = det.decision_function(X)
    labels = scores > det.threshold_
    print()
    for name, sess, data in (("float64", det64, X), ("float32", det32, X32)):
        (onnx_scores,) = sess.run(["score"], {"x": data})
        differ = int(((onnx_scores > det.threshold_) != labels).sum())
        print(
            f"detector {name}: max |score difference| "
            f"{np.abs(onnx_scores - scores).max():.2e}, labels that differ at "
            f"the threshold: {differ} of {N_SCORE:,} ({int(labels.sum())} flagged)"
        )
    (codes,) = ae32.run(["codes"], {"x": X32})
    print(
        f"autoencoder float32: max |code difference| "
        f"{np.abs(codes - ae.transform(X)).max():.2e}"
    )


if __name__ == "__main__":
    main()
