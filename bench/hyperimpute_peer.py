"""hyperimpute's GAIN or MIWAE on one table, for `bench/impute.py` (run by the
Python of a separate environment where hyperimpute is installed: its pinned
dependencies do not fit aekit's).

    python bench/hyperimpute_peer.py gain in.npy out.npy SEED

Reads a float array with NaN for missing cells (the peers' [0, 1] view), writes
the filled array and prints the fit + transform seconds.
"""

import sys
import time

import numpy as np
import pandas as pd
import torch
from hyperimpute.plugins.imputers import Imputers


def main() -> None:
    name, source, target, seed = sys.argv[1:5]
    torch.set_num_threads(1)  # small networks: a second thread only waits
    X = pd.DataFrame(np.load(source))
    start = time.perf_counter()
    plugin = Imputers().get(name, random_state=int(seed))
    filled = plugin.fit_transform(X).to_numpy(dtype=np.float64)
    seconds = time.perf_counter() - start
    np.save(target, filled)
    print(seconds)


if __name__ == "__main__":
    main()
