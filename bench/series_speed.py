"""SeriesDetector speed: fit time of one 4,000-point series, and streaming
throughput (one new point at a time through ``update``) with per-point latency.

    OMP_NUM_THREADS=1 python bench/series_speed.py [--repeats 3]

Targets (issue 23): fit under 10 s; streaming at least 10,000 points/s.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import torch

import aekit

DATA = "../shared/data/nab/realKnownCause/ec2_request_latency_system_failure.csv"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", default=DATA, help="a NAB csv (timestamp,value)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    x = pd.read_csv(args.data)["value"].to_numpy(np.float64)[:4000]
    fits, rates, p99s = [], [], []
    for seed in range(args.repeats):
        start = time.perf_counter()
        det = aekit.SeriesDetector(random_state=seed, device="cpu").fit(x)
        fits.append(time.perf_counter() - start)
        det.reset_stream()
        latencies = np.empty(len(x))
        for i, point in enumerate(x):
            tick = time.perf_counter()
            det.update(point)
            latencies[i] = time.perf_counter() - tick
        rates.append(len(x) / latencies.sum())
        p99s.append(np.quantile(latencies, 0.99) * 1e6)
    print(f"window_ {det.window_}, latent_dim_ {det.latent_dim_}")
    print(f"fit of {len(x)} points: median {np.median(fits):.2f} s ({fits})")
    print(
        f"streaming: median {np.median(rates):,.0f} points/s, p99 latency "
        f"{np.median(p99s):.0f} us"
    )


if __name__ == "__main__":
    main()
