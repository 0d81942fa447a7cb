"""Wall time for AIS to reach a target standard error of log Z: physsamp against plain numpy.

Two tasks, each run in one process with the same schedule and the same number of runs for
both implementations:

* ``ising``: the zero-field periodic 2D Ising model at the critical point, L = 32 (L = 16 with
  ``--quick``), against Kaufman's exact log Z; block Gibbs (checkerboard) transitions.
* ``rbm``: a 64-visible RBM trained by CD-1 on 8x8 binary bar images (20 hidden units, 16 with
  ``--quick``), base-rate model fitted to the data (Salakhutdinov & Murray 2008), exact log Z
  by enumerating the hidden layer; layer-wise Gibbs transitions.

Protocol: a pilot run of 64 runs estimates the variance of the log-weights at the chosen
schedule length; the number of runs is set to reach the target standard error (lognormal
approximation, se^2 = (exp(var) - 1) / runs) and raised if the timed run falls short. The
physsamp time excludes compilation (reported separately; the chunk function is compiled by a
warm-up call); the numpy reference (benchmarks/_ais_numpy.py) runs the same schedule and number
of runs. Ratio = numpy time / physsamp time.

Run: ``uv run python benchmarks/ais.py`` (a few minutes on 2 cores) or ``--quick``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

import jax
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))

import _ais_numpy

import physsamp as ps
from physsamp.infer.ais import ais_log_partition, base_rate_bias
from physsamp.kernels import ais as ais_kernels
from physsamp.lattice_exact import BETA_CRITICAL, ising2d_log_partition


def bars_data(num_rows: int, seed: int, side: int = 8, noise: float = 0.05) -> np.ndarray:
    rng = np.random.default_rng(seed)
    images = np.zeros((num_rows, side, side), dtype=np.int8)
    for row in range(num_rows):
        lines = rng.random(side) < 0.3
        if rng.random() < 0.5:
            images[row, lines, :] = 1
        else:
            images[row, :, lines] = 1
    flips = (rng.random(images.shape) < noise).astype(np.int8)
    return (images ^ flips).reshape(num_rows, -1)


def train_rbm(data: np.ndarray, num_hidden: int, seed: int, epochs: int = 100) -> ps.RBM:
    rng = np.random.default_rng(seed)
    weights = rng.normal(0.0, 0.01, (data.shape[1], num_hidden))
    visible_bias, hidden_bias = np.zeros(data.shape[1]), np.zeros(num_hidden)
    rate, batch = 0.1, 20

    def sigmoid(x):
        return 1.0 / (1.0 + np.exp(-x))

    for _ in range(epochs):
        for start in range(0, len(data), batch):
            v0 = data[start : start + batch].astype(np.float64)
            h0_up = sigmoid(v0 @ weights + hidden_bias)
            h0 = rng.random(h0_up.shape) < h0_up
            v1_up = sigmoid(h0 @ weights.T + visible_bias)
            v1 = (rng.random(v1_up.shape) < v1_up).astype(np.float64)
            h1_up = sigmoid(v1 @ weights + hidden_bias)
            weights += rate * (v0.T @ h0_up - v1.T @ h1_up) / len(v0)
            visible_bias += rate * (v0 - v1).mean(axis=0)
            hidden_bias += rate * (h0_up - h1_up).mean(axis=0)
    return ps.RBM(weights, visible_bias, hidden_bias)


def runs_for(log_weights: np.ndarray, target: float) -> int:
    variance = float(np.var(log_weights, ddof=1))
    needed = math.expm1(min(variance, 50.0)) / target**2
    return max(64, math.ceil(needed / 32.0) * 32)


def time_physsamp(model, key, num_betas, num_runs, **options):
    """(result, seconds): the warm-up call compiles the chunk for this number of runs."""
    key_warm, key_run = jax.random.split(key)
    ais_log_partition(model, key_warm, 257, num_runs, progress_bar=False, **options)
    start = time.perf_counter()
    result = ais_log_partition(model, key_run, num_betas, num_runs, progress_bar=False, **options)
    return result, time.perf_counter() - start


def benchmark(name, model, exact, numpy_fn, log_z_base, num_betas, target, key, **options):
    key_pilot, key_main = jax.random.split(key)
    start = time.perf_counter()
    pilot = ais_log_partition(model, key_pilot, num_betas, 64, progress_bar=False, **options)
    first = time.perf_counter() - start
    start = time.perf_counter()
    ais_log_partition(model, jax.random.key(1), 257, 64, progress_bar=False, **options)
    compile_seconds = first - (time.perf_counter() - start) * (num_betas - 1) / 256
    num_runs = runs_for(pilot.log_weights, target)
    for attempt in range(3):
        result, seconds = time_physsamp(model, jax.random.fold_in(key_main, attempt), num_betas,
                                        num_runs, **options)  # fmt: skip
        if result.stderr <= target:
            break
        num_runs = math.ceil(num_runs * (result.stderr / target) ** 2 / 32.0) * 32
    schedule = ais_kernels.schedule("linear", num_betas)
    start = time.perf_counter()
    log_weights = numpy_fn(schedule, num_runs)
    numpy_seconds = time.perf_counter() - start
    numpy_log_z, numpy_stderr, _ = ais_kernels.weight_statistics(log_weights, log_z_base)
    print(f"\n{name}: {num_betas} betas (linear), {num_runs} runs, target se {target}")
    print(f"  exact log Z           {exact:.4f}")
    print(f"  {'':22s}{'log Z':>11s}{'error':>9s}{'se':>8s}{'ESS':>8s}{'time [s]':>10s}")
    print(f"  {'physsamp (JAX)':22s}{result.log_z:11.4f}{result.log_z - exact:+9.4f}"
          f"{result.stderr:8.4f}{result.ess:8.1f}{seconds:10.2f}")  # fmt: skip
    numpy_ess = float(np.exp(2 * np.logaddexp.reduce(log_weights)
                             - np.logaddexp.reduce(2 * log_weights)))  # fmt: skip
    print(f"  {'numpy reference':22s}{numpy_log_z:11.4f}{numpy_log_z - exact:+9.4f}"
          f"{numpy_stderr:8.4f}{numpy_ess:8.1f}{numpy_seconds:10.2f}")  # fmt: skip
    print(f"  speed-up (numpy time / physsamp time): {numpy_seconds / seconds:.2f}x;"
          f" physsamp compile time ~{compile_seconds:.1f} s (excluded)")  # fmt: skip
    return numpy_seconds / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller problems (~1 minute)")
    parser.add_argument("--target-se", type=float, default=0.05)
    parser.add_argument("--task", choices=["ising", "rbm", "both"], default="both")
    args = parser.parse_args()
    key_ising, key_rbm = jax.random.split(jax.random.key(2026))
    print(f"devices: {jax.devices()}; CPUs visible: {os.cpu_count()}")
    ratios = {}
    if args.task in ("ising", "both"):
        side, num_betas = (16, 2049) if args.quick else (32, 16385)
        model = ps.Ising.lattice((side, side), beta=BETA_CRITICAL)
        exact = ising2d_log_partition(side, side, BETA_CRITICAL)

        def numpy_ising(schedule, num_runs):
            return _ais_numpy.ising_lattice_ais(side, BETA_CRITICAL, schedule, num_runs, seed=1)

        ratios["ising"] = benchmark(
            f"Ising {side}x{side} periodic at beta_c", model, exact, numpy_ising,
            side * side * math.log(2.0), num_betas, args.target_se, key_ising,
        )  # fmt: skip
    if args.task in ("rbm", "both"):
        num_hidden, num_betas = (16, 2049) if args.quick else (20, 4097)
        data = bars_data(1000, seed=0)
        rbm = train_rbm(data, num_hidden, seed=1)
        base = base_rate_bias(data)
        exact = ps.exact.log_partition(rbm)
        log_z_base = num_hidden * math.log(2.0) + float(np.logaddexp(0.0, base).sum())

        def numpy_rbm(schedule, num_runs):
            return _ais_numpy.rbm_ais(np.asarray(rbm.weights), np.asarray(rbm.visible_bias),
                                      np.asarray(rbm.hidden_bias), base, schedule, num_runs,
                                      seed=2)  # fmt: skip

        ratios["rbm"] = benchmark(
            f"RBM 64 visible x {num_hidden} hidden (CD-1 on bars)", rbm, exact, numpy_rbm,
            log_z_base, num_betas, args.target_se, key_rbm, base_visible_bias=base,
        )  # fmt: skip
    print("\nsummary: " + ", ".join(f"{k} {v:.2f}x" for k, v in ratios.items()))


if __name__ == "__main__":
    main()
