"""Parallel tempering on the 2D ±J Edwards-Anderson spin glass: physsamp's non-reversible PT
against hamon's NRPT on the same instance, ladder and steps, timed in turn in one run.

physsamp runs in the process of the Python that launches the script, on that environment's JAX;
hamon runs as worker processes. Two launches, one per JAX:

    # physsamp on jax 0.10.2 (the project environment, Python 3.11)
    uv run python benchmarks/parallel_tempering.py            # L = 8 and 16 (about 5 minutes)
    uv run python benchmarks/parallel_tempering.py --quick    # shorter runs (about 2 minutes)
    # physsamp on jax 0.12 (Python 3.12, an environment of its own)
    benchmarks/.physsamp-env/bin/python benchmarks/parallel_tempering.py            # (--quick)

jax >= 0.11 needs Python >= 3.12; the project environment is Python 3.11 (the oldest Python
physsamp supports) and so holds jax 0.10.2, while physsamp installed on Python 3.12 gets jax
0.12. Its Python 3.12 environment, outside the project's ``.venv`` (from the repository root):

    uv venv --python 3.12 benchmarks/.physsamp-env
    uv pip install --python benchmarks/.physsamp-env -e .

hamon 0.12 needs Python >= 3.12 too, so it lives in environments of its own, never in
physsamp's; the script runs it as worker processes (``_hamon_worker.py``, JSON lines over a
pipe), one per environment ``benchmarks/.hamon-env*`` (or ``--hamon-python``), and runs
physsamp alone, printing the command, when there is none. hamon with the JAX it pulls in
(0.12), and hamon on jax 0.10.2, the JAX of physsamp's project environment:

    uv venv --python 3.12 benchmarks/.hamon-env
    uv pip install --python benchmarks/.hamon-env "hamon>=0.12,<0.13"
    uv venv --python 3.12 benchmarks/.hamon-env-samejax
    uv pip install --python benchmarks/.hamon-env-samejax "hamon>=0.12,<0.13" \
        "jax==$(uv run python -c 'import jax; print(jax.__version__)')"

(``--python`` also takes an interpreter's path.) All are CPU-only JAX builds; check that
``.physsamp-env`` and ``.hamon-env`` resolved the same JAX (the header prints every side's
Python and JAX; pin ``jax==...`` in one of them if not).

The fair race is physsamp against hamon on the same JAX (the same XLA compiler and runtime)
and the same device: ``.physsamp-env`` against ``.hamon-env`` (both jax 0.12) and the project
environment against ``.hamon-env-samejax`` (both jax 0.10.2). The JAX version alone moves both
libraries' speed by up to 3x, so a race across versions measures the compilers as much as the
samplers. The cross pairs (physsamp on one JAX, hamon on the other) are printed as well, marked
as such, for transparency; the goals are judged on the same-JAX pair.

Instance: couplings ±1 drawn from ``--seed`` on an L x L lattice, periodic (``--open``: open
boundaries), no field, target beta = 3; the edge list and couplings of physsamp's model are
handed to hamon as they are. Ladder: the one physsamp's adaptive warm-up tunes (Syed et al.
2022; 4 ensembles, averaged), the same ladder and number of replicas on both sides.

One step, the same on both sides:

* physsamp: ``pt.build_kernel(block_gibbs.build_kernel(), swap="deo")``: one block Gibbs
  (heat-bath) sweep of every replica over the model's two checkerboard colour classes, then one
  swap phase, the even pairs (k, k+1) on even steps and the odd pairs on odd steps;
* hamon: one round of ``hamon.nrpt(..., gibbs_steps_per_round=1)`` with the same two colour
  classes as blocks, in the same order: one heat-bath sweep of every chain, then one swap pass,
  even pairs on even rounds and odd pairs on odd rounds (its single-pass DEO).

Both count a round trip when a replica reaches the reference (beta = 0) having visited the
target since its last visit to the reference, summed over all replicas of the ensemble, from
the start of the run (the runs start from uniformly random spins, the same on both sides).
The random numbers differ (physsamp's counter-based generator, hamon's ``jax.random``), so the
chains agree in law, not seed by seed. The instance is periodic as ``ps.Ising.lattice`` makes
it by default (``periodic=True``), as in earlier versions of this script.

Per repetition (``--repetitions``, at least 5, default 8: one seed each) every side makes one
timed run of ``steps`` steps of one ensemble from the same fresh random start, the sides one
after the other, never at once, each leading in turn (with one hamon: physsamp first on even
repetitions, hamon first on odd ones), so that a change of machine load hits all of them
alike. Compilation happens before and is reported apart (hamon traces the number of rounds,
so its first call compiles for every length; physsamp compiles for ``steps``). Both are JAX on
the CPU with XLA's default threading (one pool over all cores). Reported per side: steps/s
(best and median over repetitions, wall clock and process CPU time), round trips per step
(mean ± standard error over the repetitions' seeds, and their range), round trips per second
= round trips per step (mean) x steps per second (best, median), and physsamp / hamon. Goals,
on median wall-clock round trips per second against hamon on the same JAX: >= 1x at L = 8,
>= 2x at L = 16 (the cross pairs are printed, not judged); a summary of every pair ends the run.

Then, physsamp only: round trips of reversible swaps (SEO) against DEO, 8 ensembles batched on
the same ladder, and the steps until each ensemble's target first reaches the lowest energy
seen anywhere in the run (not certified to be the ground state).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

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
HAMON_WORKER = Path(__file__).resolve().parent / "_hamon_worker.py"
HAMON_SETUP = (
    "uv venv --python 3.12 benchmarks/.hamon-env && "
    'uv pip install --python benchmarks/.hamon-env "hamon>=0.12,<0.13"'
)


def spin_glass(length: int, seed: int, periodic: bool) -> ps.Ising:
    rng = np.random.default_rng(seed)
    couplings = rng.choice([-1.0, 1.0], size=(2, length, length))
    return ps.Ising.lattice((length, length), coupling=couplings, beta=BETA_MAX, periodic=periodic)


def start(model, betas, key, num_ensembles):
    starts = model.uniform_configuration(key, (num_ensembles, len(betas)))
    ladder = jnp.asarray(betas, jnp.float32)
    return jax.vmap(lambda x: pt.init(x, model, ladder, block_gibbs.init))(starts)


@partial(jax.jit, static_argnames=("step", "num_steps"))
def race(rng_key, step, state, model, num_steps):
    """``num_steps`` PT steps of one ensemble; only the final state comes back."""

    def body(carry, _):
        current, key = carry
        key, key_step = jax.random.split(key)
        current, _ = step(key_step, current, model)
        return (current, key), None

    (final, _), _ = jax.lax.scan(body, (state, rng_key), length=num_steps)
    return final


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


def tune_ladder(model, num_replicas, key, num_ensembles, num_warmup):
    step = pt.build_kernel(block_gibbs.build_kernel())
    key_start, key_warm = jax.random.split(key)
    states = start(model, np.linspace(0.0, BETA_MAX, num_replicas), key_start, num_ensembles)
    keys = jax.random.split(key_warm, num_ensembles)
    begin = time.perf_counter()
    tuned = jax.block_until_ready(
        jax.vmap(lambda k, s: pt.warmup(k, step, s, model, num_warmup))(keys, states)
    )
    seconds = time.perf_counter() - begin
    ladder = np.asarray(tuned.betas, np.float64).mean(axis=0)
    ladder[0], ladder[-1] = 0.0, BETA_MAX
    return ladder, float(np.asarray(tuned.global_barrier).mean()), seconds


class Hamon:
    """A hamon worker process: one request, one answer, both JSON lines."""

    def __init__(self, python: Path):
        self.python = python
        self.process = subprocess.Popen(
            [str(python), str(HAMON_WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.info = self._read()  # hamon, jax, platform, python, prefix
        self.environment = python.parent.parent.name

    def _read(self) -> dict:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the hamon worker stopped (exit code {self.process.poll()})")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"hamon worker: {answer['error']}")
        return answer

    def ask(self, **request) -> dict:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return self._read()

    def close(self) -> None:
        try:
            self.ask(cmd="quit")
        finally:
            self.process.wait(timeout=30)


def hamon_pythons(args) -> list[Path]:
    """The Pythons of hamon's environments: ``--hamon-python``, else every
    ``benchmarks/.hamon-env*`` that exists."""
    if args.hamon_python:
        pythons = [Path(path) for path in args.hamon_python]
    else:
        pythons = sorted(HAMON_WORKER.parent.glob(".hamon-env*/bin/python"))
    missing = [python for python in pythons if not python.exists()]
    if missing or not pythons:
        where = ", ".join(map(str, missing)) or f"{HAMON_WORKER.parent}/.hamon-env*"
        print(f"hamon: no environment at {where}; create one with\n    {HAMON_SETUP}")
    return [python for python in pythons if python.exists()]


def best_and_median(values) -> tuple[float, float]:
    return max(values), statistics.median(values)


def mean_and_error(values) -> tuple[float, float]:
    values = np.asarray(values, np.float64)
    error = values.std(ddof=1) / np.sqrt(values.size) if values.size > 1 else float("nan")
    return float(values.mean()), float(error)


def load() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def environment_name(prefix: str) -> str:
    """An environment's folder relative to the repository (``.venv``, ``benchmarks/...``)."""
    path = Path(prefix).resolve()
    try:
        return str(path.relative_to(HAMON_WORKER.parent.parent))
    except ValueError:
        return str(path)


def same_jax(worker: Hamon) -> bool:
    """Whether a hamon worker runs on physsamp's JAX version and device: the fair race."""
    return (
        worker.info["jax"] == jax.__version__
        and worker.info["platform"] == jax.devices()[0].platform
    )


def run_size(length: int, args, hamons: list[Hamon]) -> dict:
    num_replicas = SETTINGS[length]
    model = spin_glass(length, args.seed, periodic=not args.open)
    num_sites = model.num_sites
    key = jax.random.key(args.seed)
    key_tune, key_race, key_extra = jax.random.split(key, 3)
    steps = args.steps[length]
    boundary = "open" if args.open else "periodic"
    print(
        f"\n== 2D ±J Edwards-Anderson, L = {length} ({num_sites} spins, {boundary}), "
        f"beta 0 .. {BETA_MAX}, {num_replicas} replicas; load {load()} =="
    )

    ladder, barrier, warm_seconds = tune_ladder(
        model, num_replicas, key_tune, num_ensembles=4, num_warmup=args.warmup
    )
    print(
        f"adaptive warm-up ({args.warmup} steps x 4 ensembles, compile included): "
        f"{warm_seconds:.1f} s; global barrier Lambda = {barrier:.2f} (suggested replicas "
        f"{pt.suggested_num_replicas(barrier)}, using {num_replicas})"
    )
    print(f"ladder: {np.array2string(ladder, precision=3, max_line_width=100)}")
    results: dict = {
        "length": length,
        "boundary": boundary,
        "replicas": num_replicas,
        "steps": steps,
        "repetitions": args.repetitions,
        "ladder": ladder.tolist(),
        "warmup_barrier": barrier,
        "load_start": load(),
    }

    physsamp = f"physsamp {ps.__version__} / jax {jax.__version__}"
    step = pt.build_kernel(block_gibbs.build_kernel(generator=args.generator), swap="deo")
    probe = pt.init(
        model.uniform_configuration(key_race, (num_replicas,)), model, ladder, block_gibbs.init
    )
    begin = time.perf_counter()
    compiled = race.lower(key_race, step, probe, model, steps).compile()
    compiles = {physsamp: time.perf_counter() - begin}
    print(
        f"{physsamp} ({jax.devices()[0].platform}, generator {args.generator!r}): compile "
        f"{compiles[physsamp]:.1f} s"
    )

    workers: dict[str, Hamon] = {}
    for worker in hamons:
        info = worker.ask(
            cmd="setup",
            num_sites=num_sites,
            edges=np.asarray(model.edges).tolist(),
            couplings=np.asarray(model.edge_couplings, np.float64).tolist(),
            blocks=[np.asarray(block).tolist() for block in model.blocks],
            betas=ladder.tolist(),
            seed=args.seed,
        )
        name = f"hamon {info['hamon']} / jax {info['jax']}"
        if name in workers or name == physsamp:
            name += f" ({worker.environment})"
        workers[name] = worker
        compiles[name] = info["compile_s"]
        print(
            f"{name} ({info['platform']}, {worker.environment}): compile "
            f"{info['compile_s']:.1f} s, per-call overhead {1e3 * info['overhead_s']:.1f} ms"
        )

    sides = [physsamp, *workers]
    runs: dict[str, list[dict]] = {side: [] for side in sides}
    for repetition in range(args.repetitions):
        key_start, key_run = jax.random.split(jax.random.fold_in(key_race, repetition))
        positions = model.uniform_configuration(key_start, (num_replicas,))
        state = jax.block_until_ready(pt.init(positions, model, ladder, block_gibbs.init))
        shift = repetition % len(sides)
        for side in sides[shift:] + sides[:shift]:  # each side leads in turn
            if side == physsamp:
                cpu, wall = time.process_time(), time.perf_counter()
                final = jax.block_until_ready(compiled(key_run, state, model))
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                runs[side].append(
                    {
                        "wall_s": wall,
                        "cpu_s": cpu,
                        "round_trips": int(final.round_trips),
                        "rejection_rates": np.asarray(final.rejection_rates).tolist(),
                        "energy_target": float(model.energy(final.position)),
                    }
                )
            else:
                seed = 1000 * args.seed + repetition
                runs[side].append(
                    workers[side].ask(
                        cmd="run", seed=seed, num_steps=steps, start=np.asarray(positions).tolist()
                    )
                )
    fair = {side: same_jax(worker) for side, worker in workers.items()}
    results.update(sides=sides, runs=runs, compile_s=compiles, same_jax=fair, load_end=load())
    print(
        f"{args.repetitions} repetitions x {steps} steps per side, one ensemble, in turn; "
        f"load {results['load_start']} before, {results['load_end']} after"
    )
    report(results, num_replicas * num_sites)

    if args.extras:
        results["extras"] = extras(model, ladder, key_extra, args, steps, results)
    return results


def report(results: dict, updates_per_step: int) -> None:
    steps = results["steps"]
    rows: dict[str, dict] = {}
    for side, runs in results["runs"].items():
        wall = [steps / run["wall_s"] for run in runs]
        cpu = [steps / run["cpu_s"] for run in runs]
        trips = [run["round_trips"] / steps for run in runs]
        mean, error = mean_and_error(trips)
        rows[side] = {
            "steps_per_s_wall": best_and_median(wall),
            "steps_per_s_cpu": best_and_median(cpu),
            "round_trips_per_step": (mean, error, min(trips), max(trips)),
            "round_trips_per_s_wall": tuple(mean * rate for rate in best_and_median(wall)),
            "round_trips_per_s_cpu": tuple(mean * rate for rate in best_and_median(cpu)),
            "barrier": float(np.mean([np.sum(run["rejection_rates"]) for run in runs])),
            "lowest_energy": min(run["energy_target"] for run in runs),
        }
    results["summary"] = rows
    sides = results["sides"]
    physsamp, others = sides[0], sides[1:]
    width = max(24, *(len(side) + 2 for side in sides))
    print(
        f"{'':32}"
        + "".join(f"{side:>{width}}" for side in sides)
        + "".join(f"{'/ ' + side.split(' / ')[1]:>16}" for side in others)
    )

    def line(label, key, index, scale=1.0, digits=0):
        cells = [rows[side][key][index] * scale for side in sides]
        ratios = [cells[0] / cell for cell in cells[1:]]
        print(
            f"{label:32}"
            + "".join(f"{cell:{width},.{digits}f}" for cell in cells)
            + "".join(f"{ratio:15.2f}x" for ratio in ratios)
        )

    line("steps/s, wall, best", "steps_per_s_wall", 0)
    line("steps/s, wall, median", "steps_per_s_wall", 1)
    line("steps/s, CPU, best", "steps_per_s_cpu", 0)
    line("steps/s, CPU, median", "steps_per_s_cpu", 1)
    line("M spin updates/s, wall, best", "steps_per_s_wall", 0, updates_per_step / 1e6, 1)
    cells = []
    for side in sides:
        mean, error, low, high = rows[side]["round_trips_per_step"]
        cells.append(f"{1e4 * mean:.1f} ± {1e4 * error:.1f} [{1e4 * low:.0f}-{1e4 * high:.0f}]")
    ratios = [
        rows[physsamp]["round_trips_per_step"][0] / rows[side]["round_trips_per_step"][0]
        for side in others
    ]
    print(
        f"{'round trips / 1e4 steps':32}"
        + "".join(f"{cell:>{width}}" for cell in cells)
        + "".join(f"{ratio:15.2f}x" for ratio in ratios)
    )
    line("round trips/s, wall, best", "round_trips_per_s_wall", 0, digits=1)
    line("round trips/s, wall, median", "round_trips_per_s_wall", 1, digits=1)
    line("round trips/CPU s, best", "round_trips_per_s_cpu", 0, digits=1)
    line("round trips/CPU s, median", "round_trips_per_s_cpu", 1, digits=1)
    print(
        f"{'Lambda (sum of rejections)':32}"
        + "".join(f"{rows[side]['barrier']:{width}.2f}" for side in sides)
    )
    print(
        f"{'lowest target energy':32}"
        + "".join(f"{rows[side]['lowest_energy']:{width}.0f}" for side in sides)
    )
    goal = 2.0 if results["length"] >= 16 else 1.0
    results["goal"] = goal
    results["ratios"] = {}
    for side in others:
        median, best = (
            rows[physsamp]["round_trips_per_s_wall"][index]
            / rows[side]["round_trips_per_s_wall"][index]
            for index in (1, 0)
        )
        results["ratios"][side] = {"median": median, "best": best}
        if results["same_jax"][side]:
            verdict = "met" if median >= goal else "NOT met"
            print(
                f"goal round trips/s >= {goal:g}x {side}, same JAX (median, wall): "
                f"{median:.2f}x (best {best:.2f}x), {verdict}"
            )
        else:
            print(
                f"cross pair, not judged: physsamp on jax {jax.__version__} / {side} "
                f"(median, wall): {median:.2f}x (best {best:.2f}x)"
            )


def extras(model, ladder, key, args, steps, results) -> dict:
    """DEO against SEO round trips (8 ensembles batched) and steps to the lowest energy."""
    out = {}
    energies_by_scheme = {}
    for scheme, key_scheme in zip(("deo", "seo"), jax.random.split(key), strict=True):
        step = pt.build_kernel(block_gibbs.build_kernel(generator=args.generator), swap=scheme)
        key_start, key_run = jax.random.split(key_scheme)
        states = start(model, ladder, key_start, args.ensembles)
        compiled = advance.lower(key_run, step, states, model, steps).compile()
        begin = time.perf_counter()
        final, energies = jax.block_until_ready(compiled(key_run, states, model))
        seconds = time.perf_counter() - begin
        energies_by_scheme[scheme] = np.asarray(energies)
        out[scheme] = {
            "round_trips_per_step": mean_and_error(np.asarray(final.round_trips) / steps),
            "steps_per_s": args.ensembles * steps / seconds,
        }
    lowest = min(float(energies.min()) for energies in energies_by_scheme.values())
    lowest = min(lowest, *(row["lowest_energy"] for row in results["summary"].values()))
    out["lowest_energy"] = lowest
    print(
        f"physsamp, {args.ensembles} ensembles batched, {steps} steps each; lowest energy seen "
        f"anywhere {lowest:.0f} ({lowest / model.num_sites:.4f} per spin)"
    )
    print(
        f"{'scheme':>7} {'round trips / 1e4 steps':>24} {'steps to lowest (median)':>26} "
        f"{'reached':>8} {'steps/s (batched)':>18}"
    )
    for scheme, energies in energies_by_scheme.items():
        reached = energies <= lowest + 1e-3
        hits = np.where(reached.any(axis=0), reached.argmax(axis=0) + 1.0, np.inf)
        median = float(np.median(hits))
        mean, error = out[scheme]["round_trips_per_step"]
        out[scheme]["median_steps_to_lowest"] = median
        print(
            f"{scheme:>7} {f'{1e4 * mean:.1f} ± {1e4 * error:.1f}':>24} {median:26.0f} "
            f"{f'{np.isfinite(hits).sum()}/{args.ensembles}':>8} "
            f"{out[scheme]['steps_per_s']:18,.0f}"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (about 2 minutes)")
    parser.add_argument("--sizes", type=int, nargs="*", choices=sorted(SETTINGS))
    parser.add_argument("--seed", type=int, default=0, help="the instance's and runs' seed")
    parser.add_argument("--open", action="store_true", help="open instead of periodic boundaries")
    parser.add_argument("--repetitions", type=int, help="timed runs per side (>= 5, default 8)")
    parser.add_argument(
        "--no-extras",
        dest="extras",
        action="store_false",
        help="skip the SEO and lowest-energy measurements",
    )
    parser.add_argument(
        "--hamon-python",
        action="append",
        help="the Python of a hamon environment (repeatable; default: every "
        "benchmarks/.hamon-env*/bin/python)",
    )
    parser.add_argument(
        "--generator",
        default="hash",
        choices=("hash", "jax"),
        help="physsamp's block Gibbs random numbers (default hash)",
    )
    parser.add_argument("--json", help="also write the measurements to this file")
    args = parser.parse_args()
    args.repetitions = args.repetitions or 8
    if args.quick:
        args.warmup, args.ensembles, args.steps = 1000, 8, {8: 10_000, 16: 5_000}
    else:
        args.warmup, args.ensembles, args.steps = 4000, 8, {8: 40_000, 16: 20_000}
    if args.repetitions < 5:
        parser.error("--repetitions must be at least 5")
    sizes = args.sizes or [8, 16]
    print(f"{os.cpu_count()} CPUs; load {load()}; {shlex.join([sys.executable, *sys.argv])}")
    print(
        f"physsamp {ps.__version__} / jax {jax.__version__} on {jax.devices()[0].platform}, "
        f"Python {platform.python_version()} ({environment_name(sys.prefix)}), in this process"
    )
    hamons = [Hamon(python) for python in hamon_pythons(args)]
    for worker in hamons:
        info = worker.info
        pair = "same JAX: the fair race" if same_jax(worker) else "other JAX: cross pair"
        print(
            f"hamon {info['hamon']} / jax {info['jax']} on {info['platform']}, "
            f"Python {info['python']} ({environment_name(info['prefix'])}), worker; {pair}"
        )
    try:
        results = [run_size(length, args, hamons) for length in sizes]
    finally:
        for worker in hamons:
            worker.close()
    summary(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


def summary(results: list[dict]) -> None:
    """physsamp / hamon round trips per second, every size and pair, the goals on the same JAX."""
    if not any(result.get("ratios") for result in results):
        return
    print(f"\nround trips/s, physsamp (jax {jax.__version__}) / hamon, median (best), wall:")
    for result in results:
        for side, ratio in result["ratios"].items():
            if result["same_jax"][side]:
                verdict = "met" if ratio["median"] >= result["goal"] else "NOT met"
                note = f"same JAX, goal >= {result['goal']:g}x {verdict}"
            else:
                note = "cross pair"
            print(
                f"  L = {result['length']:2d} vs {side}: {ratio['median']:.2f}x "
                f"({ratio['best']:.2f}x); {note}"
            )


if __name__ == "__main__":
    main()
