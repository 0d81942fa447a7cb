"""Sites that depend on physsamp sites: the folded field, refusals, and exact sampling of the
conditional by every kernel, alone and as a block of numpyro.infer.Gibbs."""

import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest
from checks import run_with_host_devices
from numpyro import handlers
from numpyro.infer import MCMC, NUTS, Gibbs
from numpyro.infer.util import log_density
from posterior_exact import denoising_posterior, mpm_error_rate, strip_posterior
from stats import assert_matches_exact, assert_means_close

import physsamp as ps
from physsamp.infer._conditional import analyse, conditional_model

RNG = np.random.default_rng(7)
PRIOR = ps.Ising(nx.cycle_graph(6), coupling=0.7, field=0.1, beta=0.9)
Y = RNG.normal(size=6)
Y_REPEATED = RNG.normal(size=(3, 6))
Z_BINARY = RNG.normal(size=5)


def normal(units):
    numpyro.sample("y", dist.Normal(units, 0.7), obs=Y)


def normal_event(units):
    numpyro.sample("y", dist.Normal(units, 0.7).to_event(1), obs=Y)


def bernoulli(units):
    numpyro.sample("y", dist.Bernoulli(probs=jnp.where(units > 0, 0.8, 0.3)), obs=Y > 0)


def poisson(units):
    numpyro.sample("y", dist.Poisson(jnp.exp(0.5 * units)), obs=np.arange(6) % 3)


def categorical(units):
    table = jnp.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
    numpyro.sample("y", dist.Categorical(probs=table[(units + 1) // 2]), obs=np.arange(6) % 3)


def masked(units):
    mask = np.array([True, False, True, True, False, True])
    numpyro.sample("y", dist.Normal(units, 0.7).mask(mask), obs=Y)


def scaled(units):
    with handlers.scale(scale=2.5):
        numpyro.sample("y", dist.Normal(units, 0.7), obs=Y)


def repeated(units):
    with numpyro.plate("repeat", 3, dim=-2):
        numpyro.sample("y", dist.Normal(units, 0.7), obs=Y_REPEATED)


def permuted(units):
    grid = units.reshape(2, 3)[::-1, ::-1]
    numpyro.sample("y", dist.Normal(grid, 0.7), obs=Y.reshape(2, 3))


def two_children(units):
    normal(units)
    numpyro.sample("z", dist.Laplace(2.0 * units, 1.5), obs=-Y)


CHILDREN = [normal, normal_event, bernoulli, poisson, categorical, masked, scaled, repeated,
            permuted, two_children]  # fmt: skip


def with_prior(prior, likelihood):
    def model():
        units = numpyro.sample("spins", prior)
        likelihood(units)

    return model


def folded_and_brute_force_log_odds(model, prior, units):
    """Log-odds of setting each unit up rather than down, from the kernel's conditional and
    from the whole model's log density."""
    plans = analyse(model, (), {}, "test")
    conditional = conditional_model(plans["spins"], model, (), {}, {"spins": units})
    down, up = prior.unit_values
    folded, brute = [], []
    for i in range(prior.num_sites):
        raised, lowered = units.at[i].set(up), units.at[i].set(down)
        folded.append(conditional.log_prob(raised) - conditional.log_prob(lowered))
        brute.append(
            log_density(model, (), {}, {"spins": raised})[0]
            - log_density(model, (), {}, {"spins": lowered})[0]
        )
    return np.array(folded), np.array(brute)


@pytest.mark.parametrize("likelihood", CHILDREN, ids=lambda f: f.__name__)
def test_folded_field_is_the_log_odds_of_each_unit(likelihood):
    model = with_prior(PRIOR, likelihood)
    for seed in range(3):
        units = PRIOR.uniform_configuration(jax.random.key(seed))
        folded, brute = folded_and_brute_force_log_odds(model, PRIOR, units)
        np.testing.assert_allclose(folded, brute, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "prior",
    [
        ps.BoltzmannMachine(nx.path_graph(5), weight=-0.6, bias=0.2, beta=1.3),
        ps.RBM(RNG.normal(size=(5, 3)), RNG.normal(size=5), RNG.normal(size=3), beta=0.8),
    ],
    ids=["boltzmann", "rbm"],
)
def test_folded_field_for_binary_units(prior):
    def likelihood(units):
        numpyro.sample("y", dist.Bernoulli(probs=0.2 + 0.6 * units), obs=np.array([1, 0, 1, 1, 0]))
        numpyro.sample("z", dist.Normal(units, 0.5), obs=Z_BINARY)

    model = with_prior(prior, likelihood)
    units = prior.uniform_configuration(jax.random.key(3))
    folded, brute = folded_and_brute_force_log_odds(model, prior, units)
    np.testing.assert_allclose(folded, brute, rtol=1e-5, atol=1e-5)


def blur(units):
    numpyro.sample("y", dist.Normal(units + 0.5 * jnp.roll(units, 1), 0.7), obs=Y)


def multivariate(units):
    covariance = 0.5 * np.eye(6) + 0.1
    numpyro.sample("y", dist.MultivariateNormal(units, covariance), obs=Y)


def total(units):
    numpyro.sample("y", dist.Normal(units.sum(), 1.0), obs=0.3)


@pytest.mark.parametrize("likelihood", [blur, multivariate, total], ids=lambda f: f.__name__)
def test_children_that_couple_units_are_refused(likelihood):
    with pytest.raises(ValueError, match="'y' couples the units of physsamp site 'spins'"):
        analyse(with_prior(PRIOR, likelihood), (), {}, "BlockGibbs")


def test_latent_sites_beside_spins_show_the_gibbs_line():
    def model():
        sigma = numpyro.sample("sigma", dist.HalfNormal(1.0))
        units = numpyro.sample("spins", PRIOR)
        numpyro.sample("y", dist.Normal(units, sigma), obs=Y)

    with pytest.raises(
        ValueError,
        match=r"Gibbs\(\[\(physsamp.infer.SwendsenWang\(model\), "
        r"\['spins'\]\), \(numpyro.infer.NUTS\(model\), None\)",
    ):
        analyse(model, (), {}, "SwendsenWang")


def test_random_beta_points_to_exchange():
    def model():
        beta = numpyro.sample("beta", dist.Uniform(0.0, 1.0))
        numpyro.sample("spins", ps.Ising(nx.cycle_graph(6), beta=beta))

    with pytest.raises(ValueError, match=r"physsamp.infer.Exchange\(model\), \['beta'\]"):
        analyse(model, (), {}, "BlockGibbs")


# -- exact sampling of the conditional ------------------------------------------------------------
SIGMA = 0.8
CYCLE = ps.Ising(nx.cycle_graph(7), coupling=0.8, field=0.2, beta=1.0)
DATA = np.array([1.1, -0.4, 0.3, 0.9, -1.6, 0.2, 0.5])
#: y_i ~ Normal(s_i, sigma) adds y_i s_i / sigma^2 to the log density: a field y / (beta sigma^2)
CONDITIONAL = ps.Ising(nx.cycle_graph(7), coupling=0.8, field=0.2 + DATA / SIGMA**2, beta=1.0)


def denoising(y):
    units = numpyro.sample("spins", CYCLE)
    numpyro.sample("y", dist.Normal(units, SIGMA), obs=y)


@pytest.mark.parametrize(
    ("kernel", "num_samples"),
    [
        (ps.infer.BlockGibbs(denoising), 2500),
        # strong fields make clusters flip rarely: fewer effective samples per draw
        (ps.infer.SwendsenWang(denoising), 6000),
        pytest.param(ps.infer.ParallelTempering(denoising, betas=4), 2500, marks=pytest.mark.slow),
    ],
    ids=["block_gibbs", "swendsen_wang", "parallel_tempering"],
)
def test_kernels_alone_sample_the_conditional_exactly(kernel, num_samples):
    mcmc = MCMC(kernel, num_warmup=100, num_samples=num_samples, num_chains=4,
                chain_method="vectorized", progress_bar=False)  # fmt: skip
    mcmc.run(jax.random.key(0), DATA)
    assert_matches_exact(CONDITIONAL, np.asarray(mcmc.get_samples(group_by_chain=True)["spins"]))


# -- as a block of numpyro.infer.Gibbs beside NUTS ------------------------------------------------
LATTICE = ps.Ising.lattice((4, 4), coupling=1.0, beta=0.4)
NOISY = np.where(np.arange(16) % 3 == 0, -1.0, 1.0) + np.random.default_rng(3).normal(0, 0.9, 16)


def denoising_with_unknown_sigma(y):
    sigma = numpyro.sample("sigma", dist.HalfNormal(1.0))
    units = numpyro.sample("spins", LATTICE)
    numpyro.sample("y", dist.Normal(units, sigma), obs=y)


@pytest.mark.parametrize(
    "spin_kernel",
    [
        ps.infer.BlockGibbs,
        pytest.param(ps.infer.SwendsenWang, marks=pytest.mark.slow),
        pytest.param(
            lambda model: ps.infer.ParallelTempering(model, betas=4),
            id="tempering",
            marks=pytest.mark.slow,
        ),
    ],
)
def test_gibbs_with_nuts_matches_the_exact_posterior(spin_kernel, numpyro_reuses_keys):
    """Every pixel's P(s = +1 | y) and E[sigma | y] against enumeration and quadrature."""
    exact = denoising_posterior(LATTICE, NOISY, sigma_scale=1.0)
    model = denoising_with_unknown_sigma
    kernel = Gibbs([(spin_kernel(model), ["spins"]), (NUTS(model), None)])
    mcmc = MCMC(kernel, num_warmup=300, num_samples=3000, num_chains=4, chain_method=jax.vmap,
                progress_bar=False)  # fmt: skip
    mcmc.run(jax.random.key(2), NOISY)
    samples = mcmc.get_samples(group_by_chain=True)
    assert_means_close(np.asarray(samples["sigma"])[..., None], [exact.sigma_mean])
    up = (np.asarray(samples["spins"]) == 1).astype(np.float64)
    assert_means_close(up, exact.spin_up)
    # the composite's sites beside the spins' observables; the spins in their own group
    idata = ps.to_inference_data(mcmc, configurations=True)
    assert {"sigma", "energy", "magnetization"} <= set(idata.posterior.data_vars)
    assert "spins" not in idata.posterior
    np.testing.assert_array_equal(idata.configurations["spins"], samples["spins"])


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Some donated buffers were not usable")  # numpyro's loop
def test_chain_methods_progress_bar_and_inference_data(numpyro_reuses_keys):
    import arviz as az

    model = denoising_with_unknown_sigma
    kernel = Gibbs([(NUTS(model), None), (ps.infer.BlockGibbs(model), ["spins"])])
    draws = {}
    for method in ("sequential", jax.vmap):
        mcmc = MCMC(kernel, num_warmup=20, num_samples=30, num_chains=2, chain_method=method,
                    progress_bar=method == "sequential")  # fmt: skip
        mcmc.run(jax.random.key(4), NOISY, extra_fields=("block_states.1.stats",))
        draws[method] = mcmc.get_samples()
    np.testing.assert_array_equal(draws["sequential"]["spins"], draws[jax.vmap]["spins"])
    idata = ps.to_inference_data(mcmc, configurations=True)
    assert {"sigma", "energy", "magnetization"} <= set(idata.posterior.data_vars)
    assert idata.configurations["spins"].shape == (2, 30, LATTICE.num_sites)
    assert idata.sample_stats["flip_fraction"].shape == (2, 30)
    assert az.summary(idata, var_names=["sigma", "energy"]).shape[0] == 2


@pytest.mark.slow  # block Gibbs alone keeps a default parallel-chains test
def test_parallel_chain_method_in_subprocess(tmp_path):
    script = """
        import jax, numpy as np, numpyro, numpyro.distributions as dist, physsamp as ps
        from numpyro.infer import MCMC, NUTS, Gibbs

        def model(y):
            sigma = numpyro.sample("sigma", dist.HalfNormal(1.0))
            spins = numpyro.sample("spins", ps.Ising.lattice((4, 4), beta=0.4))
            numpyro.sample("y", dist.Normal(spins, sigma), obs=y)

        kernel = Gibbs([(ps.infer.SwendsenWang(model), ["spins"]), (NUTS(model), None)])
        mcmc = MCMC(kernel, num_warmup=20, num_samples=20, num_chains=2,
                    chain_method="parallel", progress_bar=False)
        mcmc.run(jax.random.key(0), np.linspace(-1, 1, 16))
        assert mcmc.get_samples(group_by_chain=True)["spins"].shape == (2, 20, 16)
        print("ok")
    """
    run_with_host_devices(script, tmp_path)


def test_nuts_on_a_random_beta_is_refused(numpyro_reuses_keys):
    """NUTS would use the unnormalised density and drift to the edge of the prior."""

    def model(x):
        beta = numpyro.sample("beta", dist.Uniform(0.0, 1.0))
        numpyro.sample("observed", ps.Ising.lattice((4, 4), beta=beta), obs=x)

    x = np.ones(16, np.int8)
    mcmc = MCMC(NUTS(model), num_warmup=5, num_samples=5, progress_bar=False)
    with pytest.raises(ValueError, match=r"physsamp site 'observed'.*physsamp.infer.Exchange"):
        mcmc.run(jax.random.key(0), x)


def test_models_build_with_traced_parameters():
    graph = nx.cycle_graph(6)
    x = np.array([1, -1, 1, 1, -1, -1], np.int8)

    @jax.jit
    def energies(beta, coupling, field):
        lattice = ps.Ising.lattice((4, 4), coupling=coupling, field=field, beta=beta)
        open_lattice = ps.Ising.lattice((4, 4), coupling=coupling, periodic=False)
        on_graph = ps.Ising(graph, coupling=coupling * jnp.arange(6.0), field=field, beta=beta)
        units = jnp.tile(jnp.asarray(x), 3)[:16]
        return (lattice.log_prob(units), open_lattice.energy(units), on_graph.log_prob(x),
                lattice.local_field(units), on_graph.local_field(x))  # fmt: skip

    traced = energies(0.3, 0.7, 0.2)
    lattice = ps.Ising.lattice((4, 4), coupling=0.7, field=0.2, beta=0.3)
    open_lattice = ps.Ising.lattice((4, 4), coupling=0.7, periodic=False)
    on_graph = ps.Ising(graph, coupling=0.7 * np.arange(6.0), field=0.2, beta=0.3)
    units = np.tile(x, 3)[:16]
    concrete = (lattice.log_prob(units), open_lattice.energy(units), on_graph.log_prob(x),
                lattice.local_field(units), on_graph.local_field(x))  # fmt: skip
    for a, b in zip(traced, concrete, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)

    weights = np.random.default_rng(0).normal(size=(4, 3))
    visible = np.array([1, 0, 1, 1], np.int8)
    rbm_log_prob = jax.jit(lambda w, a: ps.RBM(w, a, 0.1, beta=0.7).log_prob(visible))
    np.testing.assert_allclose(
        rbm_log_prob(weights, 0.2), ps.RBM(weights, 0.2, 0.1, beta=0.7).log_prob(visible), rtol=1e-6
    )
    with pytest.raises(TypeError, match="must be concrete"):
        jax.jit(lambda w: ps.Ising.from_matrix(w).num_sites)(np.eye(3))


@pytest.mark.slow
def test_strip_posterior_marginals_and_error_rate():
    """An open 64 x 8 strip with known sigma: every marginal and the MPM error rate against
    a row transfer matrix."""
    rows, width, sigma, beta = 64, 8, 0.9, 0.5
    rng = np.random.default_rng(11)
    truth = np.where(np.cumsum(rng.normal(size=(rows, width)), axis=0) > 0, 1, -1).ravel()
    y = truth + sigma * rng.normal(size=truth.size)
    exact = strip_posterior(rows, width, 1.0, beta, y / sigma**2)

    def model(y):
        spins = numpyro.sample("spins", ps.Ising.lattice((rows, width), beta=beta,
                                                         periodic=False))  # fmt: skip
        numpyro.sample("y", dist.Normal(spins, sigma), obs=y)

    mcmc = MCMC(ps.infer.BlockGibbs(model), num_warmup=200, num_samples=4000, num_chains=4,
                chain_method="vectorized", progress_bar=False)  # fmt: skip
    mcmc.run(jax.random.key(5), y)
    spins = np.asarray(mcmc.get_samples(group_by_chain=True)["spins"])
    assert_means_close((spins == 1).astype(np.float64), exact.spin_up)
    estimate = (spins == 1).mean(axis=(0, 1))
    sampled_error = mpm_error_rate(estimate, truth)
    exact_error = mpm_error_rate(exact.spin_up, truth)
    # Sites whose marginal is within Monte Carlo error of 1/2 may go either way.
    close = np.abs(exact.spin_up - 0.5) < 0.05
    assert abs(sampled_error - exact_error) <= close.mean() + 1e-12
