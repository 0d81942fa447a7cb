"""The job of the multi-process tests: AIS on every path and MCMC chains, run either by one
process (``single``) or by two processes under ``jax.distributed`` (``worker``). Results are
written by process 0 to an npz file that the test compares.

    python multiprocess_job.py single OUT
    python multiprocess_job.py worker PROCESS_ID PORT OUT
"""

import sys

import jax


def keep_gloo_on_loopback() -> None:
    """jax builds its CPU collectives (gloo over TCP) with the machine's hostname; the tests
    keep every connection on 127.0.0.1."""
    from jax._src.lib import _jax

    make = _jax.make_gloo_tcp_collectives

    def on_loopback(distributed_client, **_):
        return make(distributed_client=distributed_client, hostname="127.0.0.1")

    _jax.make_gloo_tcp_collectives = on_loopback


def job(out: str) -> None:
    import networkx as nx
    import numpy as np
    import numpyro
    from numpyro.infer import MCMC

    import physsamp as ps

    devices = jax.devices()
    key = jax.random.key(7)
    options = {"num_betas": 40, "num_runs": 8, "progress_bar": False, "devices": devices}
    lattice = ps.Ising.lattice((8, 8), beta=0.4)
    cycle = ps.Ising(nx.cycle_graph(9), coupling=0.7, field=0.1, beta=0.8)
    rbm = ps.RBM(np.random.default_rng(0).normal(0, 0.5, (10, 4)), 0.1, -0.1)
    results = {}
    for name, model, kernel in [("lattice", lattice, None), ("rbm", rbm, None),
                                ("generic", cycle, ps.infer.SwendsenWang)]:  # fmt: skip
        result = ps.infer.ais_log_partition(model, key, kernel=kernel, **options)
        results[f"{name}_log_weights"] = result.log_weights
        results[f"{name}_positions"] = result.final_positions
    bounds = ps.infer.ais_bounds(cycle, key, **options)
    results["bounds"] = np.array([bounds.lower.log_z, bounds.upper.log_z])
    data = np.random.default_rng(1).integers(0, 2, (5, 10))
    likelihood = ps.infer.rbm_log_likelihood(rbm, data, key, **options)
    results["rbm_log_likelihood"] = np.asarray(likelihood.mean)

    def model():
        numpyro.sample("spins", lattice)

    mcmc = MCMC(ps.infer.BlockGibbs(model), num_warmup=10, num_samples=20, num_chains=2,
                chain_method="vectorized", progress_bar=False)  # fmt: skip
    mcmc.run(ps.process_key(jax.random.key(3)))
    idata = ps.to_inference_data(mcmc)
    idata.posterior["check64"] = idata.posterior["energy"].astype(np.float64) + 1e-12
    gathered = ps.gather_inference_data(idata)
    results["energy"] = gathered.posterior["energy"].values
    results["check64"] = gathered.posterior["check64"].values
    if jax.process_index() == 0:
        np.savez(out, **results)
    print("ok", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "worker":
        process_id, port, out = int(sys.argv[2]), sys.argv[3], sys.argv[4]
        keep_gloo_on_loopback()
        jax.distributed.initialize(f"127.0.0.1:{port}", num_processes=2, process_id=process_id)
    else:
        out = sys.argv[2]
    job(out)
