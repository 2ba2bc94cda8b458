"""Labelled synthetic series from GutenTAG (``pip install --no-deps
timeeval-gutentag gitpython jsonschema neurokit2 pyyaml``: its own pin of
scipy<1.15 would downgrade numpy and scipy; it works with current ones),
generated offline with fixed seeds: a tuning family (chooses rules) and a
held-apart family (judges them once). Both definitions are fixed here before
any detector ran on the held-apart one.

Each series is univariate: GutenTAG's anomaly-free training series (its
"semi-supervised" train file, same base oscillation, another noise draw) is
the fit; its test series, with the anomalies listed, is scored. The families
differ in seed, in base oscillations (the held-apart family has cosine,
dirichlet, MLS and polynomial-trend bases that the tuning family lacks) and in
the anomaly parameters; the anomaly kinds are GutenTAG's ten.

    python -c "import bench.series_gutentag as g; print(len(g.family('held')))"
"""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np

LENGTH = 3000
SEEDS = {"tuning": 11, "held": 2027}

# base oscillations (GutenTAG parameters; frequency in Hz at 100 Hz sampling)
TUNING_BASES = {
    "sine": {"kind": "sine", "frequency": 2.0, "amplitude": 1.0, "variance": 0.05},
    "sine-slow": {"kind": "sine", "frequency": 0.5, "amplitude": 2.0, "variance": 0.05},
    "walk": {
        "kind": "random-walk",
        "amplitude": 1.0,
        "variance": 0.05,
        "smoothing": 0.02,
    },
    "saw": {
        "kind": "sawtooth",
        "frequency": 1.0,
        "amplitude": 1.0,
        "variance": 0.05,
        "width": 0.7,
    },
    "square": {
        "kind": "square",
        "frequency": 0.8,
        "amplitude": 1.0,
        "variance": 0.05,
        "duty": 0.4,
    },
    "cbf": {
        "kind": "cylinder-bell-funnel",
        "avg-pattern-length": 60,
        "amplitude": 1.0,
        "variance": 0.05,
        "variance-amplitude": 0.1,
        "variance-pattern-length": 10,
    },
}
HELD_BASES = {
    "cosine": {"kind": "cosine", "frequency": 3.0, "amplitude": 2.0, "variance": 0.1},
    "dirichlet": {
        "kind": "dirichlet",
        "periodicity": 40.0,
        "amplitude": 1.0,
        "variance": 0.05,
    },
    "mls": {"kind": "mls", "complexity": 9, "amplitude": 1.0, "variance": 0.05},
    "cosine-slow": {
        "kind": "cosine",
        "frequency": 0.7,
        "amplitude": 1.0,
        "variance": 0.1,
    },
    "sine-trend": {
        "kind": "sine",
        "frequency": 1.2,
        "amplitude": 1.0,
        "variance": 0.1,
        "trend": {"kind": "polynomial", "polynomial": [0.0, 0.3]},
    },
    "walk2": {
        "kind": "random-walk",
        "amplitude": 2.0,
        "variance": 0.1,
        "smoothing": 0.05,
    },
}

# anomaly kinds with their parameters (length: points)
TUNING_ANOMALIES = {
    "platform": ({"kind": "platform", "value": 0.0}, 40),
    "extremum": ({"kind": "extremum", "min": False, "local": False}, 1),
    "mean": ({"kind": "mean", "offset": 0.6}, 60),
    "variance": ({"kind": "variance", "variance": 0.3}, 50),
    "frequency": ({"kind": "frequency", "frequency_factor": 2.0}, 100),
    "amplitude": ({"kind": "amplitude", "amplitude_factor": 1.8}, 100),
    "pattern": (
        {
            "kind": "pattern",
            "sinusoid_k": 8.0,
            "cbf_pattern_factor": 2.0,
            "square_duty": 0.8,
            "sawtooth_width": 0.3,
        },
        100,
    ),
    "pattern-shift": (
        {"kind": "pattern-shift", "shift_by": 10, "transition_window": 10},
        100,
    ),
}
HELD_ANOMALIES = {
    "platform": ({"kind": "platform", "value": 0.5}, 70),
    "extremum-local": ({"kind": "extremum", "min": True, "local": True}, 1),
    "extremum": ({"kind": "extremum", "min": True, "local": False}, 1),
    "mean": ({"kind": "mean", "offset": -0.4}, 80),
    "variance": ({"kind": "variance", "variance": 0.2}, 80),
    "frequency": ({"kind": "frequency", "frequency_factor": 0.5}, 150),
    "amplitude": ({"kind": "amplitude", "amplitude_factor": 0.4}, 120),
    "pattern": (
        {
            "kind": "pattern",
            "sinusoid_k": 3.0,
            "cbf_pattern_factor": 0.5,
            "square_duty": 0.2,
            "sawtooth_width": 0.9,
        },
        120,
    ),
    "pattern-shift": (
        {"kind": "pattern-shift", "shift_by": 20, "transition_window": 20},
        120,
    ),
    "trend": (
        {
            "kind": "trend",
            "oscillation": {"kind": "polynomial", "polynomial": [0.0, 0.5]},
        },
        150,
    ),
}
POSITIONS = ("beginning", "middle", "end")


def definitions(name: str) -> list[dict]:
    """GutenTAG's configuration of the family ``name`` ("tuning" or "held"):
    two series per base oscillation, each with two anomaly kinds (the next
    ones of the family's list that GutenTAG allows on that base, taken
    round-robin so every kind meets several bases) at the middle and the end."""
    bases = TUNING_BASES if name == "tuning" else HELD_BASES
    table = TUNING_ANOMALIES if name == "tuning" else HELD_ANOMALIES
    kinds = list(table)
    series, k = [], 0
    for base_name, base in bases.items():
        for _ in range(2):
            picked: list[str] = []
            while len(picked) < 2:
                kind = kinds[k % len(kinds)]
                k += 1
                if kind not in picked and _allowed(base, table[kind][0]):
                    picked.append(kind)
            anomalies = [
                {
                    "position": POSITIONS[1 + i],
                    "length": table[kind][1],
                    "channel": 0,
                    "kinds": [table[kind][0]],
                }
                for i, kind in enumerate(picked)
            ]
            series.append(
                {
                    "name": f"{base_name}-{'+'.join(picked)}",
                    "length": LENGTH,
                    "semi-supervised": True,
                    "base-oscillations": [base],
                    "anomalies": anomalies,
                }
            )
    return series


def _allowed(base: dict, kind: dict) -> bool:
    """Whether GutenTAG accepts the anomaly ``kind`` on the oscillation ``base``."""
    from gutenTAG.config.parser import ConfigParser

    config = {
        "timeseries": [
            {
                "name": "check",
                "length": LENGTH,
                "base-oscillations": [base],
                "anomalies": [{"position": "middle", "length": 10, "kinds": [kind]}],
            }
        ]
    }
    try:
        list(ConfigParser().parse(config))
    except ValueError:
        return False
    return True


def family(name: str) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """(series name, training values, test values, test 0/1 labels) for each
    series of the family ``name``, generated with its fixed seed."""
    from gutenTAG import GutenTAG

    config = {"timeseries": definitions(name)}
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        generated = GutenTAG(seed=SEEDS[name]).load_config_dict(config)
        out = generated.generate(return_timeseries=True) or []
    train = {d.name: d.timeseries for d in out if "TRAIN" in str(d.training_type)}
    rows = []
    for d in out:
        if "TEST" not in str(d.training_type):
            continue
        test = d.timeseries
        rows.append(
            (
                d.name,
                train[d.name]["value-0"].to_numpy(np.float64),
                test["value-0"].to_numpy(np.float64),
                test["is_anomaly"].to_numpy(np.int64),
            )
        )
    return rows
