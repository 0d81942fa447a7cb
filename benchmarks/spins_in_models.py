"""Spins inside a NumPyro model: physsamp blocks of ``numpyro.infer.Gibbs`` against numpyro's own.

The model: an Ising prior on a periodic L x L lattice (beta = 0.6, J = 1, spins flat in C
order) observed through ``y ~ Normal(spins, sigma)`` with ``sigma ~ HalfNormal(1)``; the data
are a truth image of a few smooth blobs plus noise of sigma_true = 0.8 (numpy seed 0). Side by
side in one run, one chain each (``chain_method="sequential"``):

1. ``DiscreteHMCGibbs(NUTS(model))`` (numpyro): a random-scan sweep of single-site Gibbs updates,
   one full model evaluation per site. It cannot read a physsamp site (no enumerable support),
   so it runs the same posterior written with numpyro parts: ``bits ~ Bernoulli(1/2)`` per
   pixel, spins = 2 bits - 1, and ``numpyro.factor`` for beta J sum_<ij> s_i s_j. A step costs
   O(N^2): it runs only a few steps (``--dhmcg-warmup``, ``--dhmcg-steps``), on a lattice of
   its own size (``--dhmcg-size``); its ESS over so few draws is rough.
2. ``HMCGibbs(NUTS(model), gibbs_fn, ["spins"])`` (numpyro) with a hand-written ``gibbs_fn``: one
   checkerboard heat-bath sweep in jax.numpy (``jnp.roll`` on the grid, local field
   beta J sum of 4 neighbours + y / sigma^2, p(up) = sigmoid(2 local), ``jax.random.uniform``).
   The bar: "physsamp within 1.5x of the hand-written composition".
3. ``Gibbs([(physsamp.infer.BlockGibbs(model), ["spins"]), (NUTS(model), None)])``.
4. ``Gibbs([(physsamp.infer.SwendsenWang(model), ["spins"]), (NUTS(model), None)])``.

2-4 share the model, the key, and the numbers of warm-up and sampling steps.

Timing with numpyro 0.22 (checked): ``MCMC.warmup`` runs the warm-up (compile included,
reported as "warm-up s") and sets ``post_warmup_state``. Timing ``MCMC.run`` from that state
does not exclude compilation: with ``progress_bar=False`` every ``run`` retraces and recompiles
its sampling loop (``fori_collect`` jits ``_fori_collect_loop`` with a freshly built ``jax.jit``
of the loop body as a static argument, which never hashes equal to the last one; a second
``run`` on the same MCMC object with the same arguments takes as long as the first, about
2 s for a small NUTS model here), and ``progress_bar=True`` dispatches each step from Python.
So the script jits numpyro's sampling loop itself, once per method: ``lax.scan`` over
``sampler.sample(state, (y,), {})``, then ``sampler.postprocess_fn`` on ``z`` and collect,
the body ``MCMC.run`` runs (checked while writing the script: from the same state, the same
draws, sigma and ``num_steps`` as ``MCMC.run``). It is compiled with
``.lower(state).compile()``, timed apart ("compile s"), and then called from the post-warm-up
state. ``Gibbs`` draws every block from the block's own key (the top-level ``rng_key`` of
``GibbsState`` is not passed to the blocks), so before each run every block's key is
replaced by one derived from that repeat's key, the same on every side. Repeats are
interleaved (methods 1, 2, 3, 4, then again), and each repeat's draws give an ESS:
ESS/s = (mean ESS over the repeats) / (median seconds per run). NUTS's tree size
(``num_steps``, leapfrog steps per step, of ``block_states[1]``) is collected with the draws.

ESS (numpyro's ``effective_sample_size``, on the chain split in two halves) of: the fraction
of pixels equal to the truth; the smallest over a fixed random set of 64 pixels (a pixel
whose chain never moves in a run has no ESS and is left out; the count is printed); sigma.
The breakdown (``--no-breakdown`` skips it) times one step of each part, jitted alone in a
``fori_loop`` from the post-warm-up state: the whole Gibbs step, its spin block's ``sample``
(given sigma), the bare spin update inside it (the hand-written ``gibbs_fn``; the physsamp
kernel's step on the conditional model, built once outside the loop), and its NUTS block's
``sample`` (given the spins).

    uv run python benchmarks/spins_in_models.py            # about 2 minutes on 2 cores
    uv run python benchmarks/spins_in_models.py --quick    # 32 x 32, short chains, 1.5 minutes
"""

from __future__ import annotations

import argparse
import math
import time

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.diagnostics import effective_sample_size
from numpyro.infer import MCMC, NUTS, DiscreteHMCGibbs, Gibbs, HMCGibbs
from numpyro.infer.gibbs import with_conditioning

import physsamp as ps

BETA = 0.6
COUPLING = 1.0
SIGMA_TRUE = 0.8


# -- data and models ----------------------------------------------------------------------------
def blobs(size: int, seed: int = 0) -> np.ndarray:
    """A truth image of +1 blobs on a -1 background, [size, size] int8 (periodic)."""
    rng = np.random.default_rng(seed)
    grid = np.arange(size) / size
    field = np.zeros((size, size))
    for _ in range(5):
        centre = rng.random(2)
        width = rng.uniform(0.07, 0.16)
        d0 = np.abs(grid[:, None] - centre[0])
        d1 = np.abs(grid[None, :] - centre[1])
        d0, d1 = np.minimum(d0, 1 - d0), np.minimum(d1, 1 - d1)
        field += np.exp(-(d0**2 + d1**2) / (2 * width**2))
    return np.where(field > 0.5, 1, -1).astype(np.int8)


def data(size: int, seed: int = 0) -> tuple[np.ndarray, jax.Array]:
    truth = blobs(size, seed)
    noise = np.random.default_rng(seed + 1).normal(size=truth.shape)
    y = (truth + SIGMA_TRUE * noise).astype(np.float32).reshape(-1)
    return truth.reshape(-1), jnp.asarray(y)


def physsamp_model(size: int):
    prior = ps.Ising.lattice((size, size), coupling=COUPLING, beta=BETA)

    def model(y):
        sigma = numpyro.sample("sigma", dist.HalfNormal(1.0))
        spins = numpyro.sample("spins", prior)
        numpyro.sample("y", dist.Normal(spins, sigma), obs=y)

    return model


def numpyro_model(size: int):
    """The same posterior from numpyro parts, for DiscreteHMCGibbs: Bernoulli bits and the
    Ising prior as a factor (the uniform Bernoulli(1/2) adds a constant)."""

    def model(y):
        sigma = numpyro.sample("sigma", dist.HalfNormal(1.0))
        bits = numpyro.sample("bits", dist.Bernoulli(probs=jnp.full(size * size, 0.5)))
        spins = (2 * bits - 1).astype(jnp.float32)
        grid = spins.reshape(size, size)
        bonds = grid * jnp.roll(grid, -1, 0) + grid * jnp.roll(grid, -1, 1)
        numpyro.factor("ising", BETA * COUPLING * bonds.sum())
        numpyro.sample("y", dist.Normal(spins, sigma), obs=y)

    return model


def heat_bath_gibbs_fn(size: int, y: jax.Array):
    """One checkerboard heat-bath sweep of the spins given sigma and y, in jax.numpy."""
    y_grid = y.reshape(size, size)
    rows, cols = np.indices((size, size))
    even = jnp.asarray((rows + cols) % 2 == 0)

    def gibbs_fn(rng_key, gibbs_sites, hmc_sites):
        spins = gibbs_sites["spins"].reshape(size, size).astype(jnp.float32)
        data_field = y_grid / hmc_sites["sigma"] ** 2
        for colour, key in zip((even, ~even), jax.random.split(rng_key), strict=True):
            neighbours = (jnp.roll(spins, 1, 0) + jnp.roll(spins, -1, 0)
                          + jnp.roll(spins, 1, 1) + jnp.roll(spins, -1, 1))  # fmt: skip
            local = BETA * COUPLING * neighbours + data_field
            up = jax.random.uniform(key, (size, size)) < jax.nn.sigmoid(2.0 * local)
            spins = jnp.where(colour, jnp.where(up, 1.0, -1.0), spins)
        return {"spins": spins.reshape(-1).astype(jnp.int8)}

    return gibbs_fn


# -- one method: warm-up, compile, timed runs ---------------------------------------------------
class Method:
    def __init__(self, name, kernel, y, truth, pixels, num_warmup, num_samples, site):
        self.name, self.y, self.truth, self.pixels, self.site = name, y, truth, pixels, site
        self.num_samples = num_samples
        self.mcmc = MCMC(kernel, num_warmup=num_warmup, num_samples=num_samples, num_chains=1,
                         chain_method="sequential", progress_bar=False)  # fmt: skip
        self.times: list[float] = []
        self.stats: list[dict] = []

    def warm_up(self, key) -> None:
        """``MCMC.warmup`` (compile included), then compile the sampling loop alone."""
        start = time.perf_counter()
        self.mcmc.warmup(key, self.y)
        jax.block_until_ready(self.mcmc.post_warmup_state)
        self.warmup_time = time.perf_counter() - start
        self.warm_state = self.mcmc.post_warmup_state
        self.step_size = float(self.warm_state.block_states[1].adapt_state.step_size)
        start = time.perf_counter()
        self.loop = sampling_loop(self.mcmc, self.y, self.site, self.num_samples).lower(
            self.warm_state).compile()  # fmt: skip
        self.compile_time = time.perf_counter() - start

    def timed_run(self, key) -> None:
        state = jax.block_until_ready(reseeded(self.warm_state, key))
        start = time.perf_counter()
        _, (spins, sigma, num_steps) = jax.block_until_ready(self.loop(state))
        self.times.append(time.perf_counter() - start)
        spins = np.asarray(spins)
        if self.site == "bits":
            spins = 2 * spins.astype(np.int8) - 1
        self.stats.append(chain_stats(spins, np.asarray(sigma), self.truth, self.pixels,
                                      np.asarray(num_steps)))  # fmt: skip

    def summary(self) -> dict:
        per_run = np.array(self.times)
        median = float(np.median(per_run))
        row = {"name": self.name, "draws": self.num_samples,
               "best_ms": per_run.min() / self.num_samples * 1e3,
               "median_ms": median / self.num_samples * 1e3,
               "compile": self.compile_time, "warmup_s": self.warmup_time,
               "step_size": self.step_size}  # fmt: skip
        for key in self.stats[0]:
            row[key] = float(np.mean([s[key] for s in self.stats]))
        for key in ("ess_frac", "ess_pixel_min", "ess_sigma"):
            row[key + "_per_s"] = row[key] / median
        return row


def sampling_loop(mcmc: MCMC, y, site: str, num_samples: int):
    """numpyro's sampling loop (``fori_collect`` in ``MCMC.run``: ``sampler.sample``, then
    ``postprocess_fn`` on ``z`` and collect), as one function to jit once: the spins, sigma and
    NUTS's ``num_steps`` of every step."""
    sampler, args = mcmc.sampler, (y,)
    constrain = sampler.postprocess_fn(args, {})

    def step(state, _):
        state = sampler.sample(state, args, {})
        z = constrain(state.z)
        return state, (z[site], z["sigma"], state.block_states[1].num_steps)

    return jax.jit(lambda state: jax.lax.scan(step, state, length=num_samples))


def reseeded(state, key):
    """``state`` with every block's key (and the top-level key) derived from ``key``."""
    blocks = []
    for index, block in enumerate(state.block_states):
        if hasattr(block, "rng_key"):
            new = jax.random.fold_in(key, index)
            if not jnp.issubdtype(block.rng_key.dtype, jax.dtypes.prng_key):
                new = jax.random.key_data(new)
            block = block._replace(rng_key=new)
        blocks.append(block)
    top = jax.random.fold_in(key, len(blocks))
    if not jnp.issubdtype(state.rng_key.dtype, jax.dtypes.prng_key):
        top = jax.random.key_data(top)
    return state._replace(block_states=tuple(blocks), rng_key=top)


def split_ess(values: np.ndarray) -> np.ndarray:
    """ESS of a chain [draws, ...], split in two halves (numpyro's estimator)."""
    half = values.shape[0] // 2
    chains = np.stack([values[:half], values[half : 2 * half]]).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        ess = np.asarray(effective_sample_size(chains), dtype=np.float64)
    return np.where(ess > 0, ess, np.nan)  # a chain that never moves, or too short a chain


def chain_stats(spins, sigma, truth, pixels, num_steps) -> dict:
    frac = (spins == truth).mean(axis=1)
    subset = spins[:, pixels].astype(np.float64)
    ess_pixels = split_ess(subset)
    moving = np.isfinite(ess_pixels) & (subset.std(axis=0) > 0)
    posterior_mean = spins.astype(np.float64).mean(axis=0)
    return {
        "ess_frac": float(split_ess(frac)),
        "ess_pixel_min": float(ess_pixels[moving].min()) if moving.any() else math.nan,
        "frozen_pixels": float((~moving).sum()),
        "ess_sigma": float(split_ess(sigma)),
        "sigma_mean": float(sigma.mean()),
        "frac_mean": float(frac.mean()),
        "map_acc": float((np.where(posterior_mean >= 0, 1, -1) == truth).mean()),
        "nuts_steps": float(num_steps.mean()),
    }


# -- breakdown of one step ----------------------------------------------------------------------
def per_step_seconds(step, state, num_steps: int, repeats: int = 5) -> tuple[float, float]:
    """Seconds per call of ``step(state) -> state`` in a jitted fori_loop, and compile s."""
    loop = jax.jit(lambda s: jax.lax.fori_loop(0, num_steps, lambda i, s: step(s), s))
    start = time.perf_counter()
    compiled = loop.lower(state).compile()
    compile_time = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(compiled(state))
        times.append(time.perf_counter() - start)
    return min(times) / num_steps, compile_time


def breakdown(method: Method, num_steps: int) -> dict:
    """Per-step cost of the whole Gibbs step, its spin block alone and its NUTS block alone,
    from the post-warm-up state, with the other block's sites held at their values."""
    gibbs = method.mcmc.sampler
    state = method.warm_state
    args = (method.y,)
    spin_kernel, nuts_kernel = gibbs._kernels
    spin_state, nuts_state = state.block_states
    spin_sites, nuts_sites = gibbs._sites
    sigma = {name: state.z[name] for name in nuts_sites}
    sigma = nuts_kernel.get_constrain_fn(args, {})(sigma)
    spins = {name: state.z[name] for name in spin_sites}
    spin_kwargs = with_conditioning({}, sigma)
    nuts_kwargs = with_conditioning({}, spins)
    out = {}
    out["step"], out["step_compile"] = per_step_seconds(
        lambda s: gibbs.sample(s, args, {}), state, num_steps
    )
    out["spins"], out["spins_compile"] = per_step_seconds(
        lambda s: spin_kernel.sample(s, args, spin_kwargs), spin_state, num_steps
    )
    out["nuts"], _ = per_step_seconds(
        lambda s: nuts_kernel.sample(s, args, nuts_kwargs), nuts_state, num_steps
    )
    out["hlo_chars"] = len(jax.jit(lambda s: spin_kernel.sample(s, args, spin_kwargs))
                           .lower(spin_state).compile().as_text())  # fmt: skip
    update, carry = bare_spin_update(method, spin_kernel, spin_state, sigma, spin_kwargs)
    out["bare"], _ = per_step_seconds(update, carry, num_steps)
    return out


def bare_spin_update(method, spin_kernel, spin_state, sigma, spin_kwargs):
    """The spin update without the block around it, and its first carry: the hand-written
    ``gibbs_fn``, or the physsamp kernel's step on the conditional model (computed once,
    outside the loop)."""
    key = jax.random.key(0)
    if isinstance(spin_kernel, ps.infer.PhysicsKernel):
        model = spin_kernel.conditional("spins", spin_state.z, (method.y,), spin_kwargs)

        def physsamp_update(carry):
            key, state = carry
            key, subkey = jax.random.split(key)
            return key, spin_kernel.kernel_step(subkey, state, model)[0]

        return physsamp_update, (key, spin_state.kernel_state["spins"])

    def hand_update(carry):
        key, spins = carry
        key, subkey = jax.random.split(key)
        return key, method.gibbs_fn(rng_key=subkey, gibbs_sites=spins, hmc_sites=sigma)

    return hand_update, (key, dict(spin_state.z))


# -- tables ---------------------------------------------------------------------------------------
def print_table(rows: list[dict], size: int, dhmcg_size: int, args) -> None:
    print(f"\nPer MCMC step and per effective sample, {size} x {size} (N = {size * size}); "
          f"{args.warmup} warm-up + {args.samples} draws per run for rows 2-4, "
          f"{args.repeats} interleaved runs each, 1 chain")  # fmt: skip
    header = (f"{'method':<38} {'size':>5} {'draws':>5} {'best ms':>9} {'median ms':>9} "
              f"{'ESS/s frac':>10} {'ESS/s pix':>9} {'ESS/s sig':>9} {'NUTS steps':>10} "
              f"{'compile s':>9}")  # fmt: skip
    print(header)
    for row in rows:
        side = dhmcg_size if "DiscreteHMCGibbs" in row["name"] else size
        print(f"{row['name']:<38} {side:>5} {row['draws']:>5} {row['best_ms']:9.3f} "
              f"{row['median_ms']:9.3f} {row['ess_frac_per_s']:10.1f} "
              f"{row['ess_pixel_min_per_s']:9.1f} {row['ess_sigma_per_s']:9.1f} "
              f"{row['nuts_steps']:10.2f} {row['compile']:9.2f}")  # fmt: skip
    print("\nESS per run (mean over runs) and posterior checks")
    print(f"{'method':<38} {'ESS frac':>8} {'ESS pix min':>11} {'frozen pix':>10} {'ESS sig':>8} "
          f"{'E[sigma]':>8} {'E[frac]':>8} {'MPM acc':>8} {'NUTS eps':>8} "
          f"{'warm-up s':>9}")  # fmt: skip
    for row in rows:
        print(f"{row['name']:<38} {row['ess_frac']:8.1f} {row['ess_pixel_min']:11.1f} "
              f"{row['frozen_pixels']:10.1f} {row['ess_sigma']:8.1f} {row['sigma_mean']:8.3f} "
              f"{row['frac_mean']:8.4f} {row['map_acc']:8.4f} {row['step_size']:8.3f} "
              f"{row['warmup_s']:9.2f}")  # fmt: skip
    print(
        "frac: fraction of pixels equal to the truth; pix: 64 fixed random pixels (min ESS over "
        "those that move in the run; frozen: how many never move); sig: sigma. MPM acc: "
        "sign of the posterior mean image against the truth. NUTS eps: NUTS's step size after "
        "warm-up. compile s: the sampling loop's. warm-up s: MCMC.warmup, compile included."
    )


def print_ratios(rows: dict, size: int, dhmcg_size: int) -> None:
    hand = rows["hand"]
    print("\nRatios (median ms per step; ESS/s)")
    for key, label in (("block", "physsamp BlockGibbs"), ("sw", "physsamp SwendsenWang")):
        ours = rows[key]
        time_ratio = ours["median_ms"] / hand["median_ms"]
        print(f"  {label} / hand-written: time per step {time_ratio:.2f}x "
              f"(best {ours['best_ms'] / hand['best_ms']:.2f}x); ESS/s "
              f"frac {ours['ess_frac_per_s'] / hand['ess_frac_per_s']:.2f}x, "
              f"pixels {ours['ess_pixel_min_per_s'] / hand['ess_pixel_min_per_s']:.2f}x, "
              f"sigma {ours['ess_sigma_per_s'] / hand['ess_sigma_per_s']:.2f}x")  # fmt: skip
    if "dhmcg" in rows:
        dhmcg = rows["dhmcg"]
        scale = (size * size / (dhmcg_size * dhmcg_size)) ** 2
        note = "" if dhmcg_size == size else (
            f" (DiscreteHMCGibbs timed at {dhmcg_size} x {dhmcg_size}, scaled by N^2 = "
            f"{scale:.0f}x: an extrapolation)")  # fmt: skip
        for key, label in (("block", "BlockGibbs"), ("sw", "SwendsenWang")):
            ratio = dhmcg["median_ms"] * scale / rows[key]["median_ms"]
            print(f"  DiscreteHMCGibbs / physsamp {label}: time per step {ratio:.0f}x{note}")
    print(
        "\nGoals: at least 300x DiscreteHMCGibbs per step; within 1.5x of the hand-written "
        "composition (time per step)."
    )
    verdicts = []
    for key, label in (("block", "BlockGibbs"), ("sw", "SwendsenWang")):
        ratio = rows[key]["median_ms"] / hand["median_ms"]
        verdicts.append(f"{label} {ratio:.2f}x of hand-written: "
                        f"{'met' if ratio <= 1.5 else 'NOT met'}")  # fmt: skip
        if "dhmcg" in rows:
            dhmcg = rows["dhmcg"]
            scale = (size * size / (dhmcg_size * dhmcg_size)) ** 2
            speed = dhmcg["median_ms"] * scale / rows[key]["median_ms"]
            verdicts.append(f"{label} {speed:.0f}x DiscreteHMCGibbs: "
                            f"{'met' if speed >= 300 else 'NOT met'}")  # fmt: skip
    for verdict in verdicts:
        print(f"  {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64, help="lattice side (default 64)")
    parser.add_argument("--warmup", type=int, default=200, help="warm-up steps, rows 2-4")
    parser.add_argument("--samples", type=int, default=1000, help="draws per run, rows 2-4")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per method (>= 5)")
    parser.add_argument(
        "--dhmcg-size",
        type=int,
        default=None,
        help="lattice side for DiscreteHMCGibbs (default: --size)",
    )
    parser.add_argument("--dhmcg-warmup", type=int, default=10)
    parser.add_argument("--dhmcg-steps", type=int, default=20, help="DiscreteHMCGibbs draws")
    parser.add_argument("--skip-dhmcg", action="store_true", help="leave DiscreteHMCGibbs out")
    parser.add_argument(
        "--no-breakdown", action="store_true", help="skip the per-block breakdown of one step"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="32 x 32, 100 + 300 steps, 16 x 16 DiscreteHMCGibbs, 3 repeats",
    )
    args = parser.parse_args()
    if args.quick:
        args.size, args.warmup, args.samples, args.repeats = 32, 100, 300, 3
        args.dhmcg_size = args.dhmcg_size or 16
    size = args.size
    dhmcg_size = args.dhmcg_size or size
    print(f"jax {jax.__version__}, numpyro {numpyro.__version__} on "
          f"{jax.devices()[0].platform}; beta = {BETA}, J = {COUPLING}, "
          f"sigma_true = {SIGMA_TRUE}")  # fmt: skip

    truth, y = data(size)
    pixels = np.random.default_rng(2).choice(size * size, 64, replace=False)
    model = physsamp_model(size)
    methods = {}
    if not args.skip_dhmcg:
        truth_d, y_d = data(dhmcg_size)
        pixels_d = np.random.default_rng(2).choice(dhmcg_size**2, 64, replace=False)
        methods["dhmcg"] = Method(
            "1. numpyro DiscreteHMCGibbs",
            DiscreteHMCGibbs(NUTS(numpyro_model(dhmcg_size))),
            y_d,
            truth_d,
            pixels_d,
            args.dhmcg_warmup,
            args.dhmcg_steps,
            "bits",
        )
    gibbs_fn = heat_bath_gibbs_fn(size, y)
    methods["hand"] = Method(
        "2. HMCGibbs + hand-written sweep",
        HMCGibbs(NUTS(model), gibbs_fn=gibbs_fn, gibbs_sites=["spins"]),
        y, truth, pixels, args.warmup, args.samples, "spins")  # fmt: skip
    methods["hand"].gibbs_fn = gibbs_fn
    methods["block"] = Method(
        "3. Gibbs(physsamp BlockGibbs, NUTS)",
        Gibbs([(ps.infer.BlockGibbs(model), ["spins"]), (NUTS(model), None)]),
        y, truth, pixels, args.warmup, args.samples, "spins")  # fmt: skip
    methods["sw"] = Method(
        "4. Gibbs(physsamp SwendsenWang, NUTS)",
        Gibbs([(ps.infer.SwendsenWang(model), ["spins"]), (NUTS(model), None)]),
        y, truth, pixels, args.warmup, args.samples, "spins")  # fmt: skip

    key = jax.random.key(0)
    for method in methods.values():
        method.warm_up(key)
        print(f"{method.name}: warm-up {method.warmup_time:.1f} s (compile included), "
              f"sampling loop compiled in {method.compile_time:.1f} s", flush=True)  # fmt: skip
    for repeat in range(args.repeats):
        run_key = jax.random.fold_in(key, repeat + 1)
        for method in methods.values():
            method.timed_run(run_key)
    rows = {name: method.summary() for name, method in methods.items()}
    if "dhmcg" in rows and args.dhmcg_steps < args.samples:
        print(f"\nDiscreteHMCGibbs: timed over {args.dhmcg_steps} steps per run after "
              f"{args.dhmcg_warmup} warm-up steps (not {args.samples}: about N^2 model terms "
              f"a step); its ESS comes from {args.dhmcg_steps} draws and is rough.")  # fmt: skip
    print_table(list(rows.values()), size, dhmcg_size, args)
    print_ratios(rows, size, dhmcg_size)

    if not args.no_breakdown:
        print(
            "\nBreakdown of one step (jitted alone in a fori_loop from the post-warm-up "
            "state, best of 5; the other block's sites held fixed)"
        )
        print(f"{'method':<38} {'step ms':>8} {'spin block ms':>13} {'bare update ms':>14} "
              f"{'NUTS block ms':>13} {'spin block HLO chars':>20} "
              f"{'compile s (step, spins)':>24}")  # fmt: skip
        for name in ("hand", "block", "sw"):
            parts = breakdown(methods[name], num_steps=max(20, args.samples // 10))
            print(f"{methods[name].name:<38} {parts['step'] * 1e3:8.3f} "
                  f"{parts['spins'] * 1e3:13.3f} {parts['bare'] * 1e3:14.3f} "
                  f"{parts['nuts'] * 1e3:13.3f} "
                  f"{parts['hlo_chars']:>20} "
                  f"{parts['step_compile']:11.2f}, {parts['spins_compile']:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
