"""Where the RBM AIS spends its time: the fixed cost of one ``ais_log_partition`` call (two
temperatures, one step) and the cost of a step, in all and per run, from 64 to 4,096 runs,
for physsamp and for the numpy reference, on the digits RBM of ``benchmarks/ais.py``. Prefix
the command with ``taskset -c 0`` for one core.

Run: ``uv run python benchmarks/ais_rbm_step.py`` (``--runs 64 4096`` for two sizes)
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import jax
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "tests"))

import _ais_numpy
from models_fixtures import digits_data, train_rbm

from physsamp.infer.ais import ais_log_partition, base_rate_bias
from physsamp.kernels import ais as ais_kernels


def median_seconds(function, repeats: int) -> float:
    function(0)
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        function(i + 1)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[64, 128, 256, 1024, 4096])
    options = parser.parse_args()
    data = digits_data()
    rbm = train_rbm(data, 20, seed=1)
    base = base_rate_bias(data)

    def physsamp(num_betas, num_runs):
        def call(seed):
            key = jax.random.key(seed)
            options = dict(progress_bar=False, base_visible_bias=base)
            return ais_log_partition(rbm, key, num_betas, num_runs, **options)

        return call

    def numpy(num_betas, num_runs):
        schedule = ais_kernels.schedule("linear", num_betas)
        weights = np.asarray(rbm.weights), np.asarray(rbm.visible_bias), np.asarray(rbm.hidden_bias)
        return lambda seed: _ais_numpy.rbm_ais(*weights, base, schedule, num_runs, seed)

    print(f"fixed cost of one call (2 betas, 64 runs): physsamp "
          f"{median_seconds(physsamp(2, 64), 30) * 1e3:.2f} ms")  # fmt: skip
    print("a step (257 betas; the 2-beta call subtracted), per run:")
    for num_runs in options.runs:
        steps = {}
        for name, make in (("physsamp", physsamp), ("numpy", numpy)):
            repeats = 7 if num_runs <= 256 else 3
            fixed = median_seconds(make(2, num_runs), repeats)
            steps[name] = (median_seconds(make(257, num_runs), repeats) - fixed) / 256
        print(f"  {num_runs:5d} runs: physsamp {steps['physsamp'] * 1e6:8.1f} us a step "
              f"({steps['physsamp'] / num_runs * 1e9:5.0f} ns a run), numpy "
              f"{steps['numpy'] * 1e6:8.1f} us ({steps['numpy'] / num_runs * 1e9:5.0f} ns a run)"
              f": {steps['numpy'] / steps['physsamp']:.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
