r"""
log Z by annealed importance sampling and by stepping stones
============================================================

The partition function :math:`Z(\beta) = \sum_s e^{-\beta E(s)}` of the 2D Ising model on a
16 x 16 torus at the critical point, estimated two ways and checked against its exact value
(Kaufman, Phys. Rev. 76, 1232 (1949); :func:`physsamp.lattice_exact.ising2d_log_partition`):

* **annealed importance sampling** (Neal, Statistics and Computing 11, 125 (2001);
  :func:`physsamp.infer.ais_log_partition`): independent runs anneal from
  :math:`\beta = 0` (uniform spins, :math:`\log Z_0 = N \log 2`) to the target, each carrying
  a log-weight; the estimate is the log of the mean weight, with a standard error and the
  weights' effective sample size;
* **stepping stones** along a parallel-tempering ladder (Xie, Lewis, Fan, Kuo & Chen, Syst.
  Biol. 60, 150 (2011); :meth:`physsamp.infer.ParallelTempering.log_partition`): the product
  of the ratios :math:`Z(\beta_{k+1}) / Z(\beta_k) = \mathbb E_{\beta_k}
  e^{-(\beta_{k+1} - \beta_k) E}` estimated from the replicas that PT keeps anyway.

Run ``uv run python examples/log_partition.py``; the figures go to ``examples/output``
(``--out DIR`` elsewhere).
"""

# %%
# The exact value
# ---------------
import argparse
import time
from pathlib import Path

import jax
import numpyro
from numpyro.infer import MCMC

import physsamp as ps
from physsamp.lattice_exact import BETA_CRITICAL, ising2d_log_partition

parser = argparse.ArgumentParser(description="log Z by AIS and by stepping stones")
parser.add_argument("--out", type=Path, default=Path("examples/output"), help="figure folder")
args = parser.parse_args()
args.out.mkdir(parents=True, exist_ok=True)

SIDE = 16
lattice = ps.Ising.lattice((SIDE, SIDE), beta=BETA_CRITICAL)
exact = ising2d_log_partition(SIDE, SIDE, BETA_CRITICAL)
print(f"{SIDE} x {SIDE} torus at beta_c: exact log Z = {exact:.4f}")

# %%
# AIS with schedules of increasing length
# ---------------------------------------
# A short schedule leaves the runs far from equilibrium: the weights spread, a few runs
# dominate (the weights' effective sample size falls), and the estimate is biased low (AIS is
# a stochastic lower bound) while its standard error is too small to show it: the result then
# carries a warning. As the schedule lengthens the estimates settle on the exact value within
# their error bars.
began = time.perf_counter()
results = ps.infer.ais_log_z_vs_num_betas(
    lattice,
    jax.random.key(0),
    num_betas=(30, 100, 300, 1000, 3000),
    num_runs=256,
    progress_bar=False,
)
print(
    f"5 AIS estimates, 256 runs each, in {time.perf_counter() - began:.1f} s (compilation included)"
)
print(f"{'betas':>6} {'log Z':>10} {'± se':>7} {'error / se':>10} {'weight ESS':>10}")
for result in results:
    error = (result.log_z - exact) / result.stderr
    print(
        f"{result.num_betas:6d} {result.log_z:10.4f} {result.stderr:7.4f} {error:10.2f} "
        f"{result.ess:10.1f}"
    )
for result in results:
    if result.warning:
        print(f"\n{result.num_betas} betas, warning: {result.warning}")
print(f"\n{results[-1]}")

ps.plots.plot_log_z_vs_num_betas(results, exact=exact).savefig(
    args.out / "log_partition_ais.png", dpi=100
)
ps.plots.plot_ais(results[-1]).savefig(args.out / "log_partition_weights.png", dpi=100)

# %%
# Stepping stones from parallel tempering
# ---------------------------------------
# A ladder of 12 temperatures from :math:`\beta = 0` to :math:`\beta_c`, tuned during
# warm-up to equalise the swap rates, sampled with Swendsen–Wang inside each replica. The
# stepping-stone estimate uses the sampling draws of all chains; its standard error accounts
# for their autocorrelation.


def model():
    numpyro.sample("spins", lattice)


kernel = ps.infer.ParallelTempering(model, betas=12, kernel=ps.infer.SwendsenWang)
mcmc = MCMC(
    kernel,
    num_warmup=1000,
    num_samples=3000,
    num_chains=2,
    chain_method="vectorized",
    progress_bar=False,
)
began = time.perf_counter()
mcmc.run(jax.random.key(1))
print(
    f"parallel tempering, 2 chains x 3,000 draws of 12 replicas in "
    f"{time.perf_counter() - began:.1f} s (compilation included)"
)
estimate = kernel.log_partition(mcmc)
error = (estimate.log_z - exact) / estimate.stderr
print(
    f"stepping stones: log Z = {estimate.log_z:.4f} ± {estimate.stderr:.4f} "
    f"(exact {exact:.4f}; error {error:+.2f} se)"
)
summary = kernel.tempering_summary(mcmc)
print(
    f"global barrier Lambda per chain: {summary['global_barrier'].round(2)}; "
    f"round trips: {summary['round_trips']}"
)

# %%
# The tempering diagnostics: the replica index process (a replica's temperature over the
# draws), the swap acceptance along the ladder, and the energy histograms of neighbouring
# temperatures, which must overlap for swaps to succeed.
ps.plots.plot_tempering(mcmc).savefig(args.out / "log_partition_tempering.png", dpi=90)
