r"""
A Sherrington–Kirkpatrick spin glass with parallel tempering
============================================================

The Sherrington–Kirkpatrick model (Phys. Rev. Lett. 35, 1792 (1975)) couples every pair of
:math:`N` spins with a random Gaussian coupling,

.. math:: E(s) = -\sum_{i<j} J_{ij} s_i s_j, \qquad J_{ij} \sim \mathcal N(0, 1/N),

and freezes into a glass below :math:`\beta = 1`: the energy landscape breaks into valleys
separated by barriers that grow with :math:`N`, and a local sampler stays in one valley for
long stretches. The order parameter of the glass is the distribution :math:`P(q)` of the
overlap :math:`q = \frac1N \sum_i s_i^a s_i^b` of two independent configurations (Parisi,
Phys. Rev. Lett. 50, 1946 (1983)); a sampler that visits the valleys with the wrong weights
gets it wrong.

With :math:`N = 16` everything is exact by enumeration (:mod:`physsamp.exact`), so block
Gibbs and parallel tempering (Swendsen & Wang, Phys. Rev. Lett. 57, 2607 (1986); Hukushima &
Nemoto, J. Phys. Soc. Jpn. 65, 1604 (1996)) can be compared with the truth at
:math:`\beta = 4`, deep in the glass.

Run ``uv run python examples/spin_glass.py``; the figures go to ``examples/output``
(``--out DIR`` elsewhere).
"""

# %%
# One instance, and its exact overlap distribution
# ------------------------------------------------
# ``Ising.from_matrix`` builds the dense model. The exact :math:`P(q)` needs the distribution
# of :math:`a \oplus b` (the sites where two independent states differ), the XOR-convolution of
# the state probabilities with themselves, which the Walsh–Hadamard transform turns into a
# product: :math:`2^{16}` states, no pairs enumerated.
import argparse
import time
from pathlib import Path

import jax
import numpy as np
import numpyro
from matplotlib.figure import Figure
from numpyro.infer import MCMC

import physsamp as ps

parser = argparse.ArgumentParser(description="A Sherrington-Kirkpatrick spin glass")
parser.add_argument("--out", type=Path, default=Path("examples/output"), help="figure folder")
args = parser.parse_args()
args.out.mkdir(parents=True, exist_ok=True)

NUM_SPINS, BETA = 16, 4.0
rng = np.random.default_rng(0)
couplings = np.triu(rng.normal(0.0, 1.0 / np.sqrt(NUM_SPINS), (NUM_SPINS, NUM_SPINS)), 1)
glass = ps.Ising.from_matrix(couplings + couplings.T, beta=BETA)


def walsh_hadamard(values: np.ndarray) -> np.ndarray:
    """The (unnormalised) Walsh–Hadamard transform of a vector of length 2^n."""
    out, half = values.copy(), 1
    while half < out.size:
        pairs = out.reshape(-1, 2, half)
        out = np.stack([pairs[:, 0] + pairs[:, 1], pairs[:, 0] - pairs[:, 1]], axis=1).ravel()
        half *= 2
    return out


probabilities = ps.exact.probabilities(glass)
differ = walsh_hadamard(walsh_hadamard(probabilities) ** 2) / probabilities.size
num_differing = np.array([bin(index).count("1") for index in range(probabilities.size)])
exact_pq = np.bincount(num_differing, weights=differ, minlength=NUM_SPINS + 1)
overlaps = 1.0 - 2.0 * np.arange(NUM_SPINS + 1) / NUM_SPINS  # q for 0, 1, ... sites differing

states = ps.exact.states(glass)
energies = np.asarray(glass.energy(states))
ground = states[np.argmin(energies)]
exact_energy = ps.exact.mean_energy(glass) / NUM_SPINS
print(f"SK instance, N = {NUM_SPINS}, beta = {BETA}: log Z = {ps.exact.log_partition(glass):.4f}")
print(
    f"exact mean energy per spin {exact_energy:.4f}; ground state {energies.min() / NUM_SPINS:.4f}"
)
print(f"exact E|q| = {np.sum(exact_pq * np.abs(overlaps)):.4f}")

# %%
# Block Gibbs against parallel tempering
# --------------------------------------
# Four chains each. Parallel tempering runs 12 replicas on a ladder from :math:`\beta = 0` to
# :math:`\beta = 4`, tuned during warm-up to equalise the swap rates, each replica moved by
# block Gibbs; its sample is the replica at the target. Overlaps are taken between pairs of
# chains at the same draw.


def model():
    numpyro.sample("spins", glass)


def overlap_distribution(spins: np.ndarray) -> np.ndarray:
    """P(q) on the grid ``overlaps`` from the overlaps of chains (0, 1), (2, 3), (0, 2) and
    (1, 3) at equal draws."""
    pairs = [(0, 1), (2, 3), (0, 2), (1, 3)]
    q = np.concatenate([(spins[a] * spins[b]).mean(-1) for a, b in pairs])
    differing = np.rint((1.0 - q) * NUM_SPINS / 2).astype(int)
    return np.bincount(differing, minlength=NUM_SPINS + 1) / q.size


kernels = {
    "block Gibbs": ps.infer.BlockGibbs(model),
    "parallel tempering": ps.infer.ParallelTempering(model, betas=12),
}
samples, runs = {}, {}
for name, kernel in kernels.items():
    mcmc = MCMC(
        kernel,
        num_warmup=1000,
        num_samples=5000,
        num_chains=4,
        chain_method="vectorized",
        progress_bar=False,
    )
    began = time.perf_counter()
    mcmc.run(jax.random.key(0))
    seconds = time.perf_counter() - began
    spins = np.asarray(mcmc.get_samples(group_by_chain=True)["spins"], np.float64)
    samples[name], runs[name] = spins, mcmc
    empirical = overlap_distribution(spins)
    distance = 0.5 * np.abs(empirical - exact_pq).sum()
    energy = np.asarray(glass.energy(spins.astype(np.int8))).mean() / NUM_SPINS
    valley = np.sign((spins * ground).mean(-1))  # which of the two ground-state valleys
    switches = (np.diff(valley, axis=1) != 0).sum(axis=1)
    print(f"\n{name}: 4 chains x 5,000 draws in {seconds:.1f} s (compilation included)")
    print(f"  mean energy per spin {energy:.4f} (exact {exact_energy:.4f})")
    mean_abs_q = np.sum(empirical * np.abs(overlaps))
    print(f"  E|q| {mean_abs_q:.4f}; total variation from the exact P(q): {distance:.3f}")
    print(f"  switches between the two ground-state valleys, per chain: {switches}")

summary = kernels["parallel tempering"].tempering_summary(runs["parallel tempering"])
print(f"\nPT ladder of chain 0: {np.round(summary['betas'][0], 2)}")
print(f"global barrier Lambda: {summary['global_barrier'].round(2)}")
print(f"suggested replicas: {summary['suggested_num_replicas']}")
print(f"round trips per chain: {summary['round_trips']}")

# %%
# The overlap distribution and the valleys
# ----------------------------------------
# Left: :math:`P(q)` from each sampler against the exact one. Right: the overlap of chain 0
# with the ground state. Block Gibbs crosses between the two mirror-image valleys (and the
# other low-lying ones) rarely, so the weights of its peaks depend on where its chains happen
# to sit; the replicas of parallel tempering climb to high temperature, cross, and come back.
figure = Figure(figsize=(13, 4.5), layout="constrained")
axes = figure.subplot_mosaic(
    [["pq", "block Gibbs"], ["pq", "parallel tempering"]], width_ratios=[1, 1.6]
)
width = 2.0 / NUM_SPINS / 3
axes["pq"].bar(overlaps - width, exact_pq, width, color="k", label="exact")
for shift, (name, spins), color in zip(
    (0.0, width), samples.items(), ["tab:blue", "tab:orange"], strict=True
):
    axes["pq"].bar(overlaps + shift, overlap_distribution(spins), width, color=color, label=name)
    axes[name].plot((spins[0] * ground).mean(-1)[:2000], lw=0.7, color=color)
    axes[name].set(
        ylabel="overlap with\nthe ground state",
        ylim=(-1.1, 1.1),
        title=f"{name}, chain 0, first 2,000 draws",
    )
axes["parallel tempering"].set_xlabel("draw")
axes["pq"].set(xlabel="overlap q", ylabel="P(q)", title=f"overlap distribution, beta = {BETA}")
axes["pq"].legend(fontsize="small")
figure.savefig(args.out / "spin_glass_overlap.png", dpi=100)

# %%
# The ladder: the replica index process, the swap acceptance along the ladder (the adapted
# ladder crowds its temperatures where the acceptance would otherwise drop) and the energy
# histograms per temperature.
ps.plots.plot_tempering(runs["parallel tempering"]).savefig(
    args.out / "spin_glass_tempering.png", dpi=90
)
