import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest
from checks import run_with_host_devices
from numpyro.infer import MCMC, Predictive
from stats import assert_matches_exact

import physsamp as ps
from physsamp import exact

MODEL = ps.Ising(nx.cycle_graph(7), coupling=0.8, field=0.2, beta=1.0)


def ising_model():
    numpyro.sample("spins", MODEL)


def run(kernel, chain_method="vectorized", num_chains=2, **kwargs):
    kwargs = {"num_warmup": 50, "num_samples": 500, **kwargs}
    mcmc = MCMC(kernel, num_chains=num_chains, chain_method=chain_method, progress_bar=False,
                **kwargs)  # fmt: skip
    mcmc.run(jax.random.PRNGKey(0))
    return mcmc


@pytest.mark.parametrize(
    "chain_method", [pytest.param("sequential", marks=pytest.mark.slow), "vectorized"]
)
def test_mcmc_chain_methods_agree_and_match_exact(chain_method):
    mcmc = run(ps.infer.BlockGibbs(ising_model), chain_method, num_chains=4, num_samples=2500)
    spins = mcmc.get_samples(group_by_chain=True)["spins"]
    assert spins.shape == (4, 2500, 7) and spins.dtype == np.int8
    assert_matches_exact(MODEL, np.asarray(spins))


@pytest.mark.slow
def test_parallel_chain_method_in_subprocess(tmp_path):
    """chain_method="parallel" needs several host devices, set before jax starts."""
    script = """
        import jax, numpyro, networkx as nx, physsamp as ps
        from numpyro.infer import MCMC
        def model():
            numpyro.sample('spins', ps.Ising(nx.cycle_graph(5), beta=0.5))
        mcmc = MCMC(ps.infer.BlockGibbs(model), num_warmup=5, num_samples=20, num_chains=2,
                    chain_method='parallel', progress_bar=False)
        mcmc.run(jax.random.PRNGKey(0))
        assert mcmc.get_samples(group_by_chain=True)['spins'].shape == (2, 20, 5)
        assert ps.to_inference_data(mcmc).posterior['energy'].shape == (2, 20)
        print('ok')
    """
    run_with_host_devices(script, tmp_path)


def test_thinning_and_continuation():
    kernel = ps.infer.BlockGibbs(ising_model)
    mcmc = MCMC(kernel, num_warmup=20, num_samples=40, thinning=4, progress_bar=False)
    mcmc.run(jax.random.PRNGKey(1))
    first = mcmc.get_samples()["spins"]
    assert first.shape == (10, 7)
    mcmc.post_warmup_state = mcmc.last_state
    mcmc.run(mcmc.post_warmup_state.rng_key)
    second = mcmc.get_samples()["spins"]
    assert second.shape == (10, 7)
    assert int(mcmc.last_state.i) == 20 + 40 + 40


@pytest.mark.slow
def test_rbm_and_boltzmann_sites_together():
    rng = np.random.default_rng(0)
    rbm = ps.RBM(rng.normal(size=(5, 3)), rng.normal(size=5), rng.normal(size=3))
    bm = ps.BoltzmannMachine(nx.cycle_graph(4), weight=-0.5, bias=0.3)

    def model():
        numpyro.sample("visible", rbm)
        numpyro.sample("units", bm)
        numpyro.deterministic("active", numpyro.sample("units_copy", bm, obs=np.ones(4)).sum())

    mcmc = run(ps.infer.BlockGibbs(model), num_chains=4, num_samples=2500)
    samples = mcmc.get_samples(group_by_chain=True)
    assert_matches_exact(rbm, np.asarray(samples["visible"]))
    assert_matches_exact(bm, np.asarray(samples["units"]))
    assert set(mcmc.get_extra_fields()["stats"]) == {"visible.flip_fraction",
                                                     "units.flip_fraction"}  # fmt: skip
    posterior = ps.to_inference_data(mcmc).posterior  # observables prefixed by their site
    assert set(posterior.data_vars) == {
        "visible_free_energy", "visible_visible_activity", "visible_hidden_activation",
        "units_energy", "units_magnetization", "units_abs_magnetization", "active"}  # fmt: skip


def test_initial_values_from_init_params():
    start = np.ones(7, dtype=np.int8)
    mcmc = MCMC(ps.infer.BlockGibbs(ising_model), num_warmup=0, num_samples=1, progress_bar=False)
    mcmc.run(jax.random.PRNGKey(0), init_params={"spins": start})
    assert mcmc.get_samples()["spins"].shape == (1, 7)


def test_latent_parameters_are_refused():
    def model():
        beta = numpyro.sample("beta", dist.Uniform(0.1, 1.0))
        numpyro.sample("spins", ps.Ising(nx.cycle_graph(4), beta=beta))

    with pytest.raises(ValueError, match=r"samples physsamp sites only|doubly intractable"):
        run(ps.infer.BlockGibbs(model))


def test_child_that_couples_spins_is_refused():
    def model():
        spins = numpyro.sample("spins", MODEL)
        blurred = spins + 0.3 * jnp.roll(spins, 1)
        numpyro.sample("noisy", dist.Normal(blurred, 1.0).to_event(1), obs=np.zeros(7))

    with pytest.raises(ValueError, match="'noisy' couples the units of physsamp site 'spins'"):
        run(ps.infer.BlockGibbs(model))


def test_model_without_physsamp_site_is_refused():
    def model():
        numpyro.sample("x", dist.Normal())

    with pytest.raises(ValueError, match="no latent physsamp site"):
        run(ps.infer.BlockGibbs(model))


def test_plate_around_physsamp_site_is_refused():
    def model():
        with numpyro.plate("copies", 3):
            numpyro.sample("spins", MODEL)

    with pytest.raises(ValueError, match="plates"):
        run(ps.infer.BlockGibbs(model))


def test_predictive_fails_with_a_message():
    with pytest.raises(NotImplementedError, match="cannot draw exact samples"):
        Predictive(ising_model, num_samples=2)(jax.random.PRNGKey(0))


@pytest.mark.slow
def test_to_inference_data_observables_and_netcdf(tmp_path):
    import arviz as az

    def model():
        numpyro.sample("spins", ps.Ising.lattice((6, 6), beta=0.3))

    mcmc = run(ps.infer.BlockGibbs(model), num_samples=200)
    idata = ps.to_inference_data(mcmc, configurations=True)
    posterior = idata.posterior
    assert set(posterior.data_vars) == {"energy", "magnetization", "abs_magnetization"}
    np.testing.assert_allclose(posterior["abs_magnetization"], abs(posterior["magnetization"]))
    summary = az.summary(idata, var_names=["energy", "abs_magnetization"])
    assert (summary["ess_bulk"] > 50).all()
    assert {"lp", "flip_fraction"} <= set(idata.sample_stats.data_vars)
    spins = mcmc.get_samples(group_by_chain=True)["spins"]
    np.testing.assert_array_equal(idata.configurations["spins"], spins)
    path = tmp_path / "run.nc"
    idata.to_netcdf(path)
    loaded = az.from_netcdf(path)
    np.testing.assert_array_equal(loaded.posterior["energy"], posterior["energy"])
    np.testing.assert_array_equal(loaded.configurations["spins"], spins)
    light = ps.to_inference_data(mcmc)
    assert "configurations" not in light.groups() and "spins" not in light.posterior


def test_frozen_chain_warns():
    model = ps.Ising.lattice((8, 8), beta=5.0)

    def frozen():
        numpyro.sample("spins", model)

    mcmc = MCMC(ps.infer.BlockGibbs(frozen), num_warmup=0, num_samples=20, progress_bar=False)
    mcmc.run(jax.random.PRNGKey(0), init_params={"spins": np.ones(64, dtype=np.int8)})
    with pytest.warns(RuntimeWarning, match="frozen") as record:
        ps.to_inference_data(mcmc)
    assert len(record) == 1  # one warning for the site, not one per observable


def test_exact_energy_of_small_lattice_via_numpyro():
    model = ps.Ising.lattice((4, 4), beta=0.4)

    def numpyro_model():
        numpyro.sample("spins", model)

    mcmc = run(ps.infer.BlockGibbs(numpyro_model), num_chains=4, num_samples=2000)
    energy = ps.to_inference_data(mcmc).posterior["energy"].values
    from stats import assert_mean_close

    assert_mean_close(energy, exact.mean_energy(model) / model.num_sites)
