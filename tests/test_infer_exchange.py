"""The exchange algorithm against exact posteriors of beta (Kaufman's log Z) and a joint
posterior by enumeration."""

import jax
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest
from numpyro.infer import MCMC, NUTS, Gibbs
from posterior_exact import beta_posterior, beta_posterior_from_log_likelihood, joint_posterior
from stats import assert_mean_close, assert_means_close, effective_sample_size

import physsamp as ps


def observed_configuration(side: int, beta: float, seed: int, count: int = 1) -> np.ndarray:
    """Configurations of a periodic lattice after 300 Swendsen-Wang sweeps (equilibrium)."""
    model = ps.Ising.lattice((side, side), beta=beta)
    step = jax.jit(ps.kernels.swendsen_wang.build_kernel(num_sweeps=300))
    keys = jax.random.split(jax.random.key(seed), 2 * count)
    draws = []
    for k in range(count):
        state = ps.kernels.swendsen_wang.init(model.uniform_configuration(keys[2 * k]), model)
        state, _ = step(keys[2 * k + 1], state, model)
        draws.append(np.asarray(state.position))
    return np.stack(draws) if count > 1 else draws[0]


def beta_model(side):
    def model(x):
        beta = numpyro.sample("beta", dist.Uniform(0.0, 1.0))
        numpyro.sample("spins", ps.Ising.lattice((side, side), beta=beta), obs=x)

    return model


def run_exchange(model, data, num_aux_sweeps, num_samples=3000, seed=2):
    kernel = ps.infer.Exchange(model, num_aux_sweeps=num_aux_sweeps)
    mcmc = MCMC(kernel, num_warmup=500, num_samples=num_samples, num_chains=4,
                chain_method="vectorized", progress_bar=False)  # fmt: skip
    mcmc.run(jax.random.key(seed), data)
    return np.asarray(mcmc.get_samples(group_by_chain=True)["beta"])


def assert_beta_posterior(draws, exact):
    """Mean within 0.1 posterior sd plus Monte Carlo error; sd within 10%."""
    ess = effective_sample_size(draws)
    error = exact.sd / np.sqrt(ess)
    assert abs(draws.mean() - exact.mean) < 0.1 * exact.sd + 4 * error, (
        f"posterior mean {draws.mean():.5f} vs exact {exact.mean:.5f} (sd {exact.sd:.5f}, "
        f"ESS {ess:.0f})"
    )
    assert abs(draws.std() / exact.sd - 1) < 0.1, f"sd ratio {draws.std() / exact.sd:.3f}"


@pytest.mark.parametrize("side", [16, pytest.param(32, marks=pytest.mark.slow)], ids=["L16", "L32"])
def test_beta_of_one_configuration_matches_kaufman(side):
    x = observed_configuration(side, beta=0.4, seed=side)
    exact = beta_posterior(x, 0.0, 1.0)
    assert_beta_posterior(run_exchange(beta_model(side), x, num_aux_sweeps=10), exact)


@pytest.mark.slow
def test_too_few_auxiliary_sweeps_show_their_bias():
    """One sweep leaves the auxiliary draw correlated with the data: a posterior too wide
    (about 1.5x at L = 16); the check above rejects it."""
    x = observed_configuration(16, beta=0.4, seed=16)
    exact = beta_posterior(x, 0.0, 1.0)
    draws = run_exchange(beta_model(16), x, num_aux_sweeps=1)
    assert draws.std() / exact.sd > 1.25
    with pytest.raises(AssertionError):
        assert_beta_posterior(draws, exact)


@pytest.mark.slow
def test_several_configurations_and_inference_data():
    x = observed_configuration(8, beta=0.35, seed=3, count=3)
    exact = beta_posterior(x, 0.0, 1.0)
    kernel = ps.infer.Exchange(beta_model(8), num_aux_sweeps=10)
    mcmc = MCMC(kernel, num_warmup=500, num_samples=3000, num_chains=4,
                chain_method="vectorized", progress_bar=False)  # fmt: skip
    mcmc.run(jax.random.key(2), x)
    assert_beta_posterior(np.asarray(mcmc.get_samples(group_by_chain=True)["beta"]), exact)
    idata = ps.to_inference_data(mcmc)
    assert idata.posterior["beta"].shape == (4, 3000)
    acceptance = float(idata.sample_stats["acceptance_rate"].mean())  # ArviZ's name
    assert 0.3 < acceptance < 0.6  # tuned towards 0.44


@pytest.mark.slow
def test_joint_beta_sigma_and_spins_by_enumeration(numpyro_reuses_keys):
    """beta, sigma and the spins of a 3 x 3 periodic lattice all unknown: Exchange, NUTS and
    block Gibbs as blocks of one numpyro.infer.Gibbs."""
    y = np.array([1.2, 0.4, 1.5, -0.3, 0.9, 1.1, -1.4, 0.2, 0.8])
    exact = joint_posterior((3, 3), y, 0.0, 1.0, sigma_scale=1.0)

    def model(y):
        beta = numpyro.sample("beta", dist.Uniform(0.0, 1.0))
        sigma = numpyro.sample("sigma", dist.HalfNormal(1.0))
        spins = numpyro.sample("spins", ps.Ising.lattice((3, 3), beta=beta))
        numpyro.sample("y", dist.Normal(spins, sigma), obs=y)

    kernel = Gibbs([
        (ps.infer.BlockGibbs(model), ["spins"]),
        (ps.infer.Exchange(model), ["beta"]),
        (NUTS(model), ["sigma"]),
    ])  # fmt: skip
    mcmc = MCMC(kernel, num_warmup=400, num_samples=4000, num_chains=4, chain_method=jax.vmap,
                progress_bar=False)  # fmt: skip
    mcmc.run(jax.random.key(6), y)
    samples = mcmc.get_samples(group_by_chain=True)
    assert_mean_close(np.asarray(samples["beta"]), exact.beta_mean)
    assert_mean_close(np.asarray(samples["sigma"]), exact.sigma_mean)
    assert_means_close((np.asarray(samples["spins"]) == 1).astype(float), exact.spin_up)


def test_latent_spins_alone_show_the_gibbs_line():
    def model():
        beta = numpyro.sample("beta", dist.Uniform(0.0, 1.0))
        numpyro.sample("spins", ps.Ising.lattice((4, 4), beta=beta))

    mcmc = MCMC(ps.infer.Exchange(model), num_warmup=5, num_samples=5, progress_bar=False)
    with pytest.raises(ValueError, match=r"physsamp.infer.SwendsenWang\(model\), \['spins'\]"):
        mcmc.run(jax.random.key(0))


def test_sites_that_are_not_parameters_are_refused():
    def model(x):
        beta = numpyro.sample("beta", dist.Uniform(0.0, 1.0))
        numpyro.sample("other", dist.Normal())
        numpyro.sample("spins", ps.Ising.lattice((4, 4), beta=beta), obs=x)

    mcmc = MCMC(ps.infer.Exchange(model), num_warmup=5, num_samples=5, progress_bar=False)
    with pytest.raises(ValueError, match=r"\['other'\] are not parameters"):
        mcmc.run(jax.random.key(0), np.ones(16, np.int8))


@pytest.mark.slow  # the docstring example of exact.normalized runs NUTS on it by default
def test_nuts_on_the_exactly_normalized_model(numpyro_reuses_keys):
    """The documented alternative for enumerable models: NUTS with log Z summed exactly."""
    x = np.array([[1, 1, 1, 1, -1, 1, 1, 1, 1], [1, -1, 1, 1, 1, 1, -1, -1, 1]], np.int8)

    def log_likelihood(beta):
        lattice = ps.Ising.lattice((3, 3), beta=beta)
        return float(lattice.log_prob(x).sum()) - len(x) * ps.exact.log_partition(lattice)

    exact = beta_posterior_from_log_likelihood(log_likelihood, 0.0, 1.0)

    def model(x):
        beta = numpyro.sample("beta", dist.Uniform(0.0, 1.0))
        numpyro.sample("spins", ps.exact.normalized(ps.Ising.lattice((3, 3), beta=beta)), obs=x)

    mcmc = MCMC(NUTS(model), num_warmup=500, num_samples=3000, num_chains=2,
                chain_method="vectorized", progress_bar=False)  # fmt: skip
    mcmc.run(jax.random.key(0), x)
    assert_mean_close(np.asarray(mcmc.get_samples(group_by_chain=True)["beta"]), exact.mean)


@pytest.mark.slow
def test_random_field_matches_quadrature():
    """A field h ~ Normal(0, 1) shared by every site of a small graph, from 12 observed
    configurations: the exact posterior by enumeration (log Z(h)) and quadrature."""
    import networkx as nx

    graph = nx.cycle_graph(6)
    rng = np.random.default_rng(4)
    x = np.where(rng.random((12, 6)) < 0.65, 1, -1).astype(np.int8)

    def log_likelihood(h):
        model = ps.Ising(graph, coupling=0.4, field=h, beta=1.0)
        return float(model.log_prob(x).sum()) - len(x) * ps.exact.log_partition(model)

    grid = np.linspace(-3.0, 3.0, 1201)
    log_density = np.array([log_likelihood(h) - h**2 / 2 for h in grid])
    weights = np.exp(log_density - log_density.max())
    weights /= weights.sum()
    exact_mean = float(grid @ weights)

    def model(x):
        h = numpyro.sample("h", dist.Normal(0.0, 1.0))
        numpyro.sample("spins", ps.Ising(graph, coupling=0.4, field=h, beta=1.0), obs=x)

    kernel = ps.infer.Exchange(model, kernel=ps.infer.BlockGibbs)
    mcmc = MCMC(kernel, num_warmup=500, num_samples=3000, num_chains=4,
                chain_method="vectorized", progress_bar=False)  # fmt: skip
    mcmc.run(jax.random.key(8), x)
    assert_mean_close(np.asarray(mcmc.get_samples(group_by_chain=True)["h"]), exact_mean)


@pytest.mark.slow
def test_couplings_per_edge_agree_with_nuts_on_the_exact_posterior(numpyro_reuses_keys):
    """Five couplings of a 5-cycle, one per edge: the exchange posterior means against NUTS on
    the exactly normalised model (two independent samplers of one posterior)."""
    import networkx as nx

    graph = nx.cycle_graph(5)
    rng = np.random.default_rng(5)
    x = np.where(rng.random((30, 5)) < 0.5, 1, -1).astype(np.int8)
    x[:, 1] = x[:, 0]  # make the first edge strongly ferromagnetic

    def model(x, normalized=False):
        couplings = numpyro.sample("couplings", dist.Normal(0.0, 1.0).expand([5]).to_event(1))
        ising = ps.Ising(graph, coupling=couplings, beta=1.0)
        numpyro.sample("spins", ps.exact.normalized(ising) if normalized else ising, obs=x)

    exchange = MCMC(ps.infer.Exchange(model, kernel=ps.infer.BlockGibbs), num_warmup=1000,
                    num_samples=4000, num_chains=4, chain_method="vectorized",
                    progress_bar=False)  # fmt: skip
    exchange.run(jax.random.key(9), x)
    nuts = MCMC(NUTS(model), num_warmup=500, num_samples=2000, num_chains=2,
                chain_method="vectorized", progress_bar=False)  # fmt: skip
    nuts.run(jax.random.key(10), x, normalized=True)
    reference = np.asarray(nuts.get_samples()["couplings"]).mean(axis=0)
    draws = np.asarray(exchange.get_samples(group_by_chain=True)["couplings"])
    assert reference[0] > 1.0  # the data pull the first coupling up
    for edge in range(5):
        assert_mean_close(draws[..., edge], float(reference[edge]), z=4.5)


def test_svi_on_a_random_beta_is_refused(numpyro_reuses_keys):
    from numpyro.infer import SVI, Trace_ELBO
    from numpyro.infer.autoguide import AutoNormal
    from numpyro.optim import Adam

    model = beta_model(4)
    svi = SVI(model, AutoNormal(model), Adam(0.01), Trace_ELBO())
    with pytest.raises(ValueError, match="physsamp site 'spins'"):
        svi.run(jax.random.key(0), 5, np.ones(16, np.int8), progress_bar=False)
