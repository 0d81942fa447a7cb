"""Parallel tempering on the 2D ±J Edwards-Anderson spin glass: throughput, round trips and
time to the ground state, non-reversible (DEO) against reversible (SEO) swaps, and hamon's NRPT
when it is installed.

    uv run python benchmarks/parallel_tempering.py            # L = 8 and 16, full lengths
    uv run python benchmarks/parallel_tempering.py --quick    # L = 8, short (about a minute)

One PT step ("ladder sweep") is one block Gibbs sweep of every replica plus one swap phase.
Per lattice size it prints:

* ladder sweeps/s (one PT ensemble, and 8 ensembles batched) and spin updates/s, compile time
  apart;
* the ladder tuned by the adaptive warm-up (Syed et al. 2022), its global barrier Lambda and
  the suggested number of replicas;
* round trips per 10^4 ladder sweeps per ensemble, DEO and SEO on the same tuned ladder;
* ladder sweeps and seconds until the target replica first reaches the reference ground-state
  energy from a random start (median over independent ensembles), DEO and SEO. The reference is
  the lowest energy found by a long DEO run (many ensembles); it is not certified exact.

hamon (optional, ``uv pip install hamon``; never a dependency of physsamp) is run with the same
ladder, one Gibbs sweep per round, for throughput and round trips.
"""

from __future__ import annotations

import argparse
import time
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

import physsamp as ps
from physsamp.kernels import block_gibbs
from physsamp.kernels import parallel_tempering as pt

BETA_MAX = 3.0
SETTINGS = {  # lattice size: replicas
    8: 16,
    16: 28,
}


def spin_glass(length: int, seed: int) -> ps.Ising:
    rng = np.random.default_rng(seed)
    couplings = rng.choice([-1.0, 1.0], size=(2, length, length))
    return ps.Ising.lattice((length, length), coupling=couplings, beta=BETA_MAX)


def start(model, betas, key, num_ensembles):
    starts = model.uniform_configuration(key, (num_ensembles, len(betas)))
    ladder = jnp.asarray(betas, jnp.float32)
    return jax.vmap(lambda x: pt.init(x, model, ladder, block_gibbs.init))(starts)


@partial(jax.jit, static_argnames=("step", "num_steps"))
def advance(rng_key, step, states, model, num_steps):
    """``num_steps`` PT steps of every ensemble; returns the final states and the target
    replica's energy per step ``[steps, ensembles]``."""
    num_ensembles = states.betas.shape[0]
    batched = jax.vmap(step, in_axes=(0, 0, None))

    def body(carry, _):
        current, key = carry
        key, key_step = jax.random.split(key)
        current, info = batched(jax.random.split(key_step, num_ensembles), current, model)
        return (current, key), info.energy[:, -1]

    (final, _), energies = jax.lax.scan(body, (states, rng_key), length=num_steps)
    return final, energies


def timed(fn, *args, **kwargs):
    begin = time.perf_counter()
    out = jax.block_until_ready(fn(*args, **kwargs))
    return out, time.perf_counter() - begin


def tune_ladder(model, num_replicas, key, num_ensembles, num_warmup):
    step = pt.build_kernel(block_gibbs.build_kernel())
    key_start, key_warm = jax.random.split(key)
    states = start(model, np.linspace(0.0, BETA_MAX, num_replicas), key_start, num_ensembles)
    keys = jax.random.split(key_warm, num_ensembles)
    tuned, seconds = timed(
        jax.vmap(lambda k, s: pt.warmup(k, step, s, model, num_warmup)), keys, states
    )
    ladder = np.asarray(tuned.betas).mean(axis=0)
    ladder[0], ladder[-1] = 0.0, BETA_MAX
    return ladder, float(np.asarray(tuned.global_barrier).mean()), seconds


def first_hits(energies: np.ndarray, ground: float) -> np.ndarray:
    """Steps (1-based) at which each ensemble's target first reaches ``ground`` (inf if not)."""
    reached = energies <= ground + 1e-3
    return np.where(reached.any(axis=0), reached.argmax(axis=0) + 1.0, np.inf)


def run_size(length: int, args) -> dict:
    num_replicas = SETTINGS[length]
    model = spin_glass(length, args.seed)
    num_sites = model.num_sites
    key = jax.random.key(args.seed)
    key_tune, key_time, key_reference, *key_schemes = jax.random.split(key, 6)
    print(f"\n== 2D ±J Edwards-Anderson, L = {length} ({num_sites} spins), beta 0 .. {BETA_MAX}, "
          f"{num_replicas} replicas ==")  # fmt: skip

    ladder, barrier, warm_seconds = tune_ladder(
        model, num_replicas, key_tune, num_ensembles=4, num_warmup=args.warmup
    )
    print(f"adaptive warm-up ({args.warmup} sweeps x 4 ensembles, compile included): "
          f"{warm_seconds:.1f} s")  # fmt: skip
    print(f"tuned ladder: {np.array2string(ladder, precision=3, max_line_width=100)}")
    print(f"global barrier Lambda = {barrier:.2f}; suggested replicas ~ 2 Lambda = "
          f"{pt.suggested_num_replicas(barrier)} (using {num_replicas})")  # fmt: skip

    results: dict = {"length": length, "barrier": barrier}
    steps = {scheme: pt.build_kernel(block_gibbs.build_kernel(), swap=scheme)
             for scheme in ("deo", "seo")}  # fmt: skip

    # Throughput (compile excluded: the first call compiles, the second is timed).
    for ensembles in (1, 8):
        states = start(model, ladder, jax.random.fold_in(key_time, ensembles), ensembles)
        key_run = jax.random.fold_in(key_time, 100 + ensembles)
        begin = time.perf_counter()
        compiled = advance.lower(key_run, steps["deo"], states, model, args.steps).compile()
        compile_seconds = time.perf_counter() - begin
        _, seconds = timed(compiled, jax.random.clone(key_run), states, model)
        rate = ensembles * args.steps / seconds
        print(f"physsamp DEO, {ensembles} ensemble(s): {rate:9.1f} ladder sweeps/s "
              f"({rate * num_replicas * num_sites / 1e6:6.1f} M spin updates/s; "
              f"compile {compile_seconds:.1f} s)")  # fmt: skip
        results[f"sweeps_per_s_{ensembles}"] = rate
    seconds_per_sweep = 1.0 / results["sweeps_per_s_1"]

    # Reference ground-state energy: the lowest target energy of a long DEO run.
    key_reference_start, key_reference_run = jax.random.split(key_reference)
    reference_states = start(model, ladder, key_reference_start, args.reference_ensembles)
    _, reference_energies = advance(
        key_reference_run, steps["deo"], reference_states, model, args.reference_steps
    )
    ground = float(np.asarray(reference_energies).min())
    print(f"reference lowest energy ({args.reference_ensembles} ensembles x "
          f"{args.reference_steps} sweeps): {ground:.0f} "
          f"({ground / num_sites:.4f} per spin)")  # fmt: skip

    print(f"{'scheme':>7} {'round trips / 1e4 sweeps':>26} {'sweeps to ground (median)':>27} "
          f"{'reached':>8} {'ms (1 ensemble)':>16}")  # fmt: skip
    for (scheme, step), key_scheme in zip(steps.items(), key_schemes, strict=False):
        key_scheme_start, key_scheme_run = jax.random.split(key_scheme)
        states = start(model, ladder, key_scheme_start, args.ensembles)
        final, energies = advance(key_scheme_run, step, states, model, args.steps)
        trips = np.asarray(final.round_trips).sum() / args.ensembles / args.steps * 1e4
        hits = first_hits(np.asarray(energies), ground)
        median = float(np.median(hits))
        reached = f"{np.isfinite(hits).sum()}/{args.ensembles}"
        print(f"{scheme:>7} {trips:26.1f} {median:27.0f} {reached:>8} "
              f"{1e3 * median * seconds_per_sweep:16.1f}")  # fmt: skip
        results[f"{scheme}_round_trips_per_1e4"] = trips
        results[f"{scheme}_median_sweeps_to_ground"] = median

    results["hamon"] = run_hamon(model, ladder, args)
    return results


def run_hamon(model, ladder, args):
    try:
        import hamon
        from hamon.models.ising import IsingEBM, IsingSamplingProgram, hinton_init
    except ImportError:
        print("hamon: not installed (uv pip install hamon); skipped")
        return None
    nodes = [hamon.SpinNode() for _ in range(model.num_sites)]
    edges_array = np.asarray(model.edges)
    edges = [(nodes[i], nodes[j]) for i, j in edges_array]
    ebm = IsingEBM(nodes, edges, jnp.zeros(model.num_sites), jnp.asarray(model.edge_couplings),
                   jnp.asarray(1.0))  # fmt: skip
    colours = np.indices(model.lattice_shape).sum(axis=0).ravel() % 2
    blocks = [hamon.Block([nodes[i] for i in np.flatnonzero(colours == c)]) for c in (0, 1)]
    program = IsingSamplingProgram(ebm, blocks, [])
    betas = jnp.asarray(ladder, jnp.float32)
    init = hinton_init(jax.random.key(5), ebm, blocks, (len(ladder),))

    def go(key):
        return hamon.nrpt(key, ebm, program, init, [], n_rounds=args.steps,
                          gibbs_steps_per_round=1, betas=betas, device="cpu")  # fmt: skip

    _, compile_and_run = timed(go, jax.random.key(6))
    (_, stats), seconds = timed(go, jax.random.key(7))
    rate = args.steps / seconds
    diagnostics = stats["round_trip_diagnostics"]
    trips = float(np.asarray(diagnostics["round_trips_per_chain"]).sum()) / args.steps * 1e4
    print(f"hamon {hamon.__version__} NRPT, 1 ensemble: {rate:9.1f} ladder sweeps/s "
          f"({rate * len(ladder) * model.num_sites / 1e6:6.1f} M spin updates/s); "
          f"round trips / 1e4 sweeps: {trips:.1f}; Lambda {float(diagnostics['Lambda']):.2f}; "
          f"first call (compile + run) {compile_and_run:.1f} s")  # fmt: skip
    return {"sweeps_per_s": rate, "round_trips_per_1e4": trips}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs, L = 8 only")
    parser.add_argument("--sizes", type=int, nargs="*", choices=sorted(SETTINGS))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.quick:
        args.warmup, args.steps, args.ensembles = 500, 2000, 8
        args.reference_ensembles, args.reference_steps = 8, 4000
        sizes = args.sizes or [8]
    else:
        args.warmup, args.steps, args.ensembles = 4000, 10000, 8
        args.reference_ensembles, args.reference_steps = 16, 20000
        sizes = args.sizes or [8, 16]
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}; physsamp {ps.__version__}")
    for length in sizes:
        run_size(length, args)


if __name__ == "__main__":
    main()
