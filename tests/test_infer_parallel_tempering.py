"""ParallelTempering as a NumPyro kernel: exact target samples, ladder tuned in warm-up,
tempering statistics in InferenceData, log Z from the run."""

import functools

import jax
import numpy as np
import numpyro
import pytest
from models_fixtures import random_boltzmann, random_graph
from numpyro.infer import MCMC
from stats import assert_matches_exact, assert_means_close, effective_sample_size
from test_tempering_spin_glass import exact_overlap_distribution

import physsamp as ps
from physsamp.infer.block_gibbs import BlockGibbs
from physsamp.infer.parallel_tempering import ParallelTempering

NUM_CHAINS, NUM_WARMUP, NUM_SAMPLES, NUM_REPLICAS = 8, 400, 2500, 4


def glass() -> ps.Ising:
    rng = np.random.default_rng(11)
    graph = random_graph(10, 11)
    coupling = rng.choice([-1.0, 1.0], graph.number_of_edges())
    return ps.Ising(graph, coupling=coupling, field=rng.normal(0, 0.3, 10), beta=1.5)


@functools.cache
def two_site_run():
    """One vectorised run shared by the tests below: a ±J glass and a Boltzmann machine."""
    sites = {"spins": glass(), "units": random_boltzmann(8, 1.2, seed=5)}

    def model():
        for name, distribution in sites.items():
            numpyro.sample(name, distribution)

    kernel = ParallelTempering(model, betas=NUM_REPLICAS)
    mcmc = MCMC(kernel, num_warmup=NUM_WARMUP, num_samples=NUM_SAMPLES, num_chains=NUM_CHAINS,
                chain_method="vectorized", progress_bar=False)  # fmt: skip
    mcmc.run(jax.random.key(3), extra_fields=("replicas",))
    return sites, kernel, mcmc


@pytest.mark.slow
def test_target_replicas_match_exact_distributions():
    sites, _, mcmc = two_site_run()
    samples = mcmc.get_samples(group_by_chain=True)
    for name, model in sites.items():
        assert samples[name].shape == (NUM_CHAINS, NUM_SAMPLES, model.num_sites)
        assert_matches_exact(model, np.asarray(samples[name]))


@pytest.mark.slow
def test_replicas_are_reachable_in_slot_order():
    sites, _, mcmc = two_site_run()
    replicas = mcmc.get_extra_fields(group_by_chain=True)["replicas"]
    samples = mcmc.get_samples(group_by_chain=True)
    for name, model in sites.items():
        by_slot = np.asarray(replicas[name])
        assert by_slot.shape == (NUM_CHAINS, NUM_SAMPLES, NUM_REPLICAS, model.num_sites)
        np.testing.assert_array_equal(by_slot[:, :, -1], samples[name])


@pytest.mark.slow
def test_warmup_tunes_each_chains_ladder():
    sites, kernel, mcmc = two_site_run()
    traces = mcmc.get_extra_fields(group_by_chain=True)["tempering"]
    for name, model in sites.items():
        betas = np.asarray(traces[name].betas)
        assert np.all(betas == betas[:, :1]), "the ladder must not change while sampling"
        final = betas[:, 0]
        linear = kernel.ladder_for(model)
        np.testing.assert_allclose(final[:, [0, -1]], linear[[0, -1]][None].repeat(NUM_CHAINS, 0))
        assert np.all(np.diff(final, axis=-1) > 0)
        assert np.abs(final - linear).max() > 0.02  # moved from the initial linear ladder
        acceptance = np.asarray(traces[name].swap_acceptance).mean(axis=(0, 1))
        assert acceptance.max() - acceptance.min() < 0.15, acceptance
        slots = np.asarray(traces[name].slot_of_replica)
        np.testing.assert_array_equal(np.sort(slots, axis=-1), np.arange(NUM_REPLICAS)[None, None]
                                      .repeat(NUM_CHAINS, 0).repeat(NUM_SAMPLES, 1))  # fmt: skip


@pytest.mark.slow
def test_inference_data_holds_tempering_statistics():
    _, _, mcmc = two_site_run()
    idata = ps.to_inference_data(mcmc)
    assert not {"spins", "units"} & set(idata.posterior)
    stats = idata.sample_stats
    assert "energy" not in stats
    for name in ("spins", "units"):
        for field in ("mean_swap_acceptance", "round_trips", "tempered_restarts",
                      "global_barrier", "target_replica", "target_flip_fraction"):  # fmt: skip
            assert f"{name}.{field}" in stats, field
        for pair in range(NUM_REPLICAS - 1):
            values = stats[f"{name}.swap_acceptance_{pair}"].values
            assert values.shape == (NUM_CHAINS, NUM_SAMPLES)
            assert np.all((values >= 0) & (values <= 1))
        trips = stats[f"{name}.round_trips"].values
        assert np.all(np.diff(trips, axis=1) >= 0) and trips[:, 0].max() <= 1
        assert trips[:, -1].min() > 20
        barrier = stats[f"{name}.global_barrier"].values[:, -1]
        assert np.all((barrier > 0) & (barrier < NUM_REPLICAS - 1))


@pytest.mark.slow
def test_log_partition_from_the_run_matches_exact():
    sites, kernel, mcmc = two_site_run()
    for name, model in sites.items():
        estimate = kernel.log_partition(mcmc, site=name)
        exact = ps.exact.log_partition(model)
        assert estimate.stderr < 0.05
        assert abs(estimate.log_z - exact) < 3 * estimate.stderr, (name, estimate, exact)
        assert str(estimate) == (
            f"log Z = {estimate.log_z:.6g} ± {estimate.stderr:.3g} (stepping stones, "
            f"ESS {estimate.effective_sample_size:.1f})"
        )
        with pytest.warns(DeprecationWarning, match="use .stderr"):
            assert estimate.standard_error == estimate.stderr


STATUSES = ("healthy", "unsettled barrier", "ladder too short", "capacity too small",
            "local moves", "too few steps")  # fmt: skip


@pytest.mark.slow
def test_tempering_summary():
    _, kernel, mcmc = two_site_run()
    summary = kernel.tempering_summary(mcmc, site="spins")
    assert summary["betas"].shape == (NUM_CHAINS, NUM_REPLICAS)
    assert summary["swap_acceptance"].shape == (NUM_CHAINS, NUM_REPLICAS - 1)
    np.testing.assert_allclose(summary["global_barrier"],
                               (1 - summary["swap_acceptance"]).sum(-1))  # fmt: skip
    assert summary["suggested_num_replicas"] >= 2
    assert np.all(summary["round_trip_rate"] > 0)
    # Observed <~ predicted (ideal local exploration) <= limit (fine ladder).
    predicted, limit = summary["predicted_round_trip_rate"], summary["round_trip_rate_limit"]
    assert np.all(predicted <= limit)
    assert np.all(summary["round_trip_rate"] < 1.3 * predicted)
    first, *verdicts = str(summary).split("\n")
    assert len(verdicts) == 2 * NUM_CHAINS  # one per chain after warm-up and after sampling
    for chain, line in enumerate(verdicts):
        stage = "warm-up" if chain < NUM_CHAINS else "sampling"
        assert line.startswith(f"chain {chain % NUM_CHAINS}: after {stage}: barrier ")
    assert all(h.status in STATUSES for h in summary["health_warmup"] + summary["health"])
    text = first
    assert text.startswith(f"{NUM_REPLICAS} replicas from beta 0 to 1.5, {NUM_CHAINS} chains: ")
    assert f"swap acceptance {summary['swap_acceptance'].mean():.2f}" in text
    assert f"suggests {summary['suggested_num_replicas']} replicas" in text
    assert f"{int(summary['round_trips'].sum())} round trips" in text
    with pytest.raises(ValueError, match="several physsamp sites"):
        kernel.tempering_summary(mcmc)


def test_single_site_single_chain_and_errors():
    """One chain, not vectorised, reversible swaps, a ladder from beta_min > 0:
    unprefixed statistics, and clear errors."""
    target = ps.Ising.lattice((4, 4), beta=0.5)

    def model():
        numpyro.sample("spins", target)

    kernel = ParallelTempering(model, betas=3, swap="seo", beta_min=0.1)
    mcmc = MCMC(kernel, num_warmup=40, num_samples=60, progress_bar=False)
    mcmc.run(jax.random.key(0))
    assert mcmc.get_samples()["spins"].shape == (60, 16)
    stats = mcmc.get_extra_fields()["stats"]
    assert {"swap_acceptance_0", "swap_acceptance_1", "round_trips"} <= set(stats)
    np.testing.assert_allclose(mcmc.get_extra_fields()["tempering"]["spins"].betas[:, 0], 0.1)
    with pytest.raises(ValueError, match="reference at beta = 0"):
        kernel.log_partition(mcmc)

    with pytest.raises(ValueError, match="must end at the site's beta"):
        bad = ParallelTempering(model, betas=[0.0, 0.3, 0.7])
        MCMC(bad, num_warmup=1, num_samples=1, progress_bar=False).run(jax.random.key(1))
    with pytest.raises(ValueError, match="at least 2 replicas"):
        ParallelTempering(model, betas=1)
    with pytest.raises(TypeError, match="kernel must be"):
        ParallelTempering(model, kernel=len)


def test_block_gibbs_instance_as_inner_kernel():
    def model():
        numpyro.sample("spins", ps.Ising.lattice((4, 4), beta=0.5))

    kernel = ParallelTempering(model, kernel=BlockGibbs(model, num_sweeps=2), betas=3)
    assert kernel.inner.num_sweeps == 2
    with pytest.raises(ValueError, match="kernel_kwargs"):
        ParallelTempering(model, kernel=BlockGibbs(model), kernel_kwargs={"num_sweeps": 2})


@pytest.mark.slow
def test_swendsen_wang_inner_kernel(key):
    from physsamp.infer import swendsen_wang

    target = ps.Ising.lattice((4, 4), beta=0.7)

    def model():
        numpyro.sample("spins", target)

    kernel = ParallelTempering(model, betas=3, kernel=swendsen_wang.SwendsenWang)
    mcmc = MCMC(kernel, num_warmup=200, num_samples=2000, num_chains=4,
                chain_method="vectorized", progress_bar=False)  # fmt: skip
    mcmc.run(key)
    assert_matches_exact(target, np.asarray(mcmc.get_samples(group_by_chain=True)["spins"]))


def test_plots_of_a_run(tmp_path):
    from physsamp.plots_tempering import (
        plot_replica_trajectories,
        plot_swap_acceptance,
        plot_tempering,
    )

    kernel, mcmc = houdayer_run()  # an automatic ladder: the plots show its active slots
    figure = plot_tempering(mcmc, chain=1)
    assert len(figure.axes) == 4  # three panels and the local-barrier twin axis
    figure.savefig(tmp_path / "tempering.png")
    assert (tmp_path / "tempering.png").stat().st_size > 10_000
    count = kernel.tempering_summary(mcmc)["num_replicas"][1]
    trajectories, _, histograms = figure.axes[:3]
    assert len(trajectories.get_yticks()) == count
    assert len(histograms.patches) == count
    trace = mcmc.get_extra_fields(group_by_chain=True)["tempering"]["spins"]
    ax = plot_replica_trajectories(np.asarray(trace.slot_of_replica[0]), replicas=[0, 3])
    assert len(ax.lines) == 2
    with pytest.raises(ValueError, match="need 7 pairs"):
        plot_swap_acceptance(np.asarray(trace.betas[0, -1]), np.ones(2))


@pytest.mark.slow
def test_stepping_stone_agrees_with_ais_beyond_enumeration():
    """A 6 x 6 ±J glass (36 spins: no enumeration) where the two estimators of log Z, built on
    different identities, must agree within their combined standard error."""
    rng = np.random.default_rng(21)
    model = ps.Ising.lattice((6, 6), coupling=rng.choice([-1.0, 1.0], (2, 6, 6)), beta=1.0)

    def numpyro_model():
        numpyro.sample("spins", model)

    kernel = ParallelTempering(numpyro_model, betas=12)
    mcmc = MCMC(kernel, num_warmup=600, num_samples=3000, num_chains=4,
                chain_method="vectorized", progress_bar=False)  # fmt: skip
    mcmc.run(jax.random.key(8))
    stepping = kernel.log_partition(mcmc)
    ais = ps.infer.ais_log_partition(model, jax.random.key(9), num_betas=2000, num_runs=256,
                                     progress_bar=False)  # fmt: skip
    combined = np.hypot(stepping.stderr, ais.stderr)
    assert combined < 0.2, f"estimates too noisy to compare: {stepping}, {ais}"
    assert abs(stepping.log_z - ais.log_z) < 4 * combined, (stepping, ais)


@functools.cache
def houdayer_run():
    """betas="auto" with two copies and Houdayer moves on the glass, through MCMC."""

    def model():
        numpyro.sample("spins", glass())

    kernel = ParallelTempering(model, betas="auto", houdayer=True, max_replicas=8)
    mcmc = MCMC(kernel, num_warmup=600, num_samples=2500, num_chains=4,
                chain_method="vectorized", progress_bar=False)  # fmt: skip
    mcmc.run(jax.random.key(7))
    return kernel, mcmc


def test_automatic_ladder_with_houdayer_moves_in_numpyro():
    """The contract ParallelTempering(model, betas="auto"): the target is exact, the ladder
    sized by warm-up fits in max_replicas, and InferenceData holds the overlaps per draw and
    temperature, their distribution (against enumeration at the target) and Binder ratio
    (1/N at beta = 0), and the health verdicts."""
    kernel, mcmc = houdayer_run()
    model = glass()
    assert_matches_exact(model, np.asarray(mcmc.get_samples(group_by_chain=True)["spins"]))
    summary = kernel.tempering_summary(mcmc)
    counts = summary["num_replicas"]
    assert np.all((counts >= 3) & (counts <= 8))
    assert np.all(np.isnan(summary["betas"][np.arange(8)[None] >= counts[:, None]]))

    idata = ps.to_inference_data(mcmc)
    overlap = idata.sample_stats["overlap"].values  # [chain, draw, temperature]
    assert overlap.shape == (4, 2500, 8)
    assert "link_overlap" in idata.sample_stats
    tempering = idata.tempering
    np.testing.assert_allclose(tempering["q"].values, np.linspace(-1, 1, 11))
    # beta = 0: independent spins, Binder ratio exactly 1/N; the error of the pooled ratio by
    # the delta method on (q^2, q^4), with the ESS of q^2.
    q = overlap[:, :, 0]
    binder = ps.kernels.parallel_tempering.binder_ratio(q.ravel())
    m2, m4 = np.mean(q**2), np.mean(q**4)
    gradient = np.array([m4 / m2**3, -0.5 / m2**2])
    covariance = np.cov(np.stack([q.ravel() ** 2, q.ravel() ** 4]))
    error = np.sqrt(gradient @ covariance @ gradient / effective_sample_size(q**2))
    assert abs(binder - 1 / model.num_sites) < 4 * error, (binder, error)
    per_chain = [ps.kernels.parallel_tempering.binder_ratio(chain) for chain in q]
    np.testing.assert_allclose(tempering["binder_ratio"].values[:, 0], per_chain)
    # The overlap distribution at the target slot against enumeration.
    values, exact = exact_overlap_distribution(model)
    top = overlap[np.arange(4), :, counts - 1]  # [chain, draw]
    assert_means_close(np.isclose(top[..., None], values), exact)
    distribution = tempering["overlap_distribution"].values[np.arange(4), counts - 1]
    np.testing.assert_allclose(distribution.sum(-1), 1.0)
    attrs = idata.sample_stats.attrs
    assert attrs["tempering_health_status"].split(", ")[0] in STATUSES
    assert attrs["tempering_health"].startswith("chain 0: sampling: barrier ")
    assert "mean_cluster_size" in idata.sample_stats
