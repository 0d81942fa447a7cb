r"""Spins inside a NumPyro model: Bayesian image denoising, and the temperature of a sample
========================================================================================

Part 1 restores a binary image seen through Gaussian noise. The model is written the natural
way, an Ising prior on the pixels and a Gaussian likelihood with an unknown noise level:

.. math:: \sigma \sim \mathrm{HalfNormal}(1), \qquad
   s \sim \frac{1}{Z} e^{\beta \sum_{\langle ij \rangle} s_i s_j}, \qquad
   y_i \sim \mathcal{N}(s_i, \sigma),

the classical prior of image restoration (Geman & Geman, IEEE TPAMI 6, 721 (1984); Besag,
JRSS B 48, 259 (1986)). Block Gibbs samples the pixels given sigma (the likelihood enters
as the exact per-pixel field :math:`y_i / \sigma^2`) and NUTS samples sigma given the pixels,
as two blocks of ``numpyro.infer.Gibbs``. The maximum-posterior-marginal (MPM) estimate
:math:`\hat s_i = \operatorname{sign} E[s_i \mid y]` minimises the expected number of wrong
pixels (Marroquin, Mitter & Poggio, JASA 82, 76 (1987)).

Part 2 infers the inverse temperature of one observed configuration of the 2D Ising model,
a doubly intractable posterior (the likelihood's normaliser :math:`Z(\beta)` depends on the
parameter), with the exchange algorithm (Murray, Ghahramani & MacKay, UAI 2006), and compares
it with the exact posterior

.. math:: p(\beta \mid x) \propto \mathbb{1}[0 < \beta < 1]\, e^{-\beta E(x) - \log Z(\beta)}

computed on a fine grid from Kaufman's exact finite-lattice partition function
(Phys. Rev. 76, 1232 (1949)).

Run ``uv run python examples/denoising.py`` (``--quick`` for a short run); the figures go to
``examples/output`` (``--out DIR`` elsewhere). The documentation's gallery shows a ``--quick``
run; :doc:`/spins_in_models` gives the figures of a full one.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.diagnostics import effective_sample_size
from numpyro.infer import MCMC, NUTS, Gibbs

import physsamp as ps
from physsamp.kernels import swendsen_wang
from physsamp.lattice_exact import ising2d_log_partition

SIDE = 64
NOISE = 0.8
#: the prior's inverse temperature: above the critical 0.4407, so the prior favours large
#: uniform regions, as the image has
PRIOR_BETA = 0.6

BETA_SIDE = 32
TRUE_BETA = 0.4


# -- part 1: denoising ---------------------------------------------------------------------------
def make_image(side: int) -> np.ndarray:
    """A ±1 image of a disc, a ring and a rounded rectangle on a -1 background."""
    row, col = np.mgrid[0:side, 0:side] / side
    disc = (row - 0.3) ** 2 + (col - 0.28) ** 2 < 0.17**2
    radius = np.hypot(row - 0.66, col - 0.66)
    ring = (radius > 0.13) & (radius < 0.25)
    corner = (
        np.maximum(np.abs(row - 0.78) - 0.1, 0) ** 2 + np.maximum(np.abs(col - 0.2) - 0.12, 0) ** 2
    )
    box = corner < 0.05**2
    return np.where(disc | ring | box, 1, -1).astype(np.int8)


def denoising_model(side: int, beta: float):
    lattice = ps.Ising.lattice((side, side), coupling=1.0, beta=beta)

    def model(y):
        sigma = numpyro.sample("sigma", dist.HalfNormal(1.0))
        spins = numpyro.sample("spins", lattice)  # side * side pixels, in C order
        numpyro.sample("y", dist.Normal(spins.reshape(side, side), sigma), obs=y)

    return model


def mpm_error_rate(posterior_mean: np.ndarray, truth: np.ndarray) -> float:
    """Fraction of pixels where sign(E[s | y]) differs from the truth (a tie counts half)."""
    estimate = np.sign(posterior_mean)
    return float(np.mean(np.where(estimate == 0, 0.5, estimate != truth)))


def denoise(side: int, beta: float, num_warmup: int, num_samples: int, num_chains: int, seed=0):
    rng = np.random.default_rng(seed)
    truth = make_image(side)
    noisy = truth + NOISE * rng.normal(size=truth.shape)
    model = denoising_model(side, beta)
    # In this strong data field Swendsen-Wang's clusters are seldom reversed: block Gibbs
    # decorrelates the pixels faster (see docs/spins_in_models.md); both are exact.
    kernel = Gibbs([(ps.infer.BlockGibbs(model), ["spins"]), (NUTS(model), None)])
    mcmc = MCMC(kernel, num_warmup=num_warmup, num_samples=num_samples, num_chains=num_chains,
                chain_method=jax.vmap, progress_bar=False)  # fmt: skip
    start = time.perf_counter()
    mcmc.run(jax.random.key(seed), noisy)
    samples = jax.block_until_ready(mcmc.get_samples(group_by_chain=True))
    seconds = time.perf_counter() - start
    spins = np.asarray(samples["spins"], np.float64)
    mean = spins.mean(axis=(0, 1)).reshape(side, side)
    return {
        "truth": truth,
        "noisy": noisy,
        "mean": mean,
        "sigma": np.asarray(samples["sigma"]),
        "sigma_ess": float(effective_sample_size(np.asarray(samples["sigma"]))),
        "magnetization_ess": float(effective_sample_size(spins.mean(axis=-1))),
        "mpm_error": mpm_error_rate(mean, truth),
        "naive_error": mpm_error_rate(noisy, truth),
        "noise_sd": float(np.std(noisy - truth)),
        "seconds": seconds,
    }


def plot_denoising(result: dict, path: Path) -> None:
    figure, axes = plt.subplots(1, 5, figsize=(17, 3.9), layout="constrained")
    panels = [
        ("truth", result["truth"]),
        (f"noisy, sigma = {NOISE}\nthresholded: {100 * result['naive_error']:.1f}% wrong",
         result["noisy"]),
        ("posterior mean E[s | y]", result["mean"]),
        (f"MPM estimate sign(E[s | y])\n{100 * result['mpm_error']:.2f}% wrong",
         np.sign(result["mean"])),
    ]  # fmt: skip
    for axis, (title, image) in zip(axes, panels, strict=False):
        axis.imshow(image, cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
        axis.set_title(title, fontsize=10)
        axis.set_axis_off()
    sigma = result["sigma"].ravel()
    axes[4].hist(sigma, bins=40, density=True, color="tab:blue", alpha=0.7)
    axes[4].axvline(NOISE, color="k", linestyle="--", label=f"true sigma = {NOISE}")
    axes[4].axvline(
        result["noise_sd"], color="tab:red", linestyle=":", label="sd of the noise drawn"
    )
    axes[4].set_title(f"posterior of sigma: {sigma.mean():.3f} +- {sigma.std():.3f}", fontsize=10)
    axes[4].set_xlabel("sigma")
    axes[4].legend(fontsize="small")
    figure.savefig(path, dpi=110)
    plt.close(figure)


# -- part 2: the inverse temperature of one configuration ----------------------------------------
def observed_configuration(side: int, beta: float, num_sweeps: int, seed: int = 3) -> np.ndarray:
    """A configuration drawn at ``beta`` by ``num_sweeps`` Swendsen–Wang sweeps from random."""
    lattice = ps.Ising.lattice((side, side), beta=beta)
    key_start, key_sweeps = jax.random.split(jax.random.key(seed))
    state = swendsen_wang.init(lattice.uniform_configuration(key_start), lattice)
    step = jax.jit(swendsen_wang.build_kernel(num_sweeps=num_sweeps))
    state, _ = step(key_sweeps, state, lattice)
    return np.asarray(state.position)


def exact_beta_posterior(x: np.ndarray, side: int, num_grid: int = 4001):
    """p(beta | x) on a grid over (0, 1) from Kaufman's exact log Z (Uniform(0, 1) prior)."""
    energy = float(ps.Ising.lattice((side, side)).energy(x))
    grid = np.linspace(0.0, 1.0, num_grid)
    log_density = np.array([-b * energy - ising2d_log_partition(side, side, b) for b in grid])
    density = np.exp(log_density - log_density.max())
    density /= np.trapezoid(density, grid)
    mean = np.trapezoid(grid * density, grid)
    sd = np.sqrt(np.trapezoid((grid - mean) ** 2 * density, grid))
    return grid, density, mean, sd


def infer_beta(x, side: int, num_warmup: int, num_samples: int, num_chains: int, seed: int = 1):
    def model(x):
        beta = numpyro.sample("beta", dist.Uniform(0.0, 1.0))
        numpyro.sample("spins", ps.Ising.lattice((side, side), beta=beta), obs=x)

    kernel = ps.infer.Exchange(model, kernel=ps.infer.SwendsenWang, num_aux_sweeps=10)
    mcmc = MCMC(kernel, num_warmup=num_warmup, num_samples=num_samples, num_chains=num_chains,
                chain_method="vectorized", progress_bar=False)  # fmt: skip
    start = time.perf_counter()
    mcmc.run(jax.random.key(seed), x)
    beta = np.asarray(jax.block_until_ready(mcmc.get_samples(group_by_chain=True))["beta"])
    return beta, time.perf_counter() - start


def plot_beta(beta, grid, density, exact_mean, exact_sd, path: Path) -> None:
    figure, axis = plt.subplots(figsize=(6, 3.8), layout="constrained")
    axis.hist(beta.ravel(), bins=50, density=True, alpha=0.6, label="exchange algorithm")
    axis.plot(grid, density, "k", label="exact (Kaufman log Z)")
    axis.axvline(TRUE_BETA, color="tab:red", linestyle="--", label=f"beta drawn at {TRUE_BETA}")
    axis.set_xlim(exact_mean - 6 * exact_sd, exact_mean + 6 * exact_sd)
    axis.set_xlabel("beta")
    axis.set_title(
        f"posterior of beta, {BETA_SIDE}x{BETA_SIDE} periodic\n"
        f"sampled {beta.mean():.4f} +- {beta.std():.4f}, exact {exact_mean:.4f} +- {exact_sd:.4f}",
        fontsize=10,
    )
    axis.legend(fontsize="small")
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (fewer draws)")
    parser.add_argument("--out", type=Path, default=Path("examples/output"),
                        help="folder for the figures (default: examples/output)")  # fmt: skip
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.quick:  # compilation dominates a short run: one chain for the image
        gibbs = {"num_warmup": 100, "num_samples": 300, "num_chains": 1}
        exchange = {"num_warmup": 300, "num_samples": 1000, "num_chains": 2}
    else:
        gibbs = {"num_warmup": 500, "num_samples": 2500, "num_chains": 4}
        exchange = {"num_warmup": 500, "num_samples": 4000, "num_chains": 4}
    total = time.perf_counter()

    result = denoise(SIDE, PRIOR_BETA, **gibbs)
    path = args.out / "denoising.png"
    plot_denoising(result, path)
    chains, draws = gibbs["num_chains"], gibbs["num_samples"]
    print(f"Denoising {SIDE}x{SIDE}, sigma = {NOISE}, Ising prior at beta = {PRIOR_BETA}: "
          f"{chains} chain(s) x {draws} draws in {result['seconds']:.1f} s")  # fmt: skip
    print(f"  thresholding sign(y): {100 * result['naive_error']:.2f}% of pixels wrong")
    print(f"  MPM sign(E[s | y]):   {100 * result['mpm_error']:.2f}% of pixels wrong")
    sigma = result["sigma"]
    print(f"  sigma: {sigma.mean():.4f} +- {sigma.std():.4f} (true {NOISE}; the noise drawn has "
          f"sd {result['noise_sd']:.4f})")  # fmt: skip
    print(
        f"  ESS: sigma {result['sigma_ess']:.0f}, magnetisation {result['magnetization_ess']:.0f}"
    )
    print(f"  wrote {path}")

    x = observed_configuration(BETA_SIDE, TRUE_BETA, num_sweeps=300)
    grid, density, exact_mean, exact_sd = exact_beta_posterior(x, BETA_SIDE)
    beta, seconds = infer_beta(x, BETA_SIDE, **exchange)
    path = args.out / "beta_posterior.png"
    plot_beta(beta, grid, density, exact_mean, exact_sd, path)
    chains, draws = exchange["num_chains"], exchange["num_samples"]
    print(f"\nbeta of one {BETA_SIDE}x{BETA_SIDE} configuration drawn at {TRUE_BETA}, exchange "
          f"algorithm with 10 Swendsen-Wang sweeps: {chains} chain(s) x {draws} draws in "
          f"{seconds:.1f} s")  # fmt: skip
    ess = float(effective_sample_size(beta))
    print(f"  sampled: mean {beta.mean():.4f}, sd {beta.std():.4f} (ESS {ess:.0f}; Monte Carlo "
          f"error of the mean {beta.std() / np.sqrt(ess):.4f})")  # fmt: skip
    print(f"  exact:   mean {exact_mean:.4f}, sd {exact_sd:.4f}")
    print(f"  wrote {path}")
    print(f"\nTotal run time {time.perf_counter() - total:.1f} s")


if __name__ == "__main__":
    main()
