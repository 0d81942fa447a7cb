"""Command line: ``physsamp demo``, the main job."""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def _quiet_arviz() -> None:
    warnings.filterwarnings("ignore", message=r"(?s).*ArviZ is undergoing", category=FutureWarning)


@dataclass
class Report:
    """Markdown report and console output, written side by side."""

    folder: Path
    lines: list[str] = field(default_factory=list)

    def say(self, text: str = "") -> None:
        print(text)
        self.lines.append(text)

    def block(self, text: str) -> None:
        print(text)
        self.lines += ["```", text, "```"]

    def figure(self, figure, name: str, caption: str) -> Path:
        path = self.folder / name
        figure.savefig(path, dpi=110)
        self.lines.append(f"![{caption}]({name})")
        return path

    def write(self) -> Path:
        path = self.folder / "report.md"
        path.write_text("\n".join(self.lines) + "\n")
        return path


@dataclass
class Run:
    name: str
    idata: Any
    seconds: float


def _sample(kernel, num_samples: int, num_chains: int, seed: int) -> tuple[Any, float]:
    import jax
    from numpyro.infer import MCMC

    import physsamp as ps

    mcmc = MCMC(kernel, num_warmup=num_samples // 5, num_samples=num_samples,
                num_chains=num_chains, chain_method="vectorized",
                progress_bar=sys.stderr.isatty())  # fmt: skip
    start = time.perf_counter()
    mcmc.run(jax.random.key(seed))
    jax.block_until_ready(mcmc.get_samples())
    return ps.to_inference_data(mcmc, include_spins=False), time.perf_counter() - start


def _gibbs_section(report: Report, model_fn, size: int, samples: int, chains: int) -> Run:
    import arviz as az

    import physsamp as ps
    from physsamp.lattice_exact import BETA_CRITICAL, ising2d_energy_per_site

    report.say("## Block Gibbs through NumPyro\n")
    report.say(f"2D Ising {size}x{size} periodic at beta_c = {BETA_CRITICAL:.6f}, "
               f"{chains} chains x {samples} draws.\n")  # fmt: skip
    idata, seconds = _sample(ps.infer.BlockGibbs(model_fn), samples, chains, seed=0)
    summary = az.summary(idata, var_names=["energy", "abs_magnetization"], round_to=5)
    report.block(summary.to_string())
    exact_energy = ising2d_energy_per_site(size, size, BETA_CRITICAL)
    estimate, error = _mean_and_error(summary)
    report.say(f"\nEnergy per site {estimate:.5f} +- {error:.5f} (MCSE); exact (Kaufman 1949) "
               f"{exact_energy:.5f}: off by {abs(estimate - exact_energy) / error:.1f} MCSE. "
               f"Wall time {seconds:.1f} s with compilation.\n")  # fmt: skip
    axes = az.plot_trace(idata, var_names=["energy", "abs_magnetization"], compact=True)
    axes[0, 0].axvline(exact_energy, color="k", linestyle="--", label="exact (Kaufman)")
    axes[0, 1].axhline(exact_energy, color="k", linestyle="--")
    axes[0, 0].legend(loc="upper left", fontsize="small")
    figure = axes.ravel()[0].figure
    figure.suptitle(f"block Gibbs, 2D Ising {size}x{size} at beta_c")
    figure.tight_layout()
    report.figure(figure, "gibbs_trace.png", "block Gibbs trace")
    _close(figure)
    return Run("block Gibbs", idata, seconds)


def _mean_and_error(summary) -> tuple[float, float]:
    """Mean and Monte Carlo standard error of the energy in an ArviZ summary table."""
    row = summary.loc["energy"]
    return float(row["mean"]), float(row["mcse_mean"])


def _close(figure) -> None:
    import matplotlib.pyplot as plt

    plt.close(figure)


def demo(out: Path, size: int, num_samples: int, num_chains: int) -> int:
    """Sample the 2D Ising model at the critical point through NumPyro and report."""
    _quiet_arviz()
    import matplotlib

    matplotlib.use("Agg")
    import numpyro

    import physsamp as ps
    from physsamp.lattice_exact import BETA_CRITICAL

    out.mkdir(parents=True, exist_ok=True)
    report = Report(out)
    lattice = ps.Ising.lattice((size, size), beta=BETA_CRITICAL)

    def model():
        numpyro.sample("spins", lattice)

    report.say("# physsamp demo\n")
    total = time.perf_counter()
    runs = [_gibbs_section(report, model, size, num_samples, num_chains)]
    for section in (_swendsen_wang_section, _ais_section, _denoising_section):
        section(report, model, size, num_samples, num_chains, runs)
    report.say(f"Demo finished in {time.perf_counter() - total:.0f} s.")
    path = report.write()
    print(f"\nwrote {path} and its figures in {out.resolve()}")
    return 0


def _swendsen_wang_section(report: Report, model_fn, size, samples, chains, runs) -> None:
    import arviz as az
    import matplotlib.pyplot as plt
    import numpy as np

    from physsamp.infer import SwendsenWang
    from physsamp.lattice_exact import BETA_CRITICAL, ising2d_energy_per_site

    report.say("## Swendsen-Wang against block Gibbs at the critical point\n")
    idata, seconds = _sample(SwendsenWang(model_fn), samples, chains, seed=1)
    runs.append(Run("Swendsen-Wang", idata, seconds))
    rows = ["| kernel | wall s | ESS energy | ESS abs(m) | ESS/s energy | ESS/s abs(m) |",
            "|---|---|---|---|---|---|"]  # fmt: skip
    for run in runs:
        ess = az.ess(run.idata, var_names=["energy", "abs_magnetization"])
        energy, magnet = float(ess["energy"]), float(ess["abs_magnetization"])
        rows.append(f"| {run.name} | {run.seconds:.1f} | {energy:.0f} | {magnet:.0f} | "
                    f"{energy / run.seconds:.0f} | {magnet / run.seconds:.0f} |")  # fmt: skip
    report.say("\n".join(rows))
    report.say("\n(wall time includes compilation; ESS from ArviZ, bulk)\n")
    summary = az.summary(idata, var_names=["energy"], round_to=6)
    estimate, error = _mean_and_error(summary)
    exact_energy = ising2d_energy_per_site(size, size, BETA_CRITICAL)
    report.say(
        f"Swendsen-Wang energy per site {estimate:.5f} +- {error:.5f}; exact "
        f"{exact_energy:.5f}: off by {abs(estimate - exact_energy) / error:.1f} MCSE.\n"
    )
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    lags = np.arange(min(200, samples // 2))
    for axis, variable in zip(axes, ["energy", "abs_magnetization"], strict=True):
        for run in runs:
            draws = np.asarray(run.idata.posterior[variable])
            acf = np.mean([az.autocorr(chain)[: len(lags)] for chain in draws], axis=0)
            axis.plot(lags, acf, label=run.name)
        axis.set_xlabel("lag (steps)")
        axis.set_title(f"autocorrelation of {variable}")
        axis.axhline(0, color="k", linewidth=0.5)
        axis.legend()
    figure.suptitle(f"2D Ising {size}x{size} at beta_c")
    figure.tight_layout()
    report.figure(figure, "autocorrelation.png", "autocorrelation functions")
    _close(figure)


def _ais_section(report: Report, model_fn, size, samples, chains, runs) -> None:
    import jax

    import physsamp as ps
    from physsamp.lattice_exact import BETA_CRITICAL, ising2d_log_partition

    side = min(size, 16)
    report.say("## Partition function by annealed importance sampling\n")
    model = ps.Ising.lattice((side, side), beta=BETA_CRITICAL)
    start = time.perf_counter()
    result = ps.infer.ais_log_partition(model, jax.random.key(2), num_betas=4000, num_runs=128,
                                        progress_bar=False)  # fmt: skip
    seconds = time.perf_counter() - start
    exact = ising2d_log_partition(side, side, BETA_CRITICAL)
    report.say(f"2D Ising {side}x{side} at beta_c, block Gibbs transitions, 4000 temperatures x "
               f"128 runs ({seconds:.1f} s):\n")  # fmt: skip
    report.say(f"log Z = {result.log_z:.4f} +- {result.stderr:.4f} (weight ESS "
               f"{result.ess:.0f} of 128); exact (Kaufman 1949) {exact:.4f}: off by "
               f"{abs(result.log_z - exact) / result.stderr:.1f} standard errors.\n")  # fmt: skip
    if result.warning:
        report.say(f"AIS warning: {result.warning}\n")
    figure = ps.infer.plot_ais(result)
    report.figure(figure, "ais_log_weights.png", "AIS log-weights")
    _close(figure)


def _shapes_image(side: int):
    """A ±1 test image: a disc and a rectangle on a -1 background."""
    import numpy as np

    row, col = np.mgrid[0:side, 0:side] / side
    disc = (row - 0.35) ** 2 + (col - 0.35) ** 2 < 0.2**2
    box = (np.abs(row - 0.72) < 0.16) & (np.abs(col - 0.7) < 0.2)
    return np.where(disc | box, 1, -1).astype(np.int8)


def _denoising_section(report: Report, model_fn, size, samples, chains, runs) -> None:
    import jax
    import jax.numpy as jnp
    import matplotlib.pyplot as plt
    import numpy as np
    import numpyro
    import numpyro.distributions as dist
    from numpyro.infer import MCMC, NUTS, Gibbs

    import physsamp as ps

    side, beta, noise = min(size, 32), 0.6, 0.8
    draws = min(samples, 300)
    report.say("## Denoising: spins inside a NumPyro model\n")
    truth = _shapes_image(side)
    noisy = truth + noise * np.random.default_rng(0).normal(size=truth.shape)
    prior = ps.Ising.lattice((side, side), beta=beta)

    def model(y):
        sigma = numpyro.sample("sigma", dist.HalfNormal(1.0))
        spins = numpyro.sample("spins", prior)
        numpyro.sample("y", dist.Normal(jnp.reshape(spins, (side, side)), sigma), obs=y)

    kernel = Gibbs([(ps.infer.BlockGibbs(model), ["spins"]), (NUTS(model), None)])
    mcmc = MCMC(kernel, num_warmup=draws // 3, num_samples=draws, progress_bar=False)
    start = time.perf_counter()
    mcmc.run(jax.random.key(3), noisy)
    draws_by_site = jax.block_until_ready(mcmc.get_samples())
    seconds = time.perf_counter() - start
    mean = np.asarray(draws_by_site["spins"], np.float64).mean(axis=0).reshape(side, side)
    sigma = np.asarray(draws_by_site["sigma"])
    estimate = np.sign(mean)  # the MPM estimate; a pixel at E[s | y] = 0 counts half an error
    naive = np.mean(np.sign(noisy) != truth)
    mpm = np.mean(np.where(estimate == 0, 0.5, estimate != truth))
    report.say(f"{side}x{side} binary image plus Gaussian noise (sigma = {noise}); sigma ~ "
               f"HalfNormal(1), Ising prior at beta = {beta}, y ~ Normal(spins, sigma); "
               "numpyro.infer.Gibbs with block Gibbs for the spins and NUTS for sigma, "
               f"{draws} draws ({seconds:.1f} s with compilation):\n")  # fmt: skip
    report.say(f"pixels wrong: {100 * naive:.1f}% thresholding the noisy image, "
               f"{100 * mpm:.1f}% for the MPM estimate sign(E[s | y]); sigma "
               f"{sigma.mean():.3f} +- {sigma.std():.3f} (true {noise}; the noise drawn has sd "
               f"{np.std(noisy - truth):.3f}).\n")  # fmt: skip
    figure, axes = plt.subplots(1, 4, figsize=(11, 3.2), layout="constrained")
    panels = [("truth", truth), ("noisy", noisy), ("posterior mean", mean),
              (f"MPM: {100 * mpm:.1f}% wrong", estimate)]  # fmt: skip
    for axis, (title, image) in zip(axes, panels, strict=True):
        axis.imshow(image, cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
        axis.set_title(title)
        axis.set_axis_off()
    report.figure(figure, "denoising.png", "denoising: truth, noisy, posterior mean, MPM")
    _close(figure)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="physsamp", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser("demo", help="sample the 2D Ising model at beta_c; report")
    demo_parser.add_argument(
        "--out",
        type=Path,
        default=Path("physsamp-demo"),
        help="folder for the report and figures (default: ./physsamp-demo)",
    )
    demo_parser.add_argument("--size", type=int, default=32, help="lattice side (default 32)")
    demo_parser.add_argument("--samples", type=int, default=2000, help="draws per chain")
    demo_parser.add_argument("--chains", type=int, default=4, help="number of chains")
    args = parser.parse_args(argv)
    if args.command == "demo":
        return demo(args.out, args.size, args.samples, args.chains)
    return 1


if __name__ == "__main__":
    sys.exit(main())
