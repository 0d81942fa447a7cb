"""Parallel tempering (physsamp.kernels.parallel_tempering): exact distributions at every slot,
swap rule, index process and round trips, ladder adaptation, stepping-stone log Z, escape from
a broken symmetry, ground states of a spin glass."""

import functools
from functools import partial

import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
import pytest
from models_fixtures import random_boltzmann, random_graph, random_rbm
from stats import assert_matches_exact, effective_sample_size

import physsamp as ps
from physsamp.kernels import block_gibbs, sample_chains
from physsamp.kernels import parallel_tempering as pt

BLOCK_GIBBS = block_gibbs.build_kernel()
DEO = pt.build_kernel(BLOCK_GIBBS, swap="deo")
SEO = pt.build_kernel(BLOCK_GIBBS, swap="seo")
SLOT_TEST_LADDER = np.array([0.25, 0.6, 1.0, 1.5])


def frozen(rng_key, state, model):
    """An inner kernel that never moves: swaps alone act."""
    return state, ()


def spin_glass(num_sites: int, beta: float, seed: int) -> ps.Ising:
    """±J couplings on a random graph with cycles: frustrated."""
    rng = np.random.default_rng(seed)
    graph = random_graph(num_sites, seed)
    coupling = rng.choice([-1.0, 1.0], graph.number_of_edges())
    return ps.Ising(graph, coupling=coupling, field=rng.normal(0, 0.3, num_sites), beta=beta)


@functools.cache
def slot_test_glass() -> ps.Ising:
    """One instance shared by tests of equal shapes (a new model instance recompiles)."""
    return spin_glass(10, 1.5, seed=4)


def start(model, betas, key, num_chains):
    starts = model.uniform_configuration(key, (num_chains, len(betas)))
    return jax.vmap(lambda x: pt.init(x, model, jnp.asarray(betas), block_gibbs.init))(starts)


@partial(jax.jit, static_argnames=("step", "num_draws"))
def run_ladder(rng_key, step, states, model, num_draws):
    """Chains of PT recording every slot: positions ``[chains, draws, R, N]`` and infos."""
    num_chains = states.betas.shape[0]
    batched = jax.vmap(step, in_axes=(0, 0, None))

    def advance(carry, _):
        current, key = carry
        key, key_step = jax.random.split(key)
        current, info = batched(jax.random.split(key_step, num_chains), current, model)
        return (current, key), (current.positions_by_slot, info)

    (final, _), (positions, infos) = jax.lax.scan(advance, (states, rng_key), length=num_draws)
    swap = partial(jnp.swapaxes, axis1=0, axis2=1)
    return final, swap(positions), jax.tree.map(swap, infos)


# -- exact distributions -----------------------------------------------------------------------
@pytest.mark.slow  # every slot, with two copies and an automatic ladder: test_tempering_spin_glass
def test_every_slot_matches_its_exact_distribution(key):
    """Each replica position, read at its slot, is distributed as exp(-beta_k E) (frustrated
    ±J graph with fields, N = 10, target beta 1.5)."""
    model = slot_test_glass()
    betas = SLOT_TEST_LADDER
    key_start, key_run = jax.random.split(key)
    _, positions, infos = run_ladder(key_run, DEO, start(model, betas, key_start, 16), model,
                                     num_draws=2000)  # fmt: skip
    positions = np.asarray(positions)
    for slot, beta in enumerate(betas):
        assert_matches_exact(model.with_beta(beta), positions[:, :, slot])
    assert float(infos.swap_acceptance.mean()) > 0.2


@pytest.mark.slow
def test_reversible_swaps_target_matches_exact_distribution(key):
    model = spin_glass(10, 2.0, seed=7)
    betas = np.linspace(0.0, 2.0, 5)
    key_start, key_run = jax.random.split(key)
    _, draws, _ = sample_chains(key_run, SEO, start(model, betas, key_start, 16), model,
                                num_draws=3000)  # fmt: skip
    assert_matches_exact(model, np.asarray(draws))


@pytest.mark.slow
def test_boltzmann_machine_target_matches_exact_distribution(key):
    model = random_boltzmann(10, 1.5, seed=2)
    betas = np.linspace(0.0, 1.5, 4)
    key_start, key_run = jax.random.split(key)
    _, draws, _ = sample_chains(key_run, DEO, start(model, betas, key_start, 16), model,
                                num_draws=3000)  # fmt: skip
    assert_matches_exact(model, np.asarray(draws))


@pytest.mark.slow
def test_rbm_uses_the_marginal_log_density(key):
    """An RBM's marginal -beta F_beta(v) is not linear in beta: swaps use log_prob at both
    temperatures, and every slot matches its exact distribution."""
    model = random_rbm(8, 4, 2.0, seed=3)
    betas = np.array([0.3, 1.0, 2.0])
    key_start, key_run = jax.random.split(key)
    _, positions, _ = run_ladder(key_run, DEO, start(model, betas, key_start, 16), model,
                                 num_draws=2500)  # fmt: skip
    positions = np.asarray(positions)
    for slot, beta in enumerate(betas):
        assert_matches_exact(model.with_beta(beta), positions[:, :, slot])


# -- the swap move and the index process -------------------------------------------------------
@pytest.mark.parametrize("which", ["ising", "rbm"])
def test_swap_acceptance_is_the_metropolis_ratio(which, key):
    model = spin_glass(8, 1.0, seed=1) if which == "ising" else random_rbm(6, 3, 1.0, seed=1)
    betas = jnp.array([0.2, 0.7, 1.3])
    positions = model.uniform_configuration(key, (3,))
    state = pt.init(positions, model, betas, block_gibbs.init)
    _, info = jax.jit(pt.build_kernel(frozen))(jax.random.key(3), state, model)
    log_density = np.array(
        [[float(model.with_beta(b).log_prob(x)) for x in positions] for b in betas]
    )  # [beta, replica]
    for k in range(2):
        log_ratio = (log_density[k, k + 1] + log_density[k + 1, k]
                     - log_density[k, k] - log_density[k + 1, k + 1])  # fmt: skip
        np.testing.assert_allclose(info.swap_acceptance[k], min(1.0, np.exp(log_ratio)),
                                   rtol=1e-4)  # fmt: skip
    if which == "ising":
        energy = np.asarray(model.energy(positions))
        expected = np.minimum(1.0, np.exp(np.diff(np.asarray(betas)) * np.diff(energy)))
        np.testing.assert_allclose(info.swap_acceptance, expected, rtol=1e-4)
        np.testing.assert_allclose(info.energy, energy, rtol=1e-6)


def free_spins(num_sites=4):
    """Zero couplings: E = 0, every swap is accepted."""
    return ps.Ising(nx.empty_graph(num_sites), beta=1.0)


def test_deterministic_even_odd_index_process_and_round_trips(key):
    """With every swap accepted, DEO moves replicas deterministically; the state's index
    process, round trips and restarts match an independent replay."""
    model, num_replicas, num_steps = free_spins(), 5, 60
    state = pt.init(model.uniform_configuration(key, (num_replicas,)), model,
                    jnp.linspace(0.0, 1.0, num_replicas), block_gibbs.init)  # fmt: skip
    step = jax.jit(pt.build_kernel(frozen, swap="deo"))
    at_slot = list(range(num_replicas))
    last_end = [0] + [-1] * (num_replicas - 1)
    trips = restarts = 0
    for t in range(num_steps):
        state, info = step(jax.random.key(t), state, model)
        proposed = [k for k in range(num_replicas - 1) if k % 2 == t % 2]
        np.testing.assert_array_equal(np.flatnonzero(info.accepted), proposed)
        for k in proposed:
            at_slot[k], at_slot[k + 1] = at_slot[k + 1], at_slot[k]
        for replica in range(num_replicas):
            slot = at_slot.index(replica)
            if slot == 0:
                trips += last_end[replica] == 1
                last_end[replica] = 0
            elif slot == num_replicas - 1:
                restarts += last_end[replica] == 0
                last_end[replica] = 1
        np.testing.assert_array_equal(state.replica_at_slot, at_slot)
        np.testing.assert_array_equal(state.slot_of_replica, np.argsort(at_slot))
    assert int(state.round_trips) == trips > 0
    assert int(state.restarts) == restarts
    # A replica crosses the ladder ballistically: R - 1 steps up, R - 1 down, about.
    assert trips >= num_replicas * (num_steps // (2 * num_replicas) - 1)


def test_stochastic_even_or_odd_swaps_one_parity_per_step(key):
    model, num_replicas = free_spins(), 6
    state = pt.init(model.uniform_configuration(key, (num_replicas,)), model,
                    jnp.linspace(0.0, 1.0, num_replicas), block_gibbs.init)  # fmt: skip
    step = jax.jit(pt.build_kernel(frozen, swap="seo"))
    parities = []
    for t in range(40):
        state, info = step(jax.random.key(t), state, model)
        accepted = np.flatnonzero(info.accepted)
        assert len({k % 2 for k in accepted}) == 1
        parities.append(accepted[0] % 2)
    assert 0 < np.mean(parities) < 1  # both parities occur
    assert sorted(np.asarray(state.replica_at_slot)) == list(range(num_replicas))


def test_new_ladder_does_not_recompile(key):
    model = spin_glass(8, 1.0, seed=1)
    step = jax.jit(pt.build_kernel(BLOCK_GIBBS))
    state = pt.init(model.uniform_configuration(key, (4,)), model, jnp.linspace(0, 1, 4),
                    block_gibbs.init)  # fmt: skip
    state, _ = step(jax.random.key(1), state, model)
    for top in (0.5, 2.0):
        state = state._replace(betas=jnp.linspace(0.0, top, 4))
        state, _ = step(jax.random.key(2), state, model.with_beta(top))
    assert step._cache_size() == 1


def test_invalid_arguments_are_refused():
    model = free_spins()
    with pytest.raises(ValueError, match="strictly ascending"):
        pt.init(jnp.ones(4), model, [0.0, 1.0, 0.5], block_gibbs.init)
    with pytest.raises(ValueError, match=r">= 2 values"):
        pt.init(jnp.ones(4), model, [1.0], block_gibbs.init)
    with pytest.raises(ValueError, match="unknown swap scheme"):
        pt.build_kernel(BLOCK_GIBBS, swap="odd")
    with pytest.raises(ValueError, match="one per replica"):
        pt.init(jnp.ones((3, 4)), model, [0.0, 0.5, 1.0, 2.0], block_gibbs.init)


# -- ladder adaptation -------------------------------------------------------------------------
@pytest.mark.slow
def test_adapt_ladder_equalises_rejection_rates():
    """A known cumulative barrier Lambda(beta) = 3 beta^2: rejection between beta_k and
    beta_(k+1) is Lambda(beta_(k+1)) - Lambda(beta_k). Iterating the map equalises them and the
    barrier estimate is exact."""

    def barrier_of(beta):
        return 3.0 * beta**2

    betas = jnp.linspace(0.0, 1.0, 9)
    initial = np.diff(barrier_of(np.asarray(betas)))
    for _ in range(8):
        rates = jnp.diff(barrier_of(betas))
        betas, barrier = pt.adapt_ladder(betas, rates)
        np.testing.assert_allclose(barrier, 3.0, rtol=1e-5)
    final = np.diff(barrier_of(np.asarray(betas)))
    assert initial.max() / initial.min() > 10
    assert final.max() / final.min() < 1.02
    np.testing.assert_allclose(betas, np.sqrt(np.linspace(0, 1, 9)), atol=2e-3)
    assert betas[0] == 0.0 and betas[-1] == 1.0


def test_adapt_ladder_is_the_identity_on_equal_rates():
    betas = jnp.array([0.0, 0.1, 0.5, 0.6, 2.0])
    new, barrier = pt.adapt_ladder(betas, jnp.full(4, 0.25))
    np.testing.assert_allclose(new, betas, atol=1e-6)
    np.testing.assert_allclose(barrier, 1.0, rtol=1e-6)


def test_adaptation_schedule_doubles_and_leaves_a_burn_in():
    ends = pt.adaptation_schedule(1000)
    np.testing.assert_array_equal(ends, [8, 24, 56, 120, 248, 750])
    assert pt.adaptation_schedule(8).size == 0


# -- log Z ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "which",
    [
        pytest.param("ising", marks=pytest.mark.slow),  # by default: ParallelTempering's example
        pytest.param("boltzmann", marks=pytest.mark.slow),
    ],
)
def test_stepping_stone_log_partition_matches_exact(which, key):
    """The shapes of the slot test (no new compilation), with the reference at beta = 0."""
    model = slot_test_glass() if which == "ising" else random_boltzmann(10, 1.5, seed=2)
    betas = np.array([0.0, 0.5, 1.0, 1.5])
    key_start, key_run = jax.random.split(key)
    _, _, infos = run_ladder(key_run, DEO, start(model, betas, key_start, 16), model,
                             num_draws=2000)  # fmt: skip
    log_z0 = pt.reference_log_partition(model)
    assert log_z0 == pytest.approx(10 * np.log(2))
    estimate = pt.stepping_stone_log_partition(np.asarray(infos.energy), betas, log_z0)
    exact = ps.exact.log_partition(model)
    assert estimate.stderr < 0.05
    assert abs(estimate.log_z - exact) < 3 * estimate.stderr, (estimate, exact)
    from_weights = pt.stepping_stone_from_log_weights(np.asarray(infos.log_weight), log_z0)
    assert from_weights.log_z == pytest.approx(estimate.log_z, abs=1e-4)


def test_stepping_stone_standard_error_is_calibrated():
    """Independent Gaussian energies: log E[exp(-beta E)] = beta^2 / 2 exactly, and over
    repetitions the estimator's errors have about the reported spread."""
    rng = np.random.default_rng(0)
    betas = np.array([0.0, 0.5, 1.0])
    z_scores = []
    for _ in range(200):
        energies = rng.normal(0.0, 1.0, (500, 3))
        estimate = pt.stepping_stone_log_partition(energies, betas, 0.0)
        z_scores.append((estimate.log_z - 2 * 0.5**2 / 2) / estimate.stderr)
    assert abs(np.mean(z_scores)) < 0.3
    assert 0.8 < np.std(z_scores) < 1.25


# -- what tempering is for -----------------------------------------------------------------------
FERROMAGNET_BETA = np.float32(0.6)


@functools.cache
def ferromagnet_runs(length: int, num_replicas: int, num_draws: int = 3000):
    """The 2D Ising ferromagnet at beta = 0.6 (T < T_c), every chain started all up: block
    Gibbs alone (1500 sweeps), PT on a linear ladder, and PT after warm-up (4 chains,
    ``num_draws`` each)."""
    model = ps.Ising.lattice((length, length), beta=FERROMAGNET_BETA)
    key_gibbs, key_warm, key_linear, key_tuned = jax.random.split(jax.random.key(length), 4)
    up = jnp.ones((4, model.num_sites), jnp.int8)
    gibbs = jax.vmap(block_gibbs.init, (0, None))(up, model)
    _, gibbs_draws, _ = sample_chains(key_gibbs, BLOCK_GIBBS, gibbs, model, num_draws=1500)
    betas = jnp.linspace(0.0, FERROMAGNET_BETA, num_replicas)
    linear = jax.vmap(lambda x: pt.init(x, model, betas, block_gibbs.init))(
        jnp.ones((4, num_replicas, model.num_sites), jnp.int8)
    )
    tuned = jax.vmap(lambda k, s: pt.warmup(k, DEO, s, model, num_warmup=600))(
        jax.random.split(key_warm, 4), linear
    )
    _, _, linear_infos = sample_chains(key_linear, DEO, linear, model, num_draws=num_draws)
    _, draws, infos = sample_chains(key_tuned, DEO, tuned, model, num_draws=num_draws)

    def sign(x):
        return np.sign(np.asarray(x, np.float32).mean(axis=-1))

    return {
        "gibbs_sign": sign(gibbs_draws),
        "sign": sign(draws),
        "tuned": tuned,
        "linear_acceptance": np.asarray(linear_infos.swap_acceptance).mean(axis=(0, 1)),
        "acceptance": np.asarray(infos.swap_acceptance).mean(axis=(0, 1)),
        "round_trips": np.asarray(infos.round_trips)[:, -1],
    }


@pytest.mark.parametrize(
    "length", [pytest.param(12, marks=pytest.mark.slow), pytest.param(16, marks=pytest.mark.slow)]
)
def test_tempering_restores_the_broken_symmetry(length):
    """Started all up, block Gibbs alone never leaves m > 0 (1500 sweeps); parallel
    tempering down to beta = 0 gives P(m > 0) = 1/2 within 4 standard errors, the error from
    the ESS of the sign series."""
    runs = ferromagnet_runs(length, 10, 6000) if length == 12 else ferromagnet_runs(16, 16, 5000)
    assert np.all(runs["gibbs_sign"] > 0)
    positive = (runs["sign"] > 0).astype(np.float64)
    ess = effective_sample_size(positive)
    assert ess > 100, f"too few effective sign samples: {ess:.0f}"
    assert abs(positive.mean() - 0.5) < 4 * 0.5 / np.sqrt(ess), (positive.mean(), ess)
    assert runs["round_trips"].sum() >= 20


@pytest.mark.slow
def test_warmup_equalises_swap_acceptance():
    """On the ferromagnet a linear ladder has very unequal acceptance (the energy variance
    peaks near T_c); after warm-up every pair is within 0.1 of the others, the ends stay put,
    and the barrier estimated in the last round matches the one measured afterwards."""
    runs = ferromagnet_runs(12, 10, 6000)
    tuned, linear, adapted = runs["tuned"], runs["linear_acceptance"], runs["acceptance"]
    np.testing.assert_array_equal(tuned.betas[:, 0], 0.0)
    np.testing.assert_array_equal(tuned.betas[:, -1], FERROMAGNET_BETA)
    assert np.all(np.diff(np.asarray(tuned.betas), axis=-1) > 0)
    assert linear.max() - linear.min() > 0.3
    assert adapted.max() - adapted.min() < 0.1
    barrier = (1 - adapted).sum()
    np.testing.assert_allclose(tuned.global_barrier.mean(), barrier, rtol=0.15)
    assert pt.suggested_num_replicas(barrier) == int(np.ceil(2 * barrier)) + 1  # 2 Lambda + 1


@pytest.mark.slow
def test_finds_the_spin_glass_ground_state(key):
    """Sherrington-Kirkpatrick, N = 16, J_ij ~ N(0, 1/N): within 300 PT steps (one block
    Gibbs sweep per replica and step) the target replica (beta = 3) visits the exact ground
    state found by enumerating all 65536 states, for three disorder samples."""
    num_sites, num_replicas, num_steps = 16, 10, 300
    betas = np.linspace(0.0, 3.0, num_replicas)
    structure = None
    for seed in range(3):
        rng = np.random.default_rng(seed)
        upper = np.triu(rng.normal(0.0, 1.0 / np.sqrt(num_sites), (num_sites, num_sites)), 1)
        model = ps.Ising.from_matrix(upper + upper.T, beta=3.0)
        # Node labels are compared by identity: give every sample the first one's structure so
        # that the compiled run is reused.
        structure = structure or jax.tree.structure(model)
        model = jax.tree.unflatten(structure, jax.tree.leaves(model))
        ground = float(np.min(model.energy(ps.exact.states(model))))
        key, key_start, key_run = jax.random.split(key, 3)
        state = start(model, betas, key_start, 1)
        _, _, infos = sample_chains(key_run, DEO, state, model, num_draws=num_steps)
        lowest = float(np.asarray(infos.energy)[0, :, -1].min())
        assert lowest == pytest.approx(ground, abs=1e-4)
