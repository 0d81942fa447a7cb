"""Command line: ``physsamp demo`` (the main job), ``physsamp sample`` and ``physsamp logz``."""

from __future__ import annotations

import argparse
import math
import sys
import textwrap
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
    return ps.to_inference_data(mcmc), time.perf_counter() - start


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
               f"{exact_energy:.5f}: {deviation(estimate, exact_energy, error, 'MCSE')}. "
               f"Wall time {seconds:.1f} s with compilation.\n")  # fmt: skip
    report.say(f"{MCSE_EXPLAINED}\n")
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


#: printed once beside the first deviation the demo reports
MCSE_EXPLAINED = (
    "MCSE, the Monte Carlo standard error, is the chains' standard deviation divided by the "
    "square root of their effective sample size (ESS): the typical distance between a run's "
    "mean and the exact value. A correct sampler lands within 2 MCSE of it in about 19 runs out "
    "of 20 and within 3 in all but 1 in 370, so a single deviation between 2 and 3 among the "
    "several printed here is unremarkable; with an ESS of a few hundred the MCSE is itself only "
    "known to within about 10%."
)


def deviation(estimate: float, exact: float, error: float, unit: str) -> str:
    """How far ``estimate`` is from ``exact`` in units of its standard ``error``, and what that
    distance means for a correct sampler."""
    if not error > 0:
        return f"off by {abs(estimate - exact):.3g} (no error estimate: a constant chain?)"
    distance = abs(estimate - exact) / error
    if distance < 2:
        verdict = "under 2, as about 19 correct runs in 20 are"
    elif distance < 3:
        verdict = "2 to 3, as about 1 correct run in 20 is: unremarkable on its own"
    else:
        verdict = "over 3, as fewer than 1 correct run in 370 is: rerun with more draws"
    return f"off by {distance:.1f} {unit} ({verdict})"


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
        f"{exact_energy:.5f}: {deviation(estimate, exact_energy, error, 'MCSE')}.\n"
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
    off_by = deviation(result.log_z, exact, result.stderr, "standard errors")
    report.say(
        f"log Z = {result.log_z:.4f} +- {result.stderr:.4f} (weight ESS {result.ess:.0f} of "
        f"128); exact (Kaufman 1949) {exact:.4f}: {off_by}.\n"
    )
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


# -- physsamp sample and physsamp logz ---------------------------------------------------------

#: the critical inverse temperature of the 2D Ising model, ln(1 + sqrt 2) / 2 (Onsager 1944)
BETA_CRITICAL = math.log(1 + math.sqrt(2)) / 2

#: graph file suffixes and the networkx text reader each one selects
GRAPH_FORMATS = {
    ".edgelist": "edge list",
    ".edges": "edge list",
    ".txt": "edge list",
    ".adjlist": "adjacency list",
    ".graphml": "GraphML",
    ".xml": "GraphML",
}

OBSERVABLES = ("energy", "magnetization", "abs_magnetization")


class CommandLineError(Exception):
    """A mistake in the command line or in a file it names: one line on stderr, exit status 2,
    no traceback."""


def read_graph(path: Path):
    """A networkx graph from a text file, its format chosen by suffix (see
    :data:`GRAPH_FORMATS`): an edge list (``u v``, ``u v 0.5`` with the coupling as a third
    column, or ``u v {'coupling': 0.5}`` as ``networkx.write_edgelist`` writes it), an
    adjacency list or GraphML. Node labels that are all integers become ints. Any failure
    raises :class:`CommandLineError` naming the file."""
    import networkx as nx

    kind = GRAPH_FORMATS.get(path.suffix.lower())
    if kind is None:
        known = ", ".join(GRAPH_FORMATS)
        raise CommandLineError(
            f"cannot tell the format of graph file {path} from its suffix {path.suffix!r}; "
            f"name it with one of {known}"
        )
    try:
        if kind == "edge list":
            graph = _read_edge_list(path)
        elif kind == "adjacency list":
            graph = nx.read_adjlist(path)
        else:
            graph = nx.read_graphml(path)
    except Exception as error:  # whatever a reader raises, the file is not readable as `kind`
        reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        raise CommandLineError(f"cannot read graph file {path} as {kind}: {reason}") from None
    if graph.number_of_nodes() == 0:
        raise CommandLineError(f"graph file {path} holds no edges or nodes")
    return _integer_labels(graph)


def _read_edge_list(path: Path):
    import networkx as nx

    with path.open(encoding="utf-8") as stream:
        lines = [line for line in stream if line.split("#", 1)[0].strip()]
    first = lines[0].split("#", 1)[0].split() if lines else []
    if len(first) == 3 and not first[2].startswith("{"):  # "u v 0.5": the coupling, bare
        columns: Any = [("coupling", float)]
        return nx.parse_edgelist(lines, data=columns)
    return nx.parse_edgelist(lines, data=True)


def _integer_labels(graph):
    import networkx as nx

    labels = list(graph.nodes)
    if all(isinstance(label, str) and label.lstrip("-").isdigit() for label in labels):
        numbers = {label: int(label) for label in labels}
        if len(set(numbers.values())) == len(labels):  # "7" and "07" stay apart
            return nx.relabel_nodes(graph, numbers)
    return graph


@dataclass
class Problem:
    """The model a ``sample`` or ``logz`` command line describes."""

    model: Any
    description: str
    #: (rows, cols, coupling) when Kaufman's formula applies: a periodic 2D lattice with one
    #: coupling and no field
    kaufman: tuple[int, int, float] | None


def build_problem(args: argparse.Namespace) -> Problem:
    """The Ising model of ``--lattice`` or ``--graph``, ``--coupling``, ``--field``, ``--beta``."""
    import physsamp as ps

    if not (math.isfinite(args.beta) and args.beta >= 0):
        raise CommandLineError(f"--beta must be a finite non-negative number, got {args.beta}")
    coupling = getattr(args, "coupling", None)
    field = getattr(args, "field", None)
    graph_file = getattr(args, "graph", None)
    if graph_file is not None:
        return _graph_problem(read_graph(graph_file), graph_file, coupling, field, args.beta)
    shape = args.lattice
    coupling = 1.0 if coupling is None else coupling
    field = 0.0 if field is None else field
    periodic = not args.open
    try:
        model = ps.Ising.lattice(shape, coupling=coupling, field=field, beta=args.beta,
                                 periodic=periodic)  # fmt: skip
    except (ValueError, TypeError) as error:
        raise CommandLineError(str(error)) from None
    sides = "x".join(str(side) for side in shape)
    description = (
        f"Ising model on {'a periodic' if periodic else 'an open'} {sides} lattice, coupling "
        f"{coupling:g}, field {field:g}, beta {args.beta:g}"
    )
    kaufman = (
        (shape[0], shape[1], coupling) if periodic and len(shape) == 2 and field == 0 else None
    )
    return Problem(model, description, kaufman)


def _graph_problem(graph, graph_file: Path, coupling: Any, field: Any, beta: float) -> Problem:
    import physsamp as ps

    has_coupling = any("coupling" in data for *_, data in graph.edges(data=True))
    has_field = any("field" in data for _, data in graph.nodes(data=True))
    if coupling is None:
        coupling = "coupling" if has_coupling else 1.0
    if field is None:
        field = "field" if has_field else 0.0
    try:
        model = ps.Ising(graph, coupling=coupling, field=field, beta=beta)
    except (ValueError, TypeError) as error:
        hint = ""
        if "attribute" in str(error):
            hint = " (--coupling and --field set one value for every edge or site instead)"
        raise CommandLineError(f"graph file {graph_file}: {error}{hint}") from None
    description = (
        f"Ising model on the graph in {graph_file} ({graph.number_of_nodes()} sites, "
        f"{graph.number_of_edges()} edges), coupling {_value(coupling, 'edge')}, "
        f"field {_value(field, 'node')}, beta {beta:g}"
    )
    return Problem(model, description, None)


def _value(value: Any, kind: str) -> str:
    return f"from the {value!r} {kind} attribute" if isinstance(value, str) else f"{value:g}"


def sample(args: argparse.Namespace) -> int:
    """Sample the model of the command line, print a summary of its observables and write an
    ArviZ ``InferenceData`` to a netCDF file."""
    engine = _netcdf_engine(args.out)
    problem = build_problem(args)
    _quiet_arviz()
    import arviz as az
    import jax
    import numpyro
    from numpyro.infer import MCMC

    import physsamp as ps

    lattice = problem.model

    def model():
        numpyro.sample("spins", lattice)

    if args.kernel == "pt":
        kernel = ps.infer.ParallelTempering(model, betas=args.replicas)
    elif args.kernel == "sw":
        kernel = ps.infer.SwendsenWang(model)
    else:
        kernel = ps.infer.BlockGibbs(model)
    mcmc = MCMC(kernel, num_warmup=args.warmup, num_samples=args.draws, num_chains=args.chains,
                chain_method="vectorized", progress_bar=sys.stderr.isatty())  # fmt: skip
    start = time.perf_counter()
    mcmc.run(jax.random.key(args.seed))
    jax.block_until_ready(mcmc.get_samples())
    seconds = time.perf_counter() - start
    idata = ps.to_inference_data(mcmc, configurations=args.configurations)
    names = [name for name in OBSERVABLES if name in idata.posterior]
    summary = az.summary(idata, var_names=names, round_to=5)
    kernel_name = {"gibbs": "block Gibbs", "sw": "Swendsen-Wang", "pt": "parallel tempering"}
    print(problem.description)
    print(f"{kernel_name[args.kernel]}: {args.chains} chains x {args.draws} draws after "
          f"{args.warmup} warm-up steps, {seconds:.1f} s with compilation; energy and "
          "magnetisation per site\n")  # fmt: skip
    print(summary.to_string())
    if args.kernel == "pt":
        print(f"\nladder: {kernel.tempering_summary(mcmc)}")
    exact = _exact_energy_per_site(problem, args.beta)
    if exact is not None:
        estimate, error = _mean_and_error(summary)
        print(f"\nexact energy per site ({exact[1]}) {exact[0]:.5f}: "
              f"{deviation(estimate, exact[0], error, 'MCSE')}.")  # fmt: skip
    idata.to_netcdf(str(args.out), engine=engine)
    print(f"\nwrote {args.out} (read it with arviz.from_netcdf)")
    return 0


#: the largest model whose exact mean energy ``sample`` computes by enumeration
ENUMERATED_SITES = 16


def _exact_energy_per_site(problem: Problem, beta: float) -> tuple[float, str] | None:
    """The exact mean energy per site and its source, when it is cheap to know."""
    import physsamp as ps
    from physsamp.lattice_exact import ising2d_energy_per_site

    model = problem.model
    if problem.kaufman is not None:
        rows, cols, coupling = problem.kaufman
        return ising2d_energy_per_site(rows, cols, beta, coupling), "Kaufman 1949"
    if model.num_sites <= ENUMERATED_SITES and beta > 0:
        energy = ps.exact.mean_energy(model) / model.num_sites
        return energy, f"enumeration of 2^{model.num_sites} states"
    return None


def _netcdf_engine(path: Path) -> str:
    """The netCDF writer to use for ``path``, checked before any sampling."""
    import importlib.util

    if not path.parent.is_dir():
        raise CommandLineError(f"cannot write {path}: the folder {path.parent} does not exist")
    for engine, package in (("h5netcdf", "h5netcdf"), ("netcdf4", "netCDF4")):
        if importlib.util.find_spec(package) is not None:
            return engine
    raise CommandLineError(
        f"writing {path} needs a netCDF-4 writer: install h5netcdf (pip install h5netcdf)"
    )


def logz(args: argparse.Namespace) -> int:
    """Print the log partition function of the model of the command line."""
    import jax

    import physsamp as ps
    from physsamp.lattice_exact import ising2d_log_partition

    problem = build_problem(args)
    model = problem.model
    method = args.method
    if method == "auto":
        if problem.kaufman is not None:
            method = "kaufman"
        elif model.num_sites <= ps.exact.MAX_SITES:
            method = "exact"
        else:
            method = "ais"
    print(problem.description)
    if method == "kaufman":
        if problem.kaufman is None:
            raise CommandLineError(
                "Kaufman's formula needs a periodic 2D lattice (--lattice L1xL2) with one "
                "coupling and no field; use --method exact (up to 24 sites) or ais"
            )
        rows, cols, coupling = problem.kaufman
        try:
            log_z = ising2d_log_partition(rows, cols, args.beta, coupling)
        except ValueError as error:
            raise CommandLineError(str(error)) from None
        print(f"log Z = {log_z:.6f} (exact: Kaufman 1949)")
    elif method == "exact":
        if model.num_sites > ps.exact.MAX_SITES:
            raise CommandLineError(
                f"exact enumeration visits 2^N states and stops at N = {ps.exact.MAX_SITES}; "
                f"this model has {model.num_sites} sites: use --method ais"
            )
        log_z = ps.exact.log_partition(model)
        print(f"log Z = {log_z:.6f} (exact: enumeration of 2^{model.num_sites} states)")
    else:
        result = ps.infer.ais_log_partition(model, jax.random.key(args.seed),
                                            num_betas=args.num_betas, num_runs=args.runs,
                                            progress_bar=sys.stderr.isatty())  # fmt: skip
        log_z = result.log_z
        print(f"log Z = {log_z:.6f} +- {result.stderr:.6f} (annealed importance sampling, "
              f"{args.runs} runs x {args.num_betas} temperatures; the error is the standard "
              f"error from the spread of the runs' weights, whose ESS is {result.ess:.0f} of "
              f"{args.runs})")  # fmt: skip
        if result.warning:
            print(f"warning: {result.warning}")
        elif result.ess < args.runs / 2:
            print("the weights are uneven (ESS under half the runs): such estimates tend to "
                  "fall below log Z; more temperatures (--num-betas) even them out")  # fmt: skip
    if args.beta > 0:
        print(
            f"free energy per site -log Z / (beta N) = {-log_z / (args.beta * model.num_sites):.6f}"
        )
    return 0


# -- argument parsing ---------------------------------------------------------------------------
class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Every option's default after its help (options without one have ``argparse.SUPPRESS``
    as their default and get none), descriptions and epilogs as written."""


def _lattice_shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(side) for side in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected lattice sides joined by x, such as 32x32 or 8x8x8, got {text!r}"
        ) from None
    if any(side < 1 for side in shape):
        raise argparse.ArgumentTypeError(f"lattice sides must be positive, got {text!r}")
    return shape


def _positive_int(text: str) -> int:
    return _integer_from(text, 1, "a positive integer")


def _replicas(text: str) -> int | str:
    if text == "auto":
        return text
    return _integer_from(text, 2, "'auto' or an integer >= 2")


def _non_negative_int(text: str) -> int:
    return _integer_from(text, 0, "a non-negative integer")


def _integer_from(text: str, smallest: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if value < smallest:
        raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
    return value


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--lattice", type=_lattice_shape, default="32x32", metavar="L1xL2",
                       help="a hypercubic lattice, sides joined by x (32x32, 8x8x8)")  # fmt: skip
    where.add_argument(
        "--graph",
        type=Path,
        default=argparse.SUPPRESS,
        metavar="FILE",
        help="a graph file instead of the lattice, format by suffix: edge list (.edgelist, "
        ".edges, .txt; an optional third column or 'coupling' key holds the coupling), "
        "adjacency list (.adjlist) or GraphML (.graphml, .xml; optional 'coupling' edge and "
        "'field' node attributes)",
    )
    parser.add_argument("--open", action="store_true",
                        help="open lattice boundaries instead of periodic ones")  # fmt: skip
    parser.add_argument("--coupling", type=float, default=argparse.SUPPRESS,
                        help="one coupling J for every edge (default: 1, or the graph file's "
                        "'coupling' edge attribute where it has one)")  # fmt: skip
    parser.add_argument("--field", type=float, default=argparse.SUPPRESS,
                        help="one field h for every site (default: 0, or the graph file's "
                        "'field' node attribute where it has one)")  # fmt: skip
    parser.add_argument("--beta", type=float, default=BETA_CRITICAL,
                        help="inverse temperature (default: %(default).7f, the 2D critical "
                        "point)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="random seed")


def _parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    parser = argparse.ArgumentParser(
        prog="physsamp",
        description="Samplers of statistical physics for NumPyro models on graphs.",
        formatter_class=_HelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo_parser = commands.add_parser(
        "demo",
        help="the 2D Ising model at its critical point: block Gibbs against Swendsen-Wang, log Z "
        "by AIS, denoising an image; a report with figures",
        description=_paragraph(
            "Sample the 2D Ising model at beta_c with block Gibbs and Swendsen-Wang, estimate "
            "log Z by AIS, denoise an image with spins inside a NumPyro model, and compare with "
            "exact results; write a report with figures."
        ),
        formatter_class=_HelpFormatter,
    )
    demo_parser.add_argument("--out", type=Path, default=Path("physsamp-demo"),
                             help="folder for the report and figures")  # fmt: skip
    demo_parser.add_argument("--size", type=_positive_int, default=32, help="lattice side")
    demo_parser.add_argument("--samples", type=_positive_int, default=2000,
                             help="draws per chain")  # fmt: skip
    demo_parser.add_argument("--chains", type=_positive_int, default=4, help="number of chains")

    sample_parser = commands.add_parser(
        "sample",
        help="sample an Ising model on a lattice or a graph file; summarise the energy and "
        "magnetisation and write the draws to netCDF",
        description=_paragraph(
            "Sample an Ising model with a physsamp kernel through NumPyro, print an ArviZ "
            "summary of its energy and magnetisation per site and write an InferenceData "
            "netCDF file (read it with arviz.from_netcdf)."
        ),
        formatter_class=_HelpFormatter,
    )
    _add_model_options(sample_parser)
    sample_parser.add_argument("--kernel", choices=("gibbs", "sw", "pt"), default="gibbs",
                               help="block Gibbs, Swendsen-Wang or parallel tempering "
                               "(around block Gibbs)")  # fmt: skip
    sample_parser.add_argument("--replicas", type=_replicas, default="auto",
                               help="temperatures of the parallel tempering ladder: a number, "
                               "or 'auto' to size it during warm-up")  # fmt: skip
    sample_parser.add_argument("--draws", type=_positive_int, default=1000,
                               help="draws per chain")  # fmt: skip
    sample_parser.add_argument("--warmup", type=_non_negative_int, default=200,
                               help="warm-up steps per chain")  # fmt: skip
    sample_parser.add_argument("--chains", type=_positive_int, default=4, help="number of chains")
    sample_parser.add_argument("--out", type=Path, default=Path("physsamp-samples.nc"),
                               metavar="FILE.nc", help="netCDF file to write")  # fmt: skip
    sample_parser.add_argument("--configurations", action="store_true",
                               help="also store every draw's spins, in the file's "
                               "'configurations' group")  # fmt: skip

    logz_parser = commands.add_parser(
        "logz",
        help="the log partition function: Kaufman's formula, enumeration or AIS",
        description=_paragraph(
            "Print log Z of an Ising model: by Kaufman's formula for a periodic 2D lattice with "
            "one coupling and no field, by enumeration up to 24 sites, or by annealed "
            "importance sampling (AIS) with its standard error."
        ),
        formatter_class=_HelpFormatter,
    )
    _add_model_options(logz_parser)
    logz_parser.add_argument("--method", choices=("auto", "kaufman", "exact", "ais"),
                             default="auto", help="auto takes the first that applies of "
                             "kaufman, exact (<= 24 sites) and ais")  # fmt: skip
    logz_parser.add_argument("--num-betas", type=_positive_int, default=1000,
                             help="AIS temperatures, the base and target included")  # fmt: skip
    logz_parser.add_argument("--runs", type=_positive_int, default=100,
                             help="independent AIS runs")  # fmt: skip
    subparsers = {"demo": demo_parser, "sample": sample_parser, "logz": logz_parser}
    parser.epilog = _defaults_epilog(subparsers)
    return parser, subparsers


def _paragraph(text: str) -> str:
    return textwrap.fill(text, width=79)


def _defaults_epilog(subparsers: dict[str, argparse.ArgumentParser]) -> str:
    """One line per command with the defaults it runs with, for ``physsamp --help``."""
    lines = ["commands and their defaults (physsamp COMMAND --help explains every option):"]
    for name, subparser in subparsers.items():
        options = []
        for dest, default in vars(subparser.parse_args([])).items():
            if isinstance(default, bool):
                continue
            if isinstance(default, tuple):
                default = "x".join(str(side) for side in default)
            elif isinstance(default, float):
                default = f"{default:.7g}"
            options.append(f"--{dest.replace('_', '-')}\N{NO-BREAK SPACE}{default}")
        text = textwrap.fill(" ".join(options), width=92, initial_indent=f"  {name:<7} ",
                             subsequent_indent=" " * 10)  # fmt: skip
        lines.append(text.replace("\N{NO-BREAK SPACE}", " "))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """The ``physsamp`` command: ``demo``, ``sample`` or ``logz`` (``physsamp --help``)."""
    parser, _ = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            return demo(args.out, args.size, args.samples, args.chains)
        if args.command == "sample":
            return sample(args)
        return logz(args)
    except CommandLineError as error:
        print(f"physsamp {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
