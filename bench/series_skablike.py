"""SKAB-like multivariate series, generated in NumPy with fixed seeds: a tuning
family (chooses rules) and a held-apart family (judges them once). Both
definitions are fixed here, and committed, before any detector ran on the
held-apart one.

What SKAB (Skoltech Anomaly Benchmark; a valve/pump test rig) looks like, and
what is copied: 8 sensor channels sampled at 1 Hz, about 1,100-1,300 rows per
series, correlated through a few physical drivers (pump cycle, flow regime,
a slow warm-up of the temperature sensors); the protocol fits on the first 400
rows and scores the rest; anomalies are long sustained segments (about 35% of
the test points), often visible in a few channels at once or only as a broken
relation between channels.

Each series: three latent drivers (a periodic pump cycle, a slow regime level
switching between a few values, an AR(1) load) mixed into 8 channels by a
random matrix, two channels made nonlinear (an RMS-like absolute value, a
square), per-channel noise, and a slow warm-up trend in the two
temperature-like channels (an exponential approach over the whole series, so
the test period lies partly above the training range: the trend the value
score of round 2 misread). Then 1-3 anomaly segments in the test period, each
5-30% of it long, on 2-4 channels.

Anomaly kinds, by family (the held-apart family's are unlike the tuning
family's; only "shift" appears in both, with other sizes):

- tuning: ``shift`` (level offset of 1.5-3 sd), ``drift`` (a ramp up to 3 sd),
  ``variance`` (noise x3-5), ``decouple`` (the channels lose their driver: an
  independent AR(1) with the same mean and sd: a correlation break, invisible
  to per-channel value tails).
- held: ``stuck`` (the channels freeze at their value), ``oscillation`` (a
  sine at another period, 1-2 sd), ``gain`` (the channel's driver part scaled
  by 0.3 or 2.5), ``lag`` (the channels lag their driver by a quarter to half
  a pump cycle: a correlation break), ``shift`` (0.8-1.5 sd, smaller).

    PYTHONPATH=bench python -c "import series_skablike as s; print(s.SEEDS)"
"""

from __future__ import annotations

import numpy as np

N_TRAIN = 400  # SKAB's protocol: fit on the first 400 rows
N_CHANNELS = 8
SEEDS = {"tuning": 101, "held": 90210}
N_SERIES = {"tuning": 16, "held": 16}
KINDS = {
    "tuning": ("shift", "drift", "variance", "decouple"),
    "held": ("stuck", "oscillation", "gain", "lag", "shift-small"),
}
TEMPERATURE = (4, 5)  # the channels with a warm-up trend


def _drivers(rng: np.random.Generator, n: int) -> tuple[np.ndarray, int]:
    """(n, 3) latent drivers and the pump period."""
    period = int(rng.integers(15, 70))
    t = np.arange(n)
    phase = rng.uniform(0, 2 * np.pi)
    cycle = np.sin(2 * np.pi * t / period + phase)
    cycle += 0.3 * np.sin(4 * np.pi * t / period + 2 * phase)
    levels = rng.normal(0, 1, int(rng.integers(2, 4)))
    regime = np.empty(n)
    at = 0
    while at < n:
        stay = int(rng.integers(60, 300))
        regime[at : at + stay] = rng.choice(levels)
        at += stay
    load = np.zeros(n)
    noise = rng.normal(0, 0.3, n)
    for i in range(1, n):
        load[i] = 0.95 * load[i - 1] + noise[i]
    return np.column_stack([cycle, regime, load]), period


def _mix(rng: np.random.Generator, drivers: np.ndarray) -> np.ndarray:
    """Channels (n, 8) from the drivers (before noise and trend)."""
    weights = rng.normal(0, 1, (drivers.shape[1], N_CHANNELS))
    weights[:, TEMPERATURE] *= 0.3
    mixed = drivers @ weights
    mixed[:, 0] = np.abs(mixed[:, 0]) + 0.5  # RMS-like accelerometer
    mixed[:, 6] = 0.3 * mixed[:, 6] ** 2  # power-like
    return mixed


def _warm_up(rng: np.random.Generator, n: int) -> np.ndarray:
    """A slow warm-up (n,) in sd units: exponential approach to a plateau."""
    tau = rng.uniform(0.4, 1.5) * n
    return rng.uniform(1.5, 3.0) * (1 - np.exp(-np.arange(n) / tau))


def _segments(rng: np.random.Generator, n: int) -> list[tuple[int, int]]:
    """1-3 non-overlapping (start, end) test segments, each 5-30% of the test."""
    test = n - N_TRAIN
    count = int(rng.integers(1, 4))
    out: list[tuple[int, int]] = []
    for _ in range(50):
        if len(out) == count:
            break
        length = int(rng.uniform(0.05, 0.30) * test)
        start = int(rng.integers(N_TRAIN + 20, n - length))
        if all(start > e + 20 or start + length < s - 20 for s, e in out):
            out.append((start, start + length))
    return sorted(out)


def _anomaly(kind, rng, x, clean, drivers, period, span, chans) -> None:
    """Plant one anomaly of ``kind`` in ``x`` (in place) on rows ``span``."""
    s, e = span
    sd = clean[:N_TRAIN].std(axis=0) + 1e-9
    m = e - s
    if kind in ("shift", "shift-small"):
        low, high = (1.5, 3.0) if kind == "shift" else (0.8, 1.5)
        signs = rng.choice([-1, 1], len(chans))
        x[s:e, chans] += signs * rng.uniform(low, high, len(chans)) * sd[chans]
    elif kind == "drift":
        ramp = np.linspace(0, 1, m)[:, None] * rng.uniform(1.5, 3.0, len(chans))
        x[s:e, chans] += ramp * sd[chans] * rng.choice([-1, 1], len(chans))
    elif kind == "variance":
        factor = rng.uniform(3, 5)
        x[s:e, chans] += rng.normal(0, 1, (m, len(chans))) * factor * 0.1 * sd[chans]
    elif kind == "decouple":
        for c in chans:
            ar = np.zeros(m)
            noise = rng.normal(0, 1, m)
            for i in range(1, m):
                ar[i] = 0.9 * ar[i - 1] + noise[i]
            ar = (ar - ar.mean()) / (ar.std() + 1e-9)
            x[s:e, c] = clean[:N_TRAIN, c].mean() + ar * sd[c]
    elif kind == "stuck":
        x[s:e, chans] = x[s, chans]
    elif kind == "oscillation":
        other = period * rng.choice([0.3, 2.7])
        wave = np.sin(2 * np.pi * np.arange(m) / other)[:, None]
        x[s:e, chans] += wave * rng.uniform(1.0, 2.0) * sd[chans]
    elif kind == "gain":
        factor = rng.choice([0.3, 2.5])
        centre = clean[:N_TRAIN, chans].mean(axis=0)
        x[s:e, chans] = centre + (x[s:e, chans] - centre) * factor
    elif kind == "lag":
        lag = int(period * rng.uniform(0.25, 0.5)) or 1
        x[s:e, chans] = clean[s - lag : e - lag, chans]
    else:
        raise ValueError(f"unknown anomaly kind {kind!r}")


def make_series(rng: np.random.Generator, kinds: tuple[str, ...], number: int):
    """One series: (name, values (n, 8), labels (n,))."""
    n = int(rng.integers(1000, 1350))
    drivers, period = _drivers(rng, n)
    clean = _mix(rng, drivers)
    clean += rng.normal(0, 0.1, clean.shape) * clean[:N_TRAIN].std(axis=0)
    sd = clean[:N_TRAIN].std(axis=0)
    for c in TEMPERATURE:
        clean[:, c] += _warm_up(rng, n) * sd[c]
    x = clean.copy()
    labels = np.zeros(n, np.int64)
    used = []
    for span in _segments(rng, n):
        kind = kinds[(number + len(used)) % len(kinds)]
        count = int(rng.integers(2, 5))
        chans = np.sort(rng.choice(N_CHANNELS, count, replace=False))
        _anomaly(kind, rng, x, clean, drivers, period, span, chans)
        labels[span[0] : span[1]] = 1
        used.append(kind)
    return f"{number:02d}-{'+'.join(used)}", x, labels


def family(name: str) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """(series name, training rows (400, 8), test rows, test 0/1 labels) for
    each series of the family ``name`` ("tuning" or "held")."""
    rng = np.random.default_rng(SEEDS[name])
    rows = []
    for number in range(N_SERIES[name]):
        label, x, labels = make_series(rng, KINDS[name], number)
        rows.append((label, x[:N_TRAIN], x[N_TRAIN:], labels[N_TRAIN:]))
    return rows
