"""physsamp.diagnostics: what ``ps.to_inference_data`` puts where (observables in the
posterior, configurations on request in their own group), the observables of each kind of
model against hand and numpy computations, and their compilation once per model structure."""

import functools
import importlib
import sys

import arviz as az
import jax
import networkx as nx
import numpy as np
import numpyro
import pytest
from numpyro.infer import MCMC

import physsamp as ps
from physsamp import diagnostics

ISING_VARIABLES = {"energy", "magnetization", "abs_magnetization"}
PATTERNS = [[1, 1, -1, -1], [1, -1, 1, -1]]
RNG = np.random.default_rng(3)
WEIGHTS, VISIBLE_BIAS, HIDDEN_BIAS = (
    RNG.normal(0, 1, (5, 3)),
    RNG.normal(0, 1, 5),
    RNG.normal(0, 1, 3),
)
RBM_BETA = 0.8


def sample(model_fn, num_samples, num_chains, seed):
    mcmc = MCMC(ps.infer.BlockGibbs(model_fn), num_warmup=10, num_samples=num_samples,
                num_chains=num_chains, chain_method="vectorized", progress_bar=False)  # fmt: skip
    mcmc.run(jax.random.key(seed))
    return mcmc


def pinned_and_frozen_units() -> ps.Ising:
    """Six free spins on a ring; sites 6 and 7 pinned up by a strong field (constant in every
    chain); sites 8 and 9 so strongly coupled that block Gibbs never flips them (constant in
    each chain, of either sign: symmetric between chains)."""
    graph = nx.cycle_graph(6)
    graph.add_nodes_from([6, 7])
    graph.add_edge(8, 9)
    coupling = [20.0 if edge == (8, 9) else 0.5 for edge in graph.edges]
    field = [20.0 if node in (6, 7) else 0.0 for node in graph.nodes]
    return ps.Ising(graph, coupling=coupling, field=field, beta=1.0)


@functools.cache
def ising_run():
    """One run shared by the tests of a single Ising site."""
    model = pinned_and_frozen_units()

    def model_fn():
        numpyro.sample("spins", model)

    return sample(model_fn, num_samples=60, num_chains=4, seed=1)


def hopfield_run():
    def model_fn():
        numpyro.sample("s", ps.Hopfield.from_patterns(PATTERNS, beta=0.5))

    return sample(model_fn, num_samples=40, num_chains=2, seed=0)


def rbm_run():
    def model_fn():
        numpyro.sample("v", ps.RBM(WEIGHTS, VISIBLE_BIAS, HIDDEN_BIAS, beta=RBM_BETA))

    return sample(model_fn, num_samples=40, num_chains=2, seed=0)


def test_default_posterior_holds_the_observables_only():
    mcmc = ising_run()
    idata = ps.to_inference_data(mcmc)
    assert set(idata.groups()) == {"posterior", "sample_stats"}
    assert set(idata.posterior.data_vars) == ISING_VARIABLES
    assert set(idata.posterior.dims) == {"chain", "draw"}  # no leftover site dimension
    assert set(az.summary(idata).index) == ISING_VARIABLES  # what plot_trace shows too
    spins = np.asarray(mcmc.get_samples(group_by_chain=True)["spins"], np.float64)
    np.testing.assert_allclose(idata.posterior["magnetization"], spins.mean(-1), atol=1e-6)


def test_configurations_on_request_in_their_own_group(tmp_path):
    mcmc = ising_run()
    idata = ps.to_inference_data(mcmc, configurations=True)
    assert set(idata.posterior.data_vars) == ISING_VARIABLES
    spins = idata.configurations["spins"]
    assert spins.dims[:2] == ("chain", "draw") and spins.dtype == np.int8
    np.testing.assert_array_equal(spins, mcmc.get_samples(group_by_chain=True)["spins"])
    path = tmp_path / "run.nc"
    idata.to_netcdf(path)
    np.testing.assert_array_equal(az.from_netcdf(path).configurations["spins"], spins)
    with pytest.warns(DeprecationWarning, match="configurations=True"):
        old = ps.to_inference_data(mcmc, include_spins=True)
    np.testing.assert_array_equal(old.configurations["spins"], spins)
    assert "spins" not in old.posterior


def test_constant_and_symmetric_units_raise_no_warning():
    """The test suite turns warnings into errors: converting and summarising must be silent,
    although ArviZ warns on the units themselves."""
    idata = ps.to_inference_data(ising_run(), configurations=True)
    units = idata.configurations["spins"].values
    assert (units[:, :, [6, 7]] == 1).all()
    pair = units[:, :, 8]
    assert (units[:, :, 9] == pair).all() and (pair == pair[:, :1]).all()
    assert len(np.unique(pair[:, 0])) == 2, "the frozen pair should differ between chains"
    with pytest.warns(RuntimeWarning):  # what a posterior holding the units would give
        az.summary(idata, group="configurations")
    summary = az.summary(idata)
    assert set(summary.index) == ISING_VARIABLES
    assert np.isfinite(summary["r_hat"]).all()


@pytest.mark.slow
def test_hopfield_overlaps_match_a_hand_computation():
    idata = ps.to_inference_data(hopfield_run(), configurations=True)
    assert set(idata.posterior.data_vars) == ISING_VARIABLES | {"overlap"}
    overlap = idata.posterior["overlap"]
    assert overlap.dims == ("chain", "draw", "pattern")
    assert overlap["pattern"].values.tolist() == [0, 1]
    s = idata.configurations["s"].values
    chains, draws, num_sites = s.shape
    by_hand = np.zeros((chains, draws, len(PATTERNS)))
    for c in range(chains):
        for t in range(draws):
            for mu, xi in enumerate(PATTERNS):
                by_hand[c, t, mu] = sum(xi[i] * int(s[c, t, i]) for i in range(num_sites)) / 4
    np.testing.assert_allclose(overlap.values, by_hand, atol=1e-6)
    assert len(set(by_hand.ravel().tolist())) > 2  # the chains moved


def test_rbm_summaries_match_numpy():
    idata = ps.to_inference_data(rbm_run(), configurations=True)
    posterior = idata.posterior
    assert set(posterior.data_vars) == {"free_energy", "visible_activity", "hidden_activation"}
    v = idata.configurations["v"].values.astype(np.float64)
    hidden_input = RBM_BETA * (v @ WEIGHTS + HIDDEN_BIAS)
    free_energy = -(v @ VISIBLE_BIAS) - np.logaddexp(0.0, hidden_input).sum(-1) / RBM_BETA
    np.testing.assert_allclose(posterior["free_energy"], free_energy / 5, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(posterior["visible_activity"], v.mean(-1), atol=1e-6)
    activation = (1.0 / (1.0 + np.exp(-hidden_input))).mean(-1)
    np.testing.assert_allclose(posterior["hidden_activation"], activation, rtol=1e-5)


def test_observables_by_kind_of_model():
    net = ps.Hopfield.from_patterns(PATTERNS)
    x = np.array([[PATTERNS[0], np.negative(PATTERNS[1])]], np.int8)  # [1, 2, sites]
    values = diagnostics.observables(net, x)
    assert set(values) == ISING_VARIABLES | {"overlap"}
    np.testing.assert_allclose(values["overlap"], [[[1.0, 0.0], [0.0, -1.0]]], atol=1e-7)
    rbm = ps.RBM(WEIGHTS, VISIBLE_BIAS, HIDDEN_BIAS)
    assert set(diagnostics.observables(rbm, np.zeros((3, 5), np.int8))) == {
        "free_energy", "visible_activity", "hidden_activation"}  # fmt: skip


def test_observables_compile_once_per_model_structure(monkeypatch):
    model = ps.Ising.lattice((6, 10), coupling=0.7, beta=0.3)  # a structure no other test uses
    rng = np.random.default_rng(0)
    draws = [np.where(rng.random(shape) < 0.5, -1, 1).astype(np.int8)
             for shape in [(2, 10, 60), (3, 17, 60), (1, 1, 60)]]  # fmt: skip
    diagnostics.observables(model, draws[0])
    compiled = diagnostics._observables_jit._cache_size()
    for x in draws:
        diagnostics.observables(model, x)
        diagnostics.observables(model.with_beta(0.9), x.astype(np.int32))
    assert diagnostics._observables_jit._cache_size() == compiled
    # chunks of 8 configurations: 51 rows span 7 chunks, the last one padded
    monkeypatch.setattr(diagnostics, "_CHUNK_UNITS", 8 * 60)
    chunked = diagnostics.observables(model, draws[1])
    assert chunked["energy"].shape == (3, 17)
    np.testing.assert_allclose(chunked["energy"], model.energy(draws[1]) / 60, rtol=1e-6)
    np.testing.assert_allclose(chunked["magnetization"], draws[1].mean(-1), atol=1e-6)


def test_lattice_exact_is_reachable_from_the_package(monkeypatch):
    """``import physsamp as ps`` alone gives ``ps.lattice_exact``: the package's own import
    runs again with the module forgotten."""
    monkeypatch.delitem(sys.modules, "physsamp.lattice_exact")
    monkeypatch.delattr(ps, "lattice_exact")
    importlib.reload(ps)
    assert "lattice_exact" in ps.__all__
    expected = ps.exact.log_partition(ps.Ising.lattice((4, 4), beta=0.3))
    assert ps.lattice_exact.ising2d_log_partition(4, 4, 0.3) == pytest.approx(expected, rel=1e-6)
