"""hamon's NRPT as a worker process for ``parallel_tempering.py``; run with the Python of the
separate hamon environment (hamon 0.12 needs Python >= 3.12; physsamp's project environment has
Python 3.11):

    uv venv --python 3.12 benchmarks/.hamon-env
    uv pip install --python benchmarks/.hamon-env "hamon>=0.12,<0.13"
    benchmarks/.hamon-env/bin/python benchmarks/_hamon_worker.py    # then JSON lines on stdin

Once started, the worker answers ``{"ready": true, "hamon", "jax", "platform", "python",
"prefix"}`` (the versions it runs on and its environment); then one JSON object per line on
stdin, one answer per line on stdout (``{"error": ...}`` when a command fails; anything else
hamon prints goes to stderr):

* ``{"cmd": "setup", "num_sites", "edges": [[i, j], ...], "couplings": [...], "blocks":
  [[site, ...], ...], "betas": [...], "seed"}``: the Ising model E(s) = -sum J_ij s_i s_j,
  the colour classes of the Gibbs sweep in update order, and the ladder (ascending). Runs
  hamon's NRPT once for 2 rounds to compile it, then once more to measure the per-call
  overhead, and answers ``{"hamon", "jax", "platform", "compile_s", "overhead_s"}``.
* ``{"cmd": "run", "seed", "num_steps", "start": [[+-1, ...] per replica] (optional)}``: one
  timed call of ``hamon.nrpt`` for ``num_steps`` rounds from ``start`` (replica r at ladder
  slot r; uniform random spins when absent). Answers ``{"wall_s", "cpu_s", "round_trips",
  "restarts", "rejection_rates", "energy_target"}``: wall-clock and process CPU seconds of
  the call, including its return to Python; round trips and restarts summed over all
  replicas; the mean rejection of each neighbouring pair over the attempts made; the energy
  of the final configuration at the target slot.
* ``{"cmd": "quit"}``.

One hamon round (``hamon.nrpt._nrpt_rounds``) is ``gibbs_steps_per_round`` sweeps over the
free blocks of every chain, a recomputation of every chain's energy, then one swap pass: the
even pairs on even rounds, the odd pairs on odd rounds (counted from 0 in every call). With
``gibbs_steps_per_round=1`` and the two checkerboard colours as blocks it is physsamp's PT
step: one checkerboard sweep of every replica and one DEO swap phase.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time

import numpy as np


def _load():
    import hamon
    import jax
    import jax.numpy as jnp
    from hamon.models.ising import IsingEBM, IsingSamplingProgram

    return hamon, jax, jnp, IsingEBM, IsingSamplingProgram


class Worker:
    def __init__(self) -> None:
        self.hamon, self.jax, self.jnp, self.IsingEBM, self.IsingSamplingProgram = _load()
        self.ready = False

    def setup(self, request: dict) -> dict:
        hamon, jax, jnp = self.hamon, self.jax, self.jnp
        num_sites = int(request["num_sites"])
        edges = np.asarray(request["edges"], dtype=np.int64).reshape(-1, 2)
        couplings = np.asarray(request["couplings"], dtype=np.float32)
        self.edges, self.couplings = edges, couplings.astype(np.float64)
        self.nodes = [hamon.SpinNode() for _ in range(num_sites)]
        node_edges = [(self.nodes[i], self.nodes[j]) for i, j in edges.tolist()]
        # beta = 1: nrpt's temperature-linear mode scales the interactions by each chain's beta
        self.ebm = self.IsingEBM(
            self.nodes,
            node_edges,
            jnp.zeros(num_sites, jnp.float32),
            jnp.asarray(couplings),
            jnp.asarray(1.0, jnp.float32),
        )
        self.block_sites = [np.asarray(block, dtype=np.int64) for block in request["blocks"]]
        blocks = [hamon.Block([self.nodes[i] for i in block]) for block in self.block_sites]
        self.program = self.IsingSamplingProgram(self.ebm, blocks, [])
        self.betas = jnp.asarray(request["betas"], jnp.float32)
        self.num_sites = num_sites
        self.ready = True
        seed = int(request.get("seed", 0))
        begin = time.perf_counter()
        self._call(jax.random.key(seed), self._random_start(seed), 2)
        first = time.perf_counter() - begin
        begin = time.perf_counter()
        self._call(jax.random.key(seed + 1), self._random_start(seed + 1), 2)
        overhead = time.perf_counter() - begin
        return {
            "hamon": hamon.__version__,
            "jax": jax.__version__,
            "platform": jax.devices()[0].platform,
            "compile_s": first - overhead,
            "overhead_s": overhead,
        }

    def _random_start(self, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        return rng.choice(np.array([-1, 1], np.int8), size=(len(self.betas), self.num_sites))

    def _call(self, key, start: np.ndarray, num_steps: int):
        up = np.asarray(start) > 0
        init = [self.jnp.asarray(up[:, sites]) for sites in self.block_sites]
        states, stats = self.hamon.nrpt(
            key,
            self.ebm,
            self.program,
            init,
            [],
            n_rounds=num_steps,
            gibbs_steps_per_round=1,
            betas=self.betas,
            device="cpu",
        )
        return self.jax.block_until_ready((states, stats))

    def run(self, request: dict) -> dict:
        if not self.ready:
            raise RuntimeError("run before setup")
        seed = int(request["seed"])
        num_steps = int(request["num_steps"])
        start = request.get("start")
        start = self._random_start(seed) if start is None else np.asarray(start, np.int8)
        key = self.jax.random.key(seed)
        cpu, wall = time.process_time(), time.perf_counter()
        states, stats = self._call(key, start, num_steps)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        diagnostics = stats["round_trip_diagnostics"]
        target = np.zeros(self.num_sites)
        for sites, values in zip(self.block_sites, states[-1], strict=True):
            target[sites] = np.where(np.asarray(values), 1.0, -1.0)
        return {
            "wall_s": wall,
            "cpu_s": cpu,
            "round_trips": int(np.asarray(diagnostics["round_trips_per_chain"]).sum()),
            "restarts": int(np.asarray(diagnostics["restarts_per_chain"]).sum()),
            "rejection_rates": np.asarray(stats["rejection_rates"], np.float64).tolist(),
            "energy_target": self._energy(target),
        }

    def _energy(self, spins: np.ndarray) -> float:
        i, j = self.edges[:, 0], self.edges[:, 1]
        return float(-(self.couplings * spins[i] * spins[j]).sum())


def main() -> None:
    # hamon and jax may log to stdout; keep stdout for the answers only.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    worker = Worker()
    ready = {
        "ready": True,
        "hamon": worker.hamon.__version__,
        "jax": worker.jax.__version__,
        "platform": worker.jax.devices()[0].platform,
        "python": platform.python_version(),
        "prefix": sys.prefix,
    }
    answers.write(json.dumps(ready) + "\n")
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            command = request.get("cmd")
            if command == "quit":
                answers.write(json.dumps({"bye": True}) + "\n")
                break
            if command == "setup":
                answer = worker.setup(request)
            elif command == "run":
                answer = worker.run(request)
            else:
                raise ValueError(f"unknown command {command!r}")
        except Exception as error:  # report and carry on: the caller decides
            answer = {"error": f"{type(error).__name__}: {error}"}
        answers.write(json.dumps(answer) + "\n")


if __name__ == "__main__":
    main()
