"""How many auxiliary sweeps the exchange algorithm needs: the posterior of beta from one
observed configuration of a periodic L x L Ising lattice against the exact posterior.

The exact posterior (Uniform(0, 1) prior) is p(beta | x) ∝ exp(-beta E(x) - log Z(beta)) with
Kaufman's finite-lattice log Z, on a grid of 4,001 points. For each number of Swendsen–Wang
sweeps per auxiliary draw, ``ps.infer.Exchange`` runs 4 vectorised chains from the same key;
the table gives the posterior mean and sd against the exact ones, the ESS and the time of the
run (compilation included: each sweep count is a new compiled program).

    uv run python benchmarks/exchange_sweeps.py            # about 2 minutes on 2 cores
    uv run python benchmarks/exchange_sweeps.py --quick    # L = 16 only, shorter chains
"""

from __future__ import annotations

import argparse
import time

import arviz as az
import jax
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.infer import MCMC

import physsamp as ps
from physsamp.kernels import swendsen_wang
from physsamp.lattice_exact import ising2d_log_partition


def observed(side: int, beta: float, seed: int) -> np.ndarray:
    model = ps.Ising.lattice((side, side), beta=beta)
    key_start, key_sweeps = jax.random.split(jax.random.key(seed))
    state = swendsen_wang.init(model.uniform_configuration(key_start), model)
    state, _ = jax.jit(swendsen_wang.build_kernel(num_sweeps=300))(key_sweeps, state, model)
    return np.asarray(state.position)


def exact_posterior(x: np.ndarray, side: int) -> tuple[float, float]:
    energy = float(ps.Ising.lattice((side, side)).energy(x))
    grid = np.linspace(0.0, 1.0, 4001)
    log_density = np.array([-b * energy - ising2d_log_partition(side, side, b) for b in grid])
    weights = np.exp(log_density - log_density.max())
    weights /= weights.sum()
    mean = float(grid @ weights)
    return mean, float(np.sqrt(((grid - mean) ** 2) @ weights))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sides", type=int, nargs="+", default=[16, 32])
    parser.add_argument("--sweeps", type=int, nargs="+", default=[1, 3, 10, 30])
    parser.add_argument("--beta", type=float, default=0.42, help="beta of the observed sample")
    parser.add_argument("--samples", type=int, default=4000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sides, samples = ([16], 1500) if args.quick else (args.sides, args.samples)
    print(f"jax {jax.__version__}, numpyro {numpyro.__version__}; observed at beta = {args.beta}")
    print(f"{'L':>4} {'sweeps':>6} {'mean':>8} {'exact':>8} {'off (sd)':>8} {'sd ratio':>8} "
          f"{'ESS':>6} {'accept':>6} {'seconds':>8}")  # fmt: skip
    for side in sides:
        x = observed(side, args.beta, seed=side)
        exact_mean, exact_sd = exact_posterior(x, side)

        def model(x, side=side):
            beta = numpyro.sample("beta", dist.Uniform(0.0, 1.0))
            numpyro.sample("spins", ps.Ising.lattice((side, side), beta=beta), obs=x)

        for sweeps in args.sweeps:
            mcmc = MCMC(ps.infer.Exchange(model, num_aux_sweeps=sweeps), num_warmup=500,
                        num_samples=samples, num_chains=4, chain_method="vectorized",
                        progress_bar=False)  # fmt: skip
            start = time.perf_counter()
            mcmc.run(jax.random.key(1), x)
            draws = np.asarray(mcmc.get_samples(group_by_chain=True)["beta"])
            seconds = time.perf_counter() - start
            accept = float(np.mean(mcmc.get_extra_fields()["accept_prob"]))
            print(f"{side:>4} {sweeps:>6} {draws.mean():8.4f} {exact_mean:8.4f} "
                  f"{(draws.mean() - exact_mean) / exact_sd:8.2f} {draws.std() / exact_sd:8.3f} "
                  f"{float(az.ess(draws)):6.0f} {accept:6.2f} {seconds:8.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
