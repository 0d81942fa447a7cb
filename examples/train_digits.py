r"""Train an RBM on handwritten digits and score it by its exact held-out log-likelihood
======================================================================================

The data are scikit-learn's 8 x 8 digits (1,797 images, shipped with scikit-learn, nothing to
download) binarised at >= 8 of 16 grey levels and split 1,437 / 360, stratified by digit
(``train_test_split(X, test_size=360, stratify=y, random_state=0)``). An RBM with 16 hidden
units is trained by persistent contrastive divergence (Tieleman, ICML 2008) with the defaults
of :func:`physsamp.train.fit` (plain SGD whose learning rate falls linearly from 0.05 to 0,
batches of 10 rows, 30 persistent chains, one block Gibbs sweep per step) for 100 epochs and
scored every 10 epochs on the 360 held-out rows. With 16 hidden units the partition function
is exact (enumeration of the 2^16 hidden states), so the numbers below carry no estimation
error; their spread over the held-out rows is the "data" standard error.

Two references are scored by the same exact log-likelihood: independent pixels (each pixel's
frequency in the training rows, add-one smoothed) and scikit-learn's ``BernoulliRBM`` (PCD with
one persistent chain per batch row and a constant learning rate) at learning rate 0.05, trained
on the same rows for the same epochs. Then a run stopped at epoch 50 by its callback and
resumed from its checkpoint is compared, bit for bit, with the uninterrupted run.

Run ``uv run python examples/train_digits.py``; it writes into ``examples/output`` (``--out
DIR`` elsewhere): ``train_digits_history.png`` (:func:`physsamp.plots.plot_history`),
``train_digits_filters.png``, ``train_digits_samples.png`` (held-out digits beside block Gibbs
draws from the trained RBM), ``train_digits_history.json`` (``History.to_dict()``; read it
back with ``History.from_dict``) and the checkpoint ``train_digits_checkpoint.npz``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import numpy as np
from matplotlib.figure import Figure
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import BernoulliRBM

import physsamp as ps
from physsamp.kernels import block_gibbs

NUM_HIDDEN = 16
NUM_EPOCHS = 100
STOP_EPOCH = 50
NUM_SAMPLE_CHAINS = 100
NUM_SAMPLE_SWEEPS = 1000
SKLEARN_LEARNING_RATE = 0.05


def digits_split() -> tuple[np.ndarray, np.ndarray]:
    """The binarised digits, split into 1,437 training and 360 held-out rows."""
    digits = load_digits()
    bits = (digits.data >= 8).astype(np.int8)
    train, test = train_test_split(bits, test_size=360, stratify=digits.target, random_state=0)
    return train, test


def independent_pixels(train: np.ndarray) -> ps.RBM:
    """Independent pixels as an RBM without couplings: each visible bias the log-odds of the
    pixel's add-one smoothed training frequency (the hidden unit then contributes nothing)."""
    frequency = (train.sum(axis=0) + 1.0) / (train.shape[0] + 2.0)
    return ps.RBM(np.zeros((train.shape[1], 1)), np.log(frequency / (1.0 - frequency)))


def sklearn_rbm(train: np.ndarray, seed: int) -> tuple[ps.RBM, float]:
    """scikit-learn's BernoulliRBM trained on the same rows for the same epochs, as a physsamp
    RBM (the same energy: ``components_`` is ``W`` transposed), and its training time."""
    began = time.perf_counter()
    reference = BernoulliRBM(n_components=NUM_HIDDEN, learning_rate=SKLEARN_LEARNING_RATE,
                             batch_size=10, n_iter=NUM_EPOCHS, random_state=seed)  # fmt: skip
    reference.fit(train)
    seconds = time.perf_counter() - began
    rbm = ps.RBM(reference.components_.T, reference.intercept_visible_,
                 reference.intercept_hidden_)  # fmt: skip
    return rbm, seconds


def draw_samples(rng_key: jax.Array, rbm: ps.RBM) -> np.ndarray:
    """The visible units of independent block Gibbs chains started at uniform random bits,
    after ``NUM_SAMPLE_SWEEPS`` sweeps each."""
    key_start, key_sweeps = jax.random.split(rng_key)
    start = jax.random.bernoulli(key_start, 0.5, (NUM_SAMPLE_CHAINS, rbm.num_visible))
    states = jax.vmap(block_gibbs.init, (0, None))(start, rbm)
    step = jax.vmap(block_gibbs.build_kernel(num_sweeps=NUM_SAMPLE_SWEEPS), (0, 0, None))
    keys = jax.random.split(key_sweeps, NUM_SAMPLE_CHAINS)
    states, _ = jax.jit(step)(keys, states, rbm)
    return np.asarray(states.position)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("examples/output"),
                        help="folder for the figures (default: examples/output)")  # fmt: skip
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    total = time.perf_counter()
    key_init, key_fit, _, key_samples = jax.random.split(jax.random.key(0), 4)

    train, test = digits_split()
    print(f"Digits binarised at >= 8: {train.shape[0]} training and {test.shape[0]} held-out "
          f"rows of {train.shape[1]} pixels")  # fmt: skip

    # -- physsamp: PCD with the defaults ----------------------------------------------------
    start = ps.RBM.random(train.shape[1], NUM_HIDDEN, key_init)
    options = {"num_epochs": NUM_EPOCHS, "rng_key": key_fit, "eval_data": test,
               "progress_bar": False}  # fmt: skip
    began = time.perf_counter()
    result = ps.train.fit(start, train, **options)
    fit_seconds = time.perf_counter() - began
    history = result.history
    train_seconds = history.seconds[-1]
    print(f"\nphyssamp RBM, {NUM_HIDDEN} hidden units, PCD, {NUM_EPOCHS} epochs "
          f"(held-out scores every 10 epochs):")  # fmt: skip
    print(history)
    print(result)
    print(f"  fit took {fit_seconds:.1f} s: {train_seconds:.1f} s of training epochs "
          f"(compilation included), {fit_seconds - train_seconds:.1f} s of evaluation")  # fmt: skip

    # -- references, scored the same way ----------------------------------------------------
    final = ps.train.log_likelihood(result.model, test)
    baseline = ps.train.log_likelihood(independent_pixels(train), test)
    reference, sklearn_seconds = sklearn_rbm(train, seed=0)
    sklearn_score = ps.train.log_likelihood(reference, test)
    print("\nOn the held-out rows: average log-likelihood (exact, nats per row; ± the spread "
          "over rows),\npseudo-log-likelihood and reconstruction error (the proxies), training "
          "time:")  # fmt: skip
    print(f"  {'':<36} {'log-lik':>9} {'± data':>6} {'pseudo-LL':>10} {'recon':>7} {'time':>7}")
    models = [("independent pixels", independent_pixels(train), baseline, None),
              (f"scikit-learn BernoulliRBM, lr {SKLEARN_LEARNING_RATE}", reference,
               sklearn_score, sklearn_seconds),
              ("physsamp PCD, defaults", result.model, final, train_seconds)]  # fmt: skip
    for name, model, score, seconds in models:
        pseudo = ps.train.pseudo_log_likelihood(model, test)
        error = ps.train.reconstruction_error(model, test)
        timing = "" if seconds is None else f"{seconds:6.1f}s"
        line = (f"  {name:<36} {score.mean:9.4f} {score.data_stderr:6.2f} {pseudo:10.4f} "
                f"{error:7.4f} {timing:>7}")  # fmt: skip
        print(line.rstrip())
    gap = final.log_probs - sklearn_score.log_probs
    print(f"  physsamp - scikit-learn, row by row: {gap.mean():+.4f} ± "
          f"{gap.std(ddof=1) / np.sqrt(gap.size):.4f} nats")  # fmt: skip

    # -- a run stopped half way and resumed from its checkpoint -----------------------------
    # Evaluation draws on keys of its own: scoring every 50 epochs instead of every 10 leaves
    # the parameters as they are, and saves the time of the other evaluations.
    checkpoint = args.out / "train_digits_checkpoint.npz"
    began = time.perf_counter()
    ps.train.fit(start, train, **options, eval_every=STOP_EPOCH, checkpoint=str(checkpoint),
                 callback=lambda epoch, model, history: epoch == STOP_EPOCH)  # fmt: skip
    resumed = ps.train.fit(start, train, **options, eval_every=STOP_EPOCH,
                           checkpoint=str(checkpoint), resume_from=str(checkpoint))  # fmt: skip
    resume_seconds = time.perf_counter() - began
    identical = all(
        np.array_equal(np.asarray(getattr(resumed.model, name)),
                       np.asarray(getattr(result.model, name)))
        for name in ("weights", "visible_bias", "hidden_bias")
    )  # fmt: skip
    scores = dict(zip(history.epoch, history.log_likelihood, strict=True))
    resumed_scores = zip(resumed.history.epoch, resumed.history.log_likelihood, strict=True)
    same_scores = all(scores[epoch] == value for epoch, value in resumed_scores)
    print(f"\nStopped at epoch {STOP_EPOCH} by the callback, resumed from {checkpoint} to "
          f"epoch {NUM_EPOCHS} (both runs {resume_seconds:.1f} s): parameters bit for bit "
          f"identical to the uninterrupted run: {identical}; same held-out log-likelihood at "
          f"epochs {resumed.history.epoch}: {same_scores}")  # fmt: skip

    # -- figures, samples and the history as JSON -------------------------------------------
    began = time.perf_counter()
    samples = draw_samples(key_samples, result.model)
    sample_seconds = time.perf_counter() - began
    print(f"\n{NUM_SAMPLE_CHAINS} block Gibbs chains x {NUM_SAMPLE_SWEEPS} sweeps from random "
          f"bits in {sample_seconds:.1f} s; mean pixel {samples.mean():.3f} (held-out data "
          f"{test.mean():.3f})")  # fmt: skip

    written = []
    path = args.out / "train_digits_history.png"
    ps.plots.plot_history(history).savefig(path, dpi=110)
    written.append(path)
    path = args.out / "train_digits_filters.png"
    ps.plots.plot_filters(result.model).savefig(path, dpi=110)
    written.append(path)
    figure = Figure(figsize=(10.0, 5.4), layout="constrained")
    data_panel, model_panel = figure.subfigures(1, 2)
    ps.plots.plot_samples(test, figure=data_panel, title="held-out digits")
    ps.plots.plot_samples(samples, figure=model_panel,
                          title=f"RBM samples ({NUM_SAMPLE_SWEEPS} sweeps)")  # fmt: skip
    path = args.out / "train_digits_samples.png"
    figure.savefig(path, dpi=110)
    written.append(path)
    path = args.out / "train_digits_history.json"
    path.write_text(json.dumps(history.to_dict(), indent=1))
    written.append(path)
    for path in [*written, checkpoint]:
        print(f"  wrote {path}")
    print(f"\nTotal run time {time.perf_counter() - total:.1f} s")


if __name__ == "__main__":
    main()
