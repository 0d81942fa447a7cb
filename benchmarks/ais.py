"""Wall time for AIS to reach a target standard error of log Z: physsamp against plain numpy.

Two tasks, each run in one process with the same schedule and the same number of runs for
both implementations:

* ``ising``: the zero-field periodic 2D Ising model at the critical point, L = 32 (L = 16 with
  ``--quick``), against Kaufman's exact log Z; block Gibbs (checkerboard) transitions.
* ``rbm``: a 64-visible RBM trained by CD-1 on scikit-learn's 8x8 digits, binarised (20
  hidden units, 16 with ``--quick``), base-rate model fitted to the data (Salakhutdinov &
  Murray 2008), exact log Z by enumerating the hidden layer; layer-wise Gibbs transitions.

Protocol: for each schedule length (one for the Ising model, where numpy takes minutes; for the
RBM several, from many temperatures and few runs to few temperatures and many runs), a pilot
run of 64 runs estimates the variance of the log-weights; the number of runs is set to reach
the target standard error (lognormal approximation, se^2 = (exp(var) - 1) / runs) and raised
if the timed run falls short. The physsamp time is the median of three runs and excludes
compilation (reported separately; a warm-up call compiles the chunk), on one device and with
the runs split over one host device per core (``jax.sharding``; the script sets ``XLA_FLAGS``
for that unless the caller did); the numpy reference (benchmarks/_ais_numpy.py) runs the same
schedule and number of runs. Ratio = numpy time / physsamp time, for each schedule length
and, for the RBM, between the two implementations' fastest times to the target over the
lengths tried. ``--target-se 0.01`` makes the RBM a heavier job (thousands of runs).

Run: ``uv run python benchmarks/ais.py`` (a few minutes on 2 cores) or ``--quick``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

# One host device per core, so that physsamp can split its runs over both cores through
# jax.sharding (set before jax is imported; an XLA_FLAGS given by the caller wins).
os.environ.setdefault("XLA_FLAGS", f"--xla_force_host_platform_device_count={os.cpu_count()}")

import jax
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "tests"))

import _ais_numpy
from models_fixtures import digits_data, train_rbm  # scikit-learn's digits, CD-1 in numpy

import physsamp as ps
from physsamp.infer.ais import ais_log_partition, base_rate_bias
from physsamp.kernels import ais as ais_kernels
from physsamp.lattice_exact import BETA_CRITICAL, ising2d_log_partition


def runs_for(log_weights: np.ndarray, target: float) -> int:
    variance = float(np.var(log_weights, ddof=1))
    needed = math.expm1(min(variance, 50.0)) / target**2
    return max(64, math.ceil(needed / 32.0) * 32)


def time_physsamp(model, key, num_betas, num_runs, **options):
    """(result, seconds): the warm-up call compiles the chunk for this number of runs."""
    key_warm, key_run = jax.random.split(key)
    # the same chunk length as the timed call (at most 256 steps a chunk)
    ais_log_partition(model, key_warm, min(num_betas, 257), num_runs, progress_bar=False,
                      **options)  # fmt: skip
    start = time.perf_counter()
    result = ais_log_partition(model, key_run, num_betas, num_runs, progress_bar=False, **options)
    return result, time.perf_counter() - start


def measure(model, numpy_fn, num_betas, target, key, **options) -> dict:
    """One schedule length: the number of runs that reaches ``target``, physsamp's time on one
    device (median of three) and with the runs split over all devices, numpy's time."""
    key_pilot, key_main = jax.random.split(key)
    start = time.perf_counter()
    pilot = ais_log_partition(model, key_pilot, num_betas, 64, progress_bar=False, **options)
    first = time.perf_counter() - start
    start = time.perf_counter()
    ais_log_partition(model, jax.random.key(1), num_betas, 64, progress_bar=False, **options)
    compile_seconds = max(0.0, first - (time.perf_counter() - start))
    num_runs = runs_for(pilot.log_weights, target)
    keys: list = []
    attempts = 4
    for attempt in range(attempts):
        keys = [jax.random.fold_in(key_main, attempt)]
        result, seconds = time_physsamp(model, keys[0], num_betas, num_runs, **options)
        if result.stderr <= target or attempt == attempts - 1:
            break
        num_runs = math.ceil(num_runs * (result.stderr / target) ** 2 / 32.0) * 32
    # Short runs are exposed to bursts of load on a shared machine: the median of three.
    keys += [jax.random.fold_in(key_main, 10 + i) for i in range(2)]
    repeats = [seconds] + [
        time_physsamp(model, key, num_betas, num_runs, **options)[1] for key in keys[1:]
    ]
    row = dict(num_betas=num_betas, num_runs=num_runs, result=result, repeats=repeats,
               seconds=float(np.median(repeats)), compile_seconds=compile_seconds)  # fmt: skip
    if jax.device_count() > 1 and num_runs % jax.device_count() == 0:
        # the same keys: every run's numbers are those of one device
        sharded = [
            time_physsamp(model, key, num_betas, num_runs, devices=jax.devices(), **options)
            for key in keys
        ]
        row["sharded_result"] = sharded[0][0]
        row["sharded_repeats"] = [t for _, t in sharded]
        row["sharded_seconds"] = float(np.median(row["sharded_repeats"]))
        row["sharded_difference"] = float(
            np.abs(sharded[0][0].log_weights - result.log_weights).max()
        )
    schedule = ais_kernels.schedule("linear", num_betas)
    start = time.perf_counter()
    row["numpy_log_weights"] = numpy_fn(schedule, num_runs)
    row["numpy_seconds"] = time.perf_counter() - start
    return row


def report(row, exact, log_z_base, target) -> None:
    result = row["result"]
    print(f"\n  {row['num_betas']} betas (linear), {row['num_runs']} runs, target se {target}")
    print(f"  {'':22s}{'log Z':>11s}{'error':>9s}{'se':>8s}{'ESS':>8s}{'time [s]':>10s}")
    print(f"  {'physsamp, 1 device':22s}{result.log_z:11.4f}{result.log_z - exact:+9.4f}"
          f"{result.stderr:8.4f}{result.ess:8.1f}{row['seconds']:10.3f}")  # fmt: skip
    sharded = row.get("sharded_result")
    if sharded is not None:
        label = f"physsamp, {jax.device_count()} devices"
        print(f"  {label:22s}{sharded.log_z:11.4f}{sharded.log_z - exact:+9.4f}"
              f"{sharded.stderr:8.4f}{sharded.ess:8.1f}{row['sharded_seconds']:10.3f}")  # fmt: skip
    log_weights = row["numpy_log_weights"]
    numpy_log_z, numpy_stderr, _ = ais_kernels.weight_statistics(log_weights, log_z_base)
    numpy_ess = float(np.exp(2 * np.logaddexp.reduce(log_weights)
                             - np.logaddexp.reduce(2 * log_weights)))  # fmt: skip
    print(f"  {'numpy reference':22s}{numpy_log_z:11.4f}{numpy_log_z - exact:+9.4f}"
          f"{numpy_stderr:8.4f}{numpy_ess:8.1f}{row['numpy_seconds']:10.3f}")  # fmt: skip
    times = ", ".join(f"{t:.3f}" for t in row["repeats"])
    print(f"  physsamp on 1 device, three runs: {times} s (the median above)")
    if sharded is not None:
        times = ", ".join(f"{t:.3f}" for t in row["sharded_repeats"])
        print(f"  physsamp on {jax.device_count()} devices, same keys: {times} s; log-weights "
              f"within {row['sharded_difference']:.1e} of one device's")  # fmt: skip
    numpy_seconds = row["numpy_seconds"]
    print(f"  speed-up (numpy time / physsamp time): {numpy_seconds / row['seconds']:.2f}x on "
          "1 device"
          + (f", {numpy_seconds / row['sharded_seconds']:.2f}x with the runs split over "
             f"{jax.device_count()} devices" if sharded is not None else "")
          + f"; physsamp compile time ~{row['compile_seconds']:.1f} s (excluded)")  # fmt: skip


def benchmark(name, model, exact, numpy_fn, log_z_base, betas, target, key, **options):
    """Every schedule length in ``betas``, each with the runs it needs to reach ``target``;
    returns the ratio of the two implementations' shortest times to the target."""
    print(f"\n{name}: exact log Z {exact:.4f}")
    rows = []
    for num_betas in betas:
        rows.append(measure(model, numpy_fn, num_betas, target, jax.random.fold_in(key, num_betas),
                            **options))  # fmt: skip
        report(rows[-1], exact, log_z_base, target)
    best = min(min(row["seconds"], row.get("sharded_seconds", np.inf)) for row in rows)
    best_numpy = min(row["numpy_seconds"] for row in rows)
    if len(rows) > 1:
        print(f"\n  time to se {target}, each at its fastest schedule above: physsamp "
              f"{best:.3f} s, numpy {best_numpy:.3f} s: {best_numpy / best:.2f}x")  # fmt: skip
    return best_numpy / best


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
            side * side * math.log(2.0), [num_betas], args.target_se, key_ising,
        )  # fmt: skip
    if args.task in ("rbm", "both"):
        num_hidden, betas = (16, [2049, 129]) if args.quick else (20, [4097, 1025, 257, 65])
        data = digits_data()
        rbm = train_rbm(data, num_hidden, seed=1)
        base = base_rate_bias(data)
        exact = ps.exact.log_partition(rbm)
        log_z_base = num_hidden * math.log(2.0) + float(np.logaddexp(0.0, base).sum())

        def numpy_rbm(schedule, num_runs):
            return _ais_numpy.rbm_ais(np.asarray(rbm.weights), np.asarray(rbm.visible_bias),
                                      np.asarray(rbm.hidden_bias), base, schedule, num_runs,
                                      seed=2)  # fmt: skip

        ratios["rbm"] = benchmark(
            f"RBM 64 visible x {num_hidden} hidden (CD-1 on binarised digits)", rbm, exact,
            numpy_rbm,
            log_z_base, betas, args.target_se, key_rbm, base_visible_bias=base,
        )  # fmt: skip
    print(
        "\nsummary (best of 1 device and all devices): "
        + ", ".join(f"{k} {v:.2f}x" for k, v in ratios.items())
    )


if __name__ == "__main__":
    main()
