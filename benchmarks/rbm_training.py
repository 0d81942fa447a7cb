"""Training RBMs on binarised digits: physsamp's CD-1, PCD and PT-PCD against scikit-learn.

Data: scikit-learn's 8 x 8 digits, binarised (grey level >= 8 of 16 is on), split with
``train_test_split(X, test_size=360, stratify=y, random_state=0)``: 1,437 training rows,
360 held-out rows. For 16 and 64 hidden units, side by side in one run, every method for the
same number of epochs (``--epochs``, default 100), mini-batches of 10:

* physsamp ``ps.train.fit`` with ``method="cd"`` (CD-1), ``"pcd"`` and ``"pt-pcd"``, its
  defaults otherwise (SGD whose learning rate falls linearly from 0.05 to 0; PCD: 30
  persistent chains; PT-PCD: 10 ladders of 10 temperatures), from ``RBM.random`` (weights
  N(0, 0.01^2), zero biases);
* scikit-learn's ``BernoulliRBM`` (persistent chains, one per row of a batch, constant learning
  rate) at learning rates 0.05 and 0.01, ``batch_size=10``.

Timing. A repeat runs every method once, in turn (interleaved), and repeat ``r`` uses seed
``r`` on every side: physsamp's starting weights and training key come from
``jax.random.key(r)``, scikit-learn's ``random_state`` is ``r``. physsamp's epoch is one
compiled call; its time per epoch is the median of the epochs after the first (the time
between two calls of ``fit``'s ``callback``, which follows the epoch's result to the host; the
last epoch, which ``fit`` follows with an evaluation, is left out), and compilation is the
first epoch's time less one such epoch. ``fit`` keeps the compiled trainers of its last
configurations: a later ``fit`` with the same configuration (shapes, method, number of
epochs, hence the same learning-rate schedule) does not recompile, so "compile s" is that of
the first call (seed 0) and the later repeats run without it. "training s" is
``history.seconds[-1]``, all epochs (evaluations excluded), median over the repeats.
scikit-learn has nothing to compile: its time per epoch is the time of ``fit`` over the
number of epochs. Times per epoch: best and median over the repeats.

Held-out log-likelihood (nats per row, mean and standard deviation over the seeds): exact for
16 hidden units (``ps.train.log_likelihood`` enumerates the hidden layer); for 64 hidden units,
bidirectional AIS (``physsamp.infer.ais.ais_bounds``: forward AIS, a stochastic lower bound on
log Z, and reverse AIS from the forward runs' final states after 1,000 more sweeps, an upper
bound that is approximate because its starts are not exact samples; linear schedule of
``--ais-betas`` points, 128 runs, base-rate model of the training rows), giving an upper and a
lower bound on the log-likelihood. Equal wall time: each physsamp method is trained again, for
every seed, for as many epochs as its median steady time per epoch fits into scikit-learn's
median training time at ``--epochs`` epochs (its learning rate then falls to 0 over that
shorter or longer run), and scored the same way.

Run: ``uv run python benchmarks/rbm_training.py`` (5-6 minutes on 2 cores) or ``--quick``
(10 epochs, 2 repeats).
"""

from __future__ import annotations

import argparse
import math
import os
import time
import warnings

import jax
import numpy as np
import sklearn
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import BernoulliRBM

import physsamp as ps
from physsamp.infer.ais import ais_bounds, base_rate_bias

PHYSSAMP_METHODS = {"physsamp CD-1": "cd", "physsamp PCD": "pcd", "physsamp PT-PCD": "pt-pcd"}
SKLEARN_RATES = {"sklearn lr 0.05": 0.05, "sklearn lr 0.01": 0.01}
AIS_RUNS = 128


def digits_split() -> tuple[np.ndarray, np.ndarray]:
    digits = load_digits()
    rows = (digits.data >= 8).astype(np.int8)
    train, test = train_test_split(rows, test_size=360, stratify=digits.target, random_state=0)
    return train, test


# -- training --------------------------------------------------------------------------------
def train_physsamp(method: str, num_hidden: int, train, test, num_epochs: int, seed: int):
    """(model, seconds per steady epoch, compile seconds, training seconds)."""
    key_start, key_train = jax.random.split(jax.random.key(seed))
    start = ps.RBM.random(train.shape[1], num_hidden, key_start)
    stamps: list[float] = []
    result = ps.train.fit(
        start,
        train,
        num_epochs=num_epochs,
        rng_key=key_train,
        method=method,
        eval_data=test,
        eval_every=num_epochs,  # evaluations at epoch 0 and at the end only
        progress_bar=False,
        callback=lambda epoch, model, history: stamps.append(time.perf_counter()),
    )
    training = result.history.seconds[-1]
    steady_epochs = np.diff(stamps)[:-1]  # epochs 2 .. N-1
    if steady_epochs.size == 0:
        return result.model, math.nan, math.nan, training
    epoch = float(np.median(steady_epochs))
    first = training - steady_epochs.sum() - epoch  # less epochs 2 .. N-1 and the last one
    return result.model, epoch, max(first - epoch, 0.0), training


def train_sklearn(rate: float, num_hidden: int, train, num_epochs: int, seed: int):
    """(model as a physsamp RBM, seconds per epoch, 0, training seconds)."""
    rows = train.astype(np.float64)
    estimator = BernoulliRBM(
        n_components=num_hidden,
        learning_rate=rate,
        batch_size=10,
        n_iter=num_epochs,
        random_state=seed,
    )
    start = time.perf_counter()
    estimator.fit(rows)
    seconds = time.perf_counter() - start
    rbm = ps.RBM(estimator.components_.T, estimator.intercept_visible_, estimator.intercept_hidden_)
    return rbm, seconds / num_epochs, 0.0, seconds


# -- scoring ---------------------------------------------------------------------------------
def held_out(rbm: ps.RBM, train, test, num_betas: int, seed: int) -> tuple[float, float]:
    """(lower, upper) bounds on the held-out log-likelihood; equal when exact."""
    if min(rbm.num_visible, rbm.num_hidden) <= 24:
        value = ps.train.log_likelihood(rbm, test).mean
        return value, value
    bounds = ais_bounds(
        rbm,
        jax.random.key(10_000 + seed),
        num_betas=num_betas,
        num_runs=AIS_RUNS,
        base_visible_bias=base_rate_bias(train),
        progress_bar=False,
    )
    unnormalised = float(np.mean(np.asarray(rbm.log_prob(test), np.float64)))
    return unnormalised - bounds.upper.log_z, unnormalised - bounds.lower.log_z


# -- report ----------------------------------------------------------------------------------
def spread(values) -> float:
    return float(np.std(values, ddof=1)) if len(values) > 1 else math.nan


def likelihood_text(bounds: list[tuple[float, float]], exact: bool) -> str:
    lower = float(np.mean([b[0] for b in bounds]))
    upper = float(np.mean([b[1] for b in bounds]))
    if exact:
        return f"{lower:.3f}"
    return f"{lower:.3f} / {upper:.3f}"


def midpoint(bounds: list[tuple[float, float]]) -> float:
    return float(np.mean([(b[0] + b[1]) / 2 for b in bounds]))


def table(num_hidden: int, rows: dict, equal: dict, sklearn_seconds: float) -> None:
    exact = num_hidden <= 24
    likelihood = "held-out LL (exact)" if exact else "held-out LL, AIS lower / upper"
    print(f"\n### {num_hidden} hidden units\n")
    print(
        "| method | ms / epoch, best / median | x sklearn lr 0.05 | compile s (first call) "
        f"| training s, median | {likelihood} | sd over seeds | LL at sklearn's time (epochs) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    reference = float(np.median(rows["sklearn lr 0.05"]["epoch"]))
    for name, row in rows.items():
        epoch = np.asarray(row["epoch"]) * 1e3
        compile_text = f"{row['compile'][0]:.2f}" if name in PHYSSAMP_METHODS else "–"
        same_time = "–"
        if name in equal:
            same_time = f"{likelihood_text(equal[name]['bounds'], exact)} ({equal[name]['epochs']})"
        print(
            f"| {name} | {epoch.min():.2f} / {np.median(epoch):.2f} "
            f"| {np.median(row['epoch']) / reference:.2f} | {compile_text} "
            f"| {np.median(row['training']):.2f} | {likelihood_text(row['bounds'], exact)} "
            f"| {spread([midpoint([b]) for b in row['bounds']]):.3f} | {same_time} |"
        )
    print(f"\n(scikit-learn's median training time at these epochs: {sklearn_seconds:.2f} s)")


def verdict(num_hidden: int, rows: dict, equal: dict) -> None:
    """Plain statements of what the table shows (bounds are used conservatively)."""
    exact = num_hidden <= 24
    best_name = max(rows, key=lambda name: midpoint(rows[name]["bounds"]))
    sklearn_best = max(SKLEARN_RATES, key=lambda name: midpoint(rows[name]["bounds"]))
    sklearn_upper = float(np.mean([b[1] for b in rows[sklearn_best]["bounds"]]))
    sklearn_epoch = float(np.median(rows[sklearn_best]["epoch"]))
    print(
        f"\n{num_hidden} hidden: best held-out LL: {best_name} "
        f"({midpoint(rows[best_name]['bounds']):.3f}); best scikit-learn: {sklearn_best} "
        f"({midpoint(rows[sklearn_best]['bounds']):.3f})"
    )
    for name in PHYSSAMP_METHODS:
        row = rows[name]
        lower = float(np.mean([b[0] for b in row["bounds"]]))
        difference = lower - sklearn_upper
        kind = "" if exact else " (its lower bound against sklearn's upper bound)"
        time_ratio = np.median(row["epoch"]) / sklearn_epoch
        line = (
            f"  {name}: LL {difference:+.3f} nats against {sklearn_best}{kind}; time per "
            f"epoch {time_ratio:.2f}x sklearn's"
        )
        if name in equal:
            same = equal[name]
            same_lower = float(np.mean([b[0] for b in same["bounds"]]))
            line += (
                f"; at sklearn's wall time ({same['epochs']} epochs) "
                f"{same_lower - sklearn_upper:+.3f} nats"
            )
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 epochs, 2 repeats")
    parser.add_argument("--epochs", type=int, default=None, help="epochs (default 100)")
    parser.add_argument("--repeats", type=int, default=None, help="seeds, one repeat each (5)")
    parser.add_argument("--ais-betas", type=int, default=None, help="AIS schedule (10,001)")
    parser.add_argument("--hidden", type=int, nargs="+", default=[16, 64])
    parser.add_argument(
        "--no-equal-time", action="store_true", help="skip the runs at scikit-learn's wall time"
    )
    args = parser.parse_args()
    num_epochs = args.epochs or (10 if args.quick else 100)
    repeats = args.repeats or (2 if args.quick else 5)
    num_betas = args.ais_betas or (2_001 if args.quick else 10_001)
    warnings.filterwarnings("ignore", category=ps.train.TrainingDivergenceWarning)

    train, test = digits_split()
    print(
        f"jax {jax.__version__}, scikit-learn {sklearn.__version__}, numpy {np.__version__}; "
        f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"digits: {train.shape[0]} training rows, {test.shape[0]} held out; {num_epochs} "
        f"epochs, {repeats} repeats (seeds 0..{repeats - 1}), batch 10"
    )

    names = list(PHYSSAMP_METHODS) + list(SKLEARN_RATES)
    rows = {
        h: {name: {"epoch": [], "compile": [], "training": [], "models": []} for name in names}
        for h in args.hidden
    }
    for seed in range(repeats):
        for num_hidden in args.hidden:
            for name in names:
                if name in PHYSSAMP_METHODS:
                    out = train_physsamp(
                        PHYSSAMP_METHODS[name], num_hidden, train, test, num_epochs, seed
                    )
                else:
                    out = train_sklearn(SKLEARN_RATES[name], num_hidden, train, num_epochs, seed)
                row = rows[num_hidden][name]
                for key, value in zip(("models", "epoch", "compile", "training"), out, strict=True):
                    row[key].append(value)
                print(
                    f"  seed {seed}, {num_hidden} hidden, {name}: {out[1] * 1e3:.2f} ms/epoch, "
                    f"compile {out[2]:.2f} s, training {out[3]:.2f} s",
                    flush=True,
                )

    print(f"\nscoring (AIS: {num_betas} betas, {AIS_RUNS} runs, forward and reverse)...")
    for num_hidden in args.hidden:
        for row in rows[num_hidden].values():
            row["bounds"] = [
                held_out(model, train, test, num_betas, seed)
                for seed, model in enumerate(row["models"])
            ]
        for name, row in rows[num_hidden].items():
            values = ", ".join(f"{(low + high) / 2:.3f}" for low, high in row["bounds"])
            print(f"  {num_hidden} hidden, {name}, held-out LL by seed: {values}")

    equal: dict = {h: {} for h in args.hidden}
    sklearn_seconds = {
        h: float(
            np.median(
                rows[h]["sklearn lr 0.05"]["training"] + rows[h]["sklearn lr 0.01"]["training"]
            )
        )
        for h in args.hidden
    }
    if not args.no_equal_time:
        for num_hidden in args.hidden:
            for name, method in PHYSSAMP_METHODS.items():
                epoch = float(np.median(rows[num_hidden][name]["epoch"]))
                epochs = int(min(max(sklearn_seconds[num_hidden] // epoch, 2), 10 * num_epochs))
                bounds = []
                for seed in range(repeats):
                    model = train_physsamp(method, num_hidden, train, test, epochs, seed)[0]
                    bounds.append(held_out(model, train, test, num_betas, seed))
                equal[num_hidden][name] = {"epochs": epochs, "bounds": bounds}
                print(
                    f"  {num_hidden} hidden, {name} at sklearn's time: {epochs} epochs", flush=True
                )

    print(f"\n## {num_epochs} epochs, batch 10, seeds 0..{repeats - 1}")
    for num_hidden in args.hidden:
        table(num_hidden, rows[num_hidden], equal[num_hidden], sklearn_seconds[num_hidden])
    for num_hidden in args.hidden:
        verdict(num_hidden, rows[num_hidden], equal[num_hidden])
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
