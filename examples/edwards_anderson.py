r"""
A 2D Edwards–Anderson spin glass: automatic ladder, overlaps, Houdayer moves, ground state
===========================================================================================

The Edwards–Anderson model (J. Phys. F 5, 965 (1975)) puts random couplings
:math:`J_{ij} = \pm 1` on the bonds of a lattice,

.. math:: E(s) = -\sum_{\langle ij \rangle} J_{ij} s_i s_j ,

and in two dimensions it is a glass only at zero temperature: its correlation length grows
without bound as :math:`T \to 0`, and local samplers slow down dramatically on the way. This
example runs the spin-glass tools of :class:`physsamp.infer.ParallelTempering` on one
:math:`12 \times 12` instance with open boundaries:

* ``betas="auto"``: warm-up sizes the ladder to about :math:`2\Lambda + 1` replicas and spaces
  it so that every pair of neighbouring temperatures swaps equally often (Syed et al., JRSS-B
  84, 321 (2022)), and a health verdict says whether the ladder and the local moves are up to
  the job;
* ``houdayer=True``: two copies of the ladder and Houdayer's cluster move between them at every
  temperature (Houdayer, Eur. Phys. J. B 22, 479 (2001));
* the overlap :math:`q` of the two copies, its distribution and the Binder ratio per
  temperature in the InferenceData;
* :func:`physsamp.infer.ground_state` against the exact ground state of the planar lattice
  (:func:`physsamp.lattice_exact.ground_state`).

Run ``uv run python examples/edwards_anderson.py``; the figures go to ``examples/output``
(``--out DIR`` elsewhere).
"""

# %%
# The instance and its exact ground state
# ---------------------------------------
# A lattice with open boundaries is planar; :func:`physsamp.lattice_exact.ground_state`
# minimises the energy exactly by dynamic programming over the rows.
import argparse
import time
from pathlib import Path

import jax
import numpy as np
import numpyro
from matplotlib import colormaps
from matplotlib.figure import Figure
from numpyro.infer import MCMC

import physsamp as ps

parser = argparse.ArgumentParser(description="A 2D Edwards-Anderson spin glass")
parser.add_argument("--out", type=Path, default=Path("examples/output"), help="figure folder")
args = parser.parse_args()
args.out.mkdir(parents=True, exist_ok=True)

LENGTH, BETA = 12, 2.0
rng = np.random.default_rng(1)
couplings = rng.choice([-1.0, 1.0], size=(2, LENGTH, LENGTH))
glass = ps.Ising.lattice((LENGTH, LENGTH), coupling=couplings, periodic=False, beta=BETA)
exact = ps.lattice_exact.ground_state(glass)
print(f"{LENGTH} x {LENGTH} ±J glass, open boundaries: exact {exact}")

# %%
# The ground-state search
# -----------------------
# :func:`physsamp.infer.ground_state` runs an automatic ladder from :math:`\beta = 0` to
# :math:`\beta = 3` and keeps the lowest energy any replica visits, with advice on whether to
# trust it.
began = time.perf_counter()
found = ps.infer.ground_state(glass, jax.random.key(0), num_sweeps=2000, houdayer=True,
                              progress_bar=False)  # fmt: skip
print(f"search ({time.perf_counter() - began:.1f} s, compilation included): {found}")
print(f"exact ground state reached: {abs(found.energy - exact.energy) < 1e-3}")

# %%
# Sampling at beta = 2 with an automatic ladder and Houdayer moves
# ----------------------------------------------------------------
# Two chains; the summary prints the ladder and a health verdict per chain, after warm-up and
# after sampling.


def model():
    numpyro.sample("spins", glass)


kernel = ps.infer.ParallelTempering(model, betas="auto", houdayer=True)
mcmc = MCMC(kernel, num_warmup=1500, num_samples=3000, num_chains=2, chain_method="vectorized",
            progress_bar=False)  # fmt: skip
began = time.perf_counter()
mcmc.run(jax.random.key(1))
print(f"\n2 chains x 3,000 draws in {time.perf_counter() - began:.1f} s (compilation included)")
print(kernel.tempering_summary(mcmc))

idata = ps.to_inference_data(mcmc)
tempering = idata.tempering
betas = tempering["beta"].values[0]
count = int(np.isfinite(betas).sum())
print(f"\nladder of chain 0: {np.round(betas[:count], 3)}")
print(f"Binder ratio of chain 0 per temperature: {np.round(tempering['binder_ratio'].values[0, :count], 3)}")  # fmt: skip

# %%
# Overlap distributions and the Binder ratio
# ------------------------------------------
# At high temperature :math:`P(q)` is a narrow peak at 0 (the Binder ratio :math:`g` is
# :math:`1/N` at :math:`\beta = 0`); as the temperature drops the two copies find the same
# valleys more and more often and :math:`P(q)` spreads out to :math:`\pm 1`, with :math:`g`
# climbing towards 1. The two peaks at :math:`\pm q` weigh the same in the limit (flipping
# every spin of one copy changes nothing); their imbalance here shows how few independent
# valley visits a few thousand draws hold at the coldest temperature. The link overlap
# :math:`q_l` (the fraction of bonds on which the copies agree, up to a shift) rises smoothly.
figure = Figure(figsize=(13, 4.2), layout="constrained")
left, middle, right = figure.subplots(1, 3)
q_values = tempering["q"].values
colours = colormaps["viridis"](np.linspace(0.0, 0.9, count))
for slot in range(0, count, max(1, count // 6)):
    left.plot(q_values, tempering["overlap_distribution"].values[0, slot], color=colours[slot],
              label=rf"$\beta$ = {betas[slot]:.2f}")  # fmt: skip
left.set(xlabel="overlap q", ylabel="P(q)", title="overlap distribution (chain 0)")
left.legend(fontsize="small")
for chain in range(2):
    chain_betas = tempering["beta"].values[chain]
    middle.plot(chain_betas, tempering["binder_ratio"].values[chain], "o-", label=f"chain {chain}")
    right.plot(chain_betas, tempering["mean_link_overlap"].values[chain], "o-",
               label=f"chain {chain}")  # fmt: skip
middle.set(xlabel=r"$\beta$", ylabel="g", title="Binder ratio of q")
right.set(xlabel=r"$\beta$", ylabel=r"$\langle q_l \rangle$", title="mean link overlap")
middle.legend(fontsize="small")
figure.savefig(args.out / "edwards_anderson_overlaps.png", dpi=100)
