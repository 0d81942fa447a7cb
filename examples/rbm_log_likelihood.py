r"""
An RBM on the digits, scored exactly and by AIS
===============================================

The log-likelihood of held-out data is the honest score of a generative model, and for a
restricted Boltzmann machine it needs the partition function,

.. math:: \log p(v) = \log \sum_h e^{-E(v, h)} - \log Z, \qquad
   E(v, h) = -v^\top W h - a^\top v - b^\top h .

With 16 hidden units :math:`Z` is a sum over :math:`2^{16}` hidden states, exact in a
moment (:mod:`physsamp.exact` sums out the visible layer analytically); with hundreds it is
out of reach, and annealed importance sampling from the base-rate model of Salakhutdinov &
Murray (ICML 2008) estimates it (:func:`physsamp.infer.rbm_log_likelihood`). Here both run
on the same RBM, so the estimate can be checked, and bidirectional AIS (Grosse, Ghahramani &
Adams, arXiv:1511.02543; :func:`physsamp.infer.ais_bounds`) brackets :math:`\log Z` between
a stochastic lower and upper bound.

The data are scikit-learn's 8 x 8 digits binarised at >= 8 of 16 grey levels (shipped with
scikit-learn, nothing to download), split 1,437 / 360 as in ``examples/train_digits.py``.

Run ``uv run python examples/rbm_log_likelihood.py``; the figures go to ``examples/output``
(``--out DIR`` elsewhere).
"""

# %%
# A quickly trained RBM
# ---------------------
# 64 visible and 16 hidden units, 30 epochs of persistent contrastive divergence with
# :func:`physsamp.train.fit`'s defaults, scored on the held-out rows every 10 epochs.
import argparse
import time
from pathlib import Path

import jax
import numpy as np
from matplotlib.figure import Figure
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import physsamp as ps

parser = argparse.ArgumentParser(description="An RBM scored exactly and by AIS")
parser.add_argument("--out", type=Path, default=Path("examples/output"), help="figure folder")
args = parser.parse_args()
args.out.mkdir(parents=True, exist_ok=True)

digits = load_digits()
bits = (digits.data >= 8).astype(np.int8)
train, test = train_test_split(bits, test_size=360, stratify=digits.target, random_state=0)
key_init, key_fit, key_ais, key_bounds = jax.random.split(jax.random.key(0), 4)

began = time.perf_counter()
result = ps.train.fit(
    ps.RBM.random(64, 16, key_init),
    train,
    num_epochs=30,
    rng_key=key_fit,
    eval_data=test,
    eval_every=10,
    progress_bar=False,
)
rbm = result.model
print(f"RBM 64 x 16 trained by PCD for 30 epochs in {time.perf_counter() - began:.1f} s")
print(result.history)

# %%
# The exact score
# ---------------
began = time.perf_counter()
exact = ps.train.log_likelihood(rbm, test)
exact_log_z = ps.exact.log_partition(rbm)
print(f"exact, in {time.perf_counter() - began:.1f} s: {exact}")
print(f"exact log Z = {exact_log_z:.4f}")

# %%
# AIS with schedules of increasing length
# ---------------------------------------
# 100 runs each, from the base-rate model fitted to the training rows. The AIS standard error
# is that of :math:`\log \hat Z`; the "data" error is the spread of the average over the 360
# held-out rows, the one that matters for comparing two models.
base = ps.infer.ais.base_rate_bias(train)
scores = []
began = time.perf_counter()
schedules = (30, 100, 300, 1000, 3000)
for num_betas, key in zip(schedules, jax.random.split(key_ais, len(schedules)), strict=True):
    score = ps.infer.rbm_log_likelihood(
        rbm,
        test,
        key,
        num_betas=num_betas,
        num_runs=100,
        base_visible_bias=base,
        progress_bar=False,
    )
    scores.append(score)
print(f"5 AIS estimates in {time.perf_counter() - began:.1f} s (compilation included)")
print(f"{'betas':>6} {'log-lik':>10} {'± AIS se':>9} {'error':>8} {'weight ESS':>10}")
for score in scores:
    ais = score.log_partition
    print(
        f"{ais.num_betas:6d} {score.mean:10.4f} {score.stderr:9.4f} "
        f"{score.mean - exact.mean:+8.4f} {ais.ess:10.1f}"
    )

# %%
# A bracket on log Z
# ------------------
# Forward AIS underestimates :math:`\log Z` on average; reverse AIS, started from exact
# samples of the RBM (drawn by enumerating its hidden layer), overestimates it. Together they
# bracket the truth, and their gap says how far either can be from it, without knowing the
# answer. Both are bounds in expectation only: once the schedule is long enough, each lies
# within its standard error of the truth, and by chance the two may cross (a negative gap).
bounds = ps.infer.ais_bounds(rbm, key_bounds, num_betas=1000, num_runs=400, progress_bar=False)
print(bounds)
for name, bound in (("lower", bounds.lower), ("upper", bounds.upper)):
    error = (bound.log_z - exact_log_z) / bound.stderr
    print(f"{name} bound {bound.log_z:.4f}: {error:+.2f} standard errors from the exact value")

# %%
# Left: the estimates of :math:`\log Z` (2 standard errors) against the schedule length,
# and the exact value. Right: the log-weights of the 3,000-beta run, relative to the largest:
# when a few runs carry most of the weight, the estimate is not to be trusted.
figure = Figure(figsize=(13, 4), layout="constrained")
left, right = figure.subfigures(1, 2, width_ratios=[1, 1.4])
ps.plots.plot_log_z_vs_num_betas(
    [s.log_partition for s in scores], exact=exact_log_z, ax=left.subplots()
)
ps.plots.plot_ais(scores[-1].log_partition, figure=right)
figure.savefig(args.out / "rbm_log_likelihood.png", dpi=100)
