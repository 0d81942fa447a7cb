r"""
Hopfield networks: recall, capacity and temperature
===================================================

A Hopfield network (Hopfield, PNAS 79, 2554 (1982)) stores :math:`P` patterns
:math:`\xi^\mu \in \{-1, +1\}^N` in the couplings of an Ising model by Hebb's rule,

.. math:: W_{ij} = \frac1N \sum_{\mu=1}^P \xi^\mu_i \xi^\mu_j \quad (i \ne j), \qquad
   E(s) = -\sum_{i<j} W_{ij} s_i s_j ,

so that the patterns sit near minima of the energy. :meth:`physsamp.Hopfield.recall` runs the
zero-temperature dynamics (each spin in turn aligned with its local field) from a corrupted
probe down to a fixed point. Recall works while the load :math:`\alpha = P/N` stays below
about 0.138, and, at finite temperature, while :math:`T = 1/\beta` stays below 1 (Amit,
Gutfreund & Sompolinsky, Phys. Rev. Lett. 55, 1530 (1985)). This example shows all three.

Run ``uv run python examples/hopfield.py``; the figures go to ``examples/output``
(``--out DIR`` elsewhere).
"""

# %%
# Recall from a corrupted probe
# -----------------------------
# Five random patterns of 100 spins (shown as 10 x 10 images); the probe is the first
# pattern with 30 of its spins flipped.
import argparse
import time
from pathlib import Path

import jax
import numpy as np
from matplotlib.figure import Figure

import physsamp as ps
from physsamp.kernels import block_gibbs, sample_chains

parser = argparse.ArgumentParser(description="Hopfield networks")
parser.add_argument("--out", type=Path, default=Path("examples/output"), help="figure folder")
args = parser.parse_args()
args.out.mkdir(parents=True, exist_ok=True)
began = time.perf_counter()

rng = np.random.default_rng(0)
NUM_SITES, NUM_PATTERNS, NUM_FLIPPED = 100, 5, 30
patterns = rng.choice(np.array([-1, 1], dtype=np.int8), size=(NUM_PATTERNS, NUM_SITES))
network = ps.Hopfield.from_patterns(patterns)

probe = patterns[0].copy()
probe[rng.choice(NUM_SITES, NUM_FLIPPED, replace=False)] *= -1
recalled = np.asarray(network.recall(probe))


def overlap(x, pattern) -> float:
    """m = (1/N) sum_i x_i xi_i: 1 for the pattern itself, about 0 for an unrelated state."""
    return float(np.mean(np.asarray(x, np.float64) * pattern))


print(f"{NUM_PATTERNS} patterns of {NUM_SITES} spins (load {NUM_PATTERNS / NUM_SITES:.2f})")
print(
    f"overlap with pattern 0: probe {overlap(probe, patterns[0]):.2f}, "
    f"recalled {overlap(recalled, patterns[0]):.2f}"
)
energies = [float(network.energy(x)) for x in (probe, recalled, patterns[0])]
print("energy: probe {:.2f}, recalled {:.2f}, stored pattern {:.2f}".format(*energies))

figure = Figure(figsize=(10, 2.4), layout="constrained")
panels = [
    *[(f"pattern {k}", patterns[k]) for k in range(NUM_PATTERNS)],
    (f"probe ({NUM_FLIPPED} flipped)", probe),
    ("recalled", recalled),
]
for ax, (title, image) in zip(figure.subplots(1, len(panels)), panels, strict=True):
    ax.imshow(np.reshape(image, (10, 10)), cmap="gray", vmin=-1, vmax=1)
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()
figure.savefig(args.out / "hopfield_recall.png", dpi=100)

# %%
# Capacity
# --------
# With :math:`N = 200` spins and a growing number of patterns, each stored pattern is probed
# with 10 % of its spins flipped, and the overlap of the fixed point with the pattern is
# recorded. Below :math:`\alpha_c \approx 0.138` recall is nearly perfect; above it the fixed
# points move away from the patterns (at finite :math:`N` the transition is smooth).
CAPACITY_SITES = 200
loads, overlaps = [], []
for num_patterns in range(4, 61, 8):
    stored = rng.choice(np.array([-1, 1], dtype=np.int8), size=(num_patterns, CAPACITY_SITES))
    net = ps.Hopfield.from_patterns(stored)
    results = []
    for pattern in stored:
        start = pattern.copy()
        start[rng.choice(CAPACITY_SITES, CAPACITY_SITES // 10, replace=False)] *= -1
        results.append(overlap(net.recall(start), pattern))
    loads.append(num_patterns / CAPACITY_SITES)
    overlaps.append(np.mean(results))
    print(f"load {loads[-1]:.2f}: mean overlap after recall {overlaps[-1]:.3f}")

# %%
# Temperature
# -----------
# At inverse temperature :math:`\beta` the network is an Ising model sampled by block Gibbs
# like any other (``model.with_beta`` changes the temperature without rebuilding or
# recompiling). Here 2 patterns of 200 spins (load 0.01), 8 chains started at the first
# pattern, 300 sweeps each. At this size a chain can still wander from one pattern to another
# (or to its mirror image) at high temperature, so the order parameter is the largest overlap
# with any pattern. It stays macroscopic below :math:`T = 1` and follows the mean-field
# equation :math:`m = \tanh(m / T)` of the Curie–Weiss model, which the Hopfield model reduces
# to as :math:`\alpha \to 0`; finite size rounds the transition.
WARM_SITES, WARM_PATTERNS = 200, 2
warm_patterns = rng.choice(np.array([-1, 1], dtype=np.int8), size=(WARM_PATTERNS, WARM_SITES))
warm_network = ps.Hopfield.from_patterns(warm_patterns)
temperatures = np.linspace(0.3, 1.5, 9)
step = block_gibbs.build_kernel(num_sweeps=5)
num_chains = 8
starts = np.broadcast_to(warm_patterns[0], (num_chains, WARM_SITES))
sampled = []
for temperature in temperatures:
    model = warm_network.with_beta(1.0 / temperature)
    states = jax.vmap(block_gibbs.init, (0, None))(starts, model)
    _, draws, _ = sample_chains(jax.random.key(1), step, states, model, num_draws=60)
    overlaps_all = np.asarray(draws[:, 10:], np.float64) @ warm_patterns.T / WARM_SITES
    sampled.append(np.abs(overlaps_all).max(axis=-1).mean())
    print(f"T = {temperature:.2f}: mean largest |overlap| {sampled[-1]:.3f}")


def curie_weiss(temperature: float) -> float:
    """The largest solution of m = tanh(m / T), by fixed-point iteration from m = 1."""
    m = 1.0
    for _ in range(2000):
        m = np.tanh(m / temperature)
    return float(m)


figure = Figure(figsize=(11, 3.6), layout="constrained")
capacity_ax, temperature_ax = figure.subplots(1, 2)
capacity_ax.plot(loads, overlaps, "o-")
capacity_ax.axvline(0.138, color="k", ls="--", label="alpha_c = 0.138")
capacity_ax.set(
    xlabel="load alpha = P / N",
    ylabel="overlap after recall",
    title=f"capacity, N = {CAPACITY_SITES}, probes 10 % corrupted",
)
capacity_ax.legend()
fine = np.linspace(0.3, 1.5, 200)
temperature_ax.plot(fine, [curie_weiss(t) for t in fine], "k-", label="m = tanh(m / T)")
temperature_ax.plot(temperatures, sampled, "o", label="block Gibbs, 8 chains")
temperature_ax.set(
    xlabel="temperature T = 1 / beta",
    ylabel="largest |overlap|",
    title=f"finite temperature, N = {WARM_SITES}, P = {WARM_PATTERNS}",
)
temperature_ax.legend()
figure.savefig(args.out / "hopfield_capacity_temperature.png", dpi=100)
print(f"\nTotal run time {time.perf_counter() - began:.1f} s")
