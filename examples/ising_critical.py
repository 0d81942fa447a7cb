r"""
The 2D Ising model at its critical point
========================================

The square-lattice Ising model with periodic boundaries,

.. math:: p(s) = \frac{1}{Z} e^{\beta \sum_{\langle ij \rangle} s_i s_j}, \qquad s_i = \pm 1,

at the critical inverse temperature :math:`\beta_c = \tfrac12 \ln(1 + \sqrt 2)`, sampled
through :class:`numpyro.infer.MCMC` by two physsamp kernels: block Gibbs (the checkerboard heat
bath) and Swendsen–Wang (cluster flips). Both are exact samplers; they differ in how fast their
draws decorrelate. The mean energy is checked against its exact value on this very lattice,
from Kaufman's partition function (Phys. Rev. 76, 1232 (1949);
:func:`physsamp.lattice_exact.ising2d_energy_per_site`), and the chains are read in ArviZ.

Run ``uv run python examples/ising_critical.py``; the figure goes to ``examples/output``
(``--out DIR`` elsewhere).
"""

# %%
# The model and the exact answer
# ------------------------------
# A NumPyro model with one physsamp site. ``Ising.lattice`` builds the 32 x 32 torus;
# the exact energy per site comes from Kaufman's closed form for the same finite lattice.
import argparse
import time
from pathlib import Path

import arviz as az
import jax
import numpy as np
import numpyro
from matplotlib.figure import Figure
from numpyro.diagnostics import autocorrelation
from numpyro.infer import MCMC

import physsamp as ps
from physsamp.lattice_exact import BETA_CRITICAL, ising2d_energy_per_site

parser = argparse.ArgumentParser(description="The 2D Ising model at its critical point")
parser.add_argument("--out", type=Path, default=Path("examples/output"), help="figure folder")
args = parser.parse_args()
args.out.mkdir(parents=True, exist_ok=True)

SIDE = 32
lattice = ps.Ising.lattice((SIDE, SIDE), coupling=1.0, beta=BETA_CRITICAL)


def model():
    numpyro.sample("spins", lattice)


exact_energy = ising2d_energy_per_site(SIDE, SIDE, BETA_CRITICAL)
print(f"{SIDE} x {SIDE} periodic lattice at beta_c = {BETA_CRITICAL:.7f}")
print(f"exact energy per site (Kaufman): {exact_energy:.5f}")

# %%
# Two kernels, one line apart
# ---------------------------
# Swapping ``ps.infer.BlockGibbs`` for ``ps.infer.SwendsenWang`` is the whole change. Each
# runs 4 chains of 4,000 draws (one sweep per draw), vectorised; the wall time includes
# compilation.
NUM_CHAINS, NUM_WARMUP, NUM_SAMPLES = 4, 500, 4000
runs = {}
for name, kernel_class in [
    ("block Gibbs", ps.infer.BlockGibbs),
    ("Swendsen-Wang", ps.infer.SwendsenWang),
]:
    mcmc = MCMC(
        kernel_class(model),
        num_warmup=NUM_WARMUP,
        num_samples=NUM_SAMPLES,
        num_chains=NUM_CHAINS,
        chain_method="vectorized",
        progress_bar=False,
    )
    began = time.perf_counter()
    mcmc.run(jax.random.key(0))
    seconds = time.perf_counter() - began
    idata = ps.to_inference_data(mcmc)
    last_spins = np.asarray(mcmc.get_samples(group_by_chain=True)["spins"][0, -1])
    runs[name] = {"idata": idata, "seconds": seconds, "last": last_spins}
    print(f"\n{name}: {NUM_CHAINS} chains x {NUM_SAMPLES} draws in {seconds:.1f} s")
    print(az.summary(idata, var_names=["energy", "abs_magnetization"], round_to=4).to_string())

# %%
# Reading the chains
# ------------------
# ``mean`` and ``mcse_mean`` (the Monte Carlo standard error, from the effective sample
# size) are what to compare with the exact energy: both kernels agree with it within a few
# standard errors. ``ess_bulk`` says how many independent draws the chains are worth; the
# integrated autocorrelation time :math:`\tau = n / (2\,\mathrm{ESS})` (in sweeps) says how
# many sweeps one independent draw costs. Near :math:`\beta_c` block Gibbs needs hundreds of
# sweeps for :math:`|m|` and the cost grows roughly as :math:`L^2`, while Swendsen–Wang needs
# a few at any size (see :doc:`/which_kernel`). ``r_hat`` near 1 says the chains agree with
# each other.
print(
    f"{'':>14} {'energy':>9} {'± mcse':>7} {'z':>6} {'tau E':>7} {'tau |m|':>8} {'ESS/s |m|':>10}"
)
for name, run in runs.items():
    posterior = run["idata"].posterior
    energy = posterior["energy"].values
    abs_m = posterior["abs_magnetization"].values
    mean = energy.mean()
    mcse = float(az.mcse(run["idata"], var_names=["energy"])["energy"])
    tau_energy = ps.diagnostics.integrated_autocorrelation_time(energy)
    tau_m = ps.diagnostics.integrated_autocorrelation_time(abs_m)
    ess_rate = abs_m.size / (2 * tau_m) / run["seconds"]
    print(
        f"{name:>14} {mean:9.5f} {mcse:7.5f} {(mean - exact_energy) / mcse:6.2f} "
        f"{tau_energy:7.1f} {tau_m:8.1f} {ess_rate:10.0f}"
    )

# %%
# The figure
# ----------
# Left: :math:`|m|` along the first chain of each kernel; middle: the autocorrelation of
# :math:`|m|` (averaged over chains); right: the energy histogram of all draws against the
# exact mean; far right, the last configuration of a Swendsen–Wang chain: at
# :math:`\beta_c` clusters of every size coexist.
figure = Figure(figsize=(15, 4), layout="constrained")
trace_ax, acf_ax, energy_ax, spins_ax = figure.subplots(
    1, 4, gridspec_kw={"width_ratios": [3, 2, 2, 1.4]}
)
for (name, run), color in zip(runs.items(), ["tab:blue", "tab:orange"], strict=True):
    posterior = run["idata"].posterior
    abs_m = posterior["abs_magnetization"].values
    trace_ax.plot(abs_m[0, :1000], color=color, lw=0.8, label=name)
    acf = np.mean([autocorrelation(chain) for chain in abs_m], axis=0)
    acf_ax.plot(np.arange(300), acf[:300], color=color, label=name)
    energy_ax.hist(
        posterior["energy"].values.ravel(),
        bins=60,
        density=True,
        alpha=0.5,
        color=color,
        label=name,
    )
trace_ax.set(xlabel="draw (sweep)", ylabel="|m|", title="|m|, first 1,000 draws of chain 0")
acf_ax.axhline(0, color="k", lw=0.5)
acf_ax.set(xlabel="lag (sweeps)", ylabel="autocorrelation of |m|", title="autocorrelation")
energy_ax.axvline(exact_energy, color="k", ls="--", label="exact (Kaufman)")
energy_ax.set(xlabel="energy per site", title="energy per site")
for ax in (trace_ax, acf_ax, energy_ax):
    ax.legend(fontsize="small")
spins_ax.imshow(runs["Swendsen-Wang"]["last"].reshape(SIDE, SIDE), cmap="gray")
spins_ax.set_title("a draw at beta_c")
spins_ax.set_axis_off()
figure.savefig(args.out / "ising_critical.png", dpi=100)
