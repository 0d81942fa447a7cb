"""Spin-glass parallel tempering: the automatic ladder (pad and mask, monotone cubic re-spacing),
two copies with Houdayer moves, overlaps and the Binder ratio, health verdicts, and the
ground-state search against exact ground states."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.interpolate import PchipInterpolator
from scipy.optimize import brentq
from stats import assert_matches_exact, assert_means_close
from test_kernels_parallel_tempering import BLOCK_GIBBS, run_ladder, spin_glass

import physsamp as ps
from physsamp.kernels import block_gibbs
from physsamp.kernels import parallel_tempering as pt

HOUDAYER = pt.build_kernel(BLOCK_GIBBS, houdayer=True)
DEO = pt.build_kernel(BLOCK_GIBBS)


# -- the ladder --------------------------------------------------------------------------------
def test_adapt_ladder_inverts_the_monotone_cubic_barrier():
    """New betas solve PCHIP(Lambda)(beta) = k Lambda / (n' - 1) (scipy's interpolant), with
    padded slots ignored and a new size honoured (growing, shrinking, two points)."""
    capacity = 9
    for seed, (n, new_n) in enumerate([(5, 5), (4, 8), (6, 3), (3, 9), (2, 4)]):
        rng = np.random.default_rng(seed)
        betas = np.sort(rng.uniform(0.0, 2.0, n))
        betas[0] = 0.0
        rates = rng.uniform(0.05, 0.9, n - 1)
        padded_betas = np.concatenate([betas, np.full(capacity - n, betas[-1])])
        padded_rates = np.concatenate([rates, rng.uniform(0, 1, capacity - n)])  # ignored
        new, barrier = pt.adapt_ladder(padded_betas, padded_rates, n, new_n)
        cumulative = np.concatenate([[0.0], np.cumsum(rates)])
        spline = PchipInterpolator(betas, cumulative)
        targets = np.arange(1, new_n - 1) * cumulative[-1] / (new_n - 1)
        inner = [brentq(lambda b, t=t, f=spline: f(b) - t, betas[0], betas[-1]) for t in targets]
        expected = [betas[0], *inner, betas[-1]]
        np.testing.assert_allclose(np.asarray(new)[:new_n], expected, rtol=2e-5, atol=2e-5)
        np.testing.assert_array_equal(np.asarray(new)[new_n:], np.float32(betas[-1]))
        assert np.all(np.diff(np.asarray(new)[:new_n]) > 0)
        np.testing.assert_allclose(float(barrier), rates.sum(), rtol=1e-6)


def test_resizing_keeps_shapes_and_does_not_recompile(key):
    """The number of replicas is data: a state grown or shrunk by adapt_round(resize=True)
    goes through the same compiled step."""
    model = spin_glass(8, 1.0, seed=1)
    key_start, key = jax.random.split(key)
    state = pt.init(model.uniform_configuration(key_start, (12,)), model, np.linspace(0, 1, 3),
                    block_gibbs.init, capacity=12)  # fmt: skip
    step = jax.jit(DEO)
    state, _ = step(jax.random.fold_in(key, 0), state, model)
    sizes = []
    for round_number, barrier in enumerate((1.6, 1.0), start=1):  # ask for 5, then 3 replicas
        n = int(state.num_active)
        rates = jnp.zeros(11).at[: n - 1].set(barrier / (n - 1))
        state = state._replace(rejection_sum=rates, num_recorded=jnp.array(1, jnp.int32))
        state = pt.adapt_round(state, resize=True)
        sizes.append(int(state.num_active))
        state, _ = step(jax.random.fold_in(key, round_number), state, model)
        assert state.betas.shape == (12,)
    assert sizes == [5, 3]
    assert step._cache_size() == 1
    betas = np.asarray(state.betas)
    assert betas[2] == pytest.approx(1.0) and np.all(betas[2:] == betas[2])


@pytest.mark.slow
def test_resize_follows_the_barrier_within_capacity(key):
    """Warm-up with resize=True settles on suggested_num_replicas(Lambda) slots (about
    2 Lambda + 1), capped by the capacity."""
    model = spin_glass(10, 1.5, seed=4)
    key_start, key = jax.random.split(key)
    starts = model.uniform_configuration(key_start, (2, 16))
    for capacity, starts_ in ((16, starts[0]), (4, starts[1, :4])):
        state = pt.init(starts_, model, np.linspace(0, 1.5, 3), block_gibbs.init,
                        capacity=capacity)  # fmt: skip
        tuned = pt.warmup(jax.random.fold_in(key, capacity), DEO, state, model, num_warmup=1500,
                          resize=True)  # fmt: skip
        wanted = pt.suggested_num_replicas(float(tuned.global_barrier))
        assert int(tuned.num_active) == min(wanted, capacity)
    assert wanted > 4  # the small capacity did cap the ladder


# -- exact distributions with the automatic ladder and Houdayer moves ---------------------------
@functools.cache
def glass() -> ps.Ising:
    """N = 10 ±J glass with fields on a random graph with cycles, target beta 1.5."""
    return spin_glass(10, 1.5, seed=4)


def tuned_chains(key, step, num_copies, num_chains=16, capacity=8):
    """One warm-up with the automatic ladder, then ``num_chains`` chains from its state."""
    model = glass()
    shape = (capacity,) if num_copies == 1 else (2, capacity)
    starts = model.uniform_configuration(jax.random.fold_in(key, 0), shape)
    state = pt.init(starts, model, np.linspace(0, 1.5, 4), block_gibbs.init, capacity=capacity,
                    num_copies=num_copies)  # fmt: skip
    tuned = pt.warmup(jax.random.fold_in(key, 1), step, state, model, 1000, resize=True)
    return jax.tree.map(lambda leaf: jnp.broadcast_to(leaf, (num_chains, *leaf.shape)), tuned)


@pytest.mark.slow  # by default: the MCMC run of test_infer_parallel_tempering
def test_houdayer_ladder_with_automatic_size_is_exact_at_every_slot(key):
    """Two copies with Houdayer moves on a ladder sized and spaced by warm-up: both copies'
    replicas follow exp(-beta_k E) exactly at every active slot (chi-square against
    enumeration), and the overlap distribution at the target matches the exact
    P(q) = sum_{x,y} p(x) p(y) [q(x, y) = q]."""
    model = glass()
    states = tuned_chains(key, HOUDAYER, num_copies=2)
    final, positions, infos = run_ladder(jax.random.fold_in(key, 2), HOUDAYER, states, model,
                                         num_draws=2500)  # fmt: skip
    positions = np.asarray(positions)  # [chains, draws, 2, R, N]
    count = int(final.num_active[0])
    assert 3 <= count <= 8
    betas = np.asarray(final.betas[0])
    # Every slot of the first copy, and the second copy at the target (the code that moves
    # both copies is shared; the target is where the Houdayer moves matter most).
    for copy, slot in [(0, slot) for slot in range(count)] + [(1, count - 1)]:
        assert_matches_exact(model.with_beta(betas[slot]), positions[:, :, copy, slot],
                             min_ess=1500)  # fmt: skip
    assert float(np.asarray(infos.cluster_size).mean()) > 1.0  # the moves do exchange clusters

    target = model.with_beta(betas[count - 1])
    values, exact = exact_overlap_distribution(target)
    q = (positions[:, :, 0, count - 1] * positions[:, :, 1, count - 1]).mean(axis=-1)
    indicators = np.isclose(q[..., None], values[None, None, :])
    assert_means_close(indicators, exact)


def exact_overlap_distribution(model) -> tuple[np.ndarray, np.ndarray]:
    """P(q) of two independent replicas by enumeration of all pairs (N <= 12)."""
    states = ps.exact.states(model).astype(np.float64)
    probabilities = ps.exact.probabilities(model)
    overlaps = states @ states.T / model.num_sites
    values = np.linspace(-1.0, 1.0, model.num_sites + 1)
    index = np.rint((overlaps + 1.0) / 2.0 * model.num_sites).astype(int)
    weights = np.outer(probabilities, probabilities)
    return values, np.bincount(index.ravel(), weights.ravel(), minlength=values.size)


@pytest.mark.slow
def test_automatic_ladder_single_copy_is_exact_at_every_slot(key):
    model = glass()
    states = tuned_chains(key, DEO, num_copies=1)
    final, positions, _ = run_ladder(jax.random.fold_in(key, 2), DEO, states, model,
                                     num_draws=2500)  # fmt: skip
    betas = np.asarray(final.betas[0])
    for slot in range(int(final.num_active[0])):
        assert_matches_exact(model.with_beta(betas[slot]), np.asarray(positions)[:, :, slot])


# -- Binder ratio --------------------------------------------------------------------------------
def test_binder_ratio_known_cases():
    """g = 1/N for independent spins (exact moments of q), 1 for q = ±1, 0 for Gaussian q."""
    num_sites = 10
    values = np.linspace(-1, 1, num_sites + 1)
    binomial = np.array([math.comb(num_sites, k) for k in range(num_sites + 1)]) / 2.0**num_sites
    draws = np.repeat(values, np.rint(binomial * 2**20).astype(int))
    assert pt.binder_ratio(draws) == pytest.approx(1 / num_sites, rel=1e-9)
    assert pt.binder_ratio(np.array([1.0, -1.0, -1.0])) == 1.0
    gaussian = np.random.default_rng(0).normal(size=400_000)
    assert abs(pt.binder_ratio(gaussian)) < 0.02


# -- health ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        (dict(rejection_rates=[0.3] * 3, round_trips=200, num_steps=1000), "healthy"),
        (dict(rejection_rates=[0.3] * 3, round_trips=20, num_steps=1000), "local moves"),
        (dict(rejection_rates=[0.3] * 3, round_trips=2, num_steps=30), "too few steps"),
        (dict(rejection_rates=[0.9] * 3, round_trips=20, num_steps=10_000), "ladder too short"),
        (dict(rejection_rates=[0.9] * 3, round_trips=20, num_steps=10_000, capacity=4),
         "capacity too small"),
        (dict(rejection_rates=[0.3] * 3, round_trips=200, num_steps=1000, previous_barrier=0.5),
         "unsettled barrier"),
    ],
)  # fmt: skip
def test_ladder_health_verdicts(kwargs, status):
    health = pt.ladder_health(**kwargs)
    assert health.status == status
    assert str(health).endswith("healthy") == (status == "healthy")
    assert health.global_barrier == pytest.approx(sum(kwargs["rejection_rates"]))


# -- ground states ------------------------------------------------------------------------------
def edwards_anderson(shape, seed, gaussian=False, periodic=False) -> ps.Ising:
    rng = np.random.default_rng(seed)
    size = (2, *shape)
    couplings = rng.normal(size=size) if gaussian else rng.choice([-1.0, 1.0], size=size)
    return ps.Ising.lattice(shape, coupling=couplings, periodic=periodic)


@pytest.mark.slow
def test_ground_state_search_matches_exhaustive_search(key):
    """Small Edwards-Anderson instances (N = 20 <= 24): the lowest energy found is the exact
    one from enumeration, its configuration has it, and the result says so plainly."""
    for seed, gaussian in ((0, False), (1, True), (2, False)):
        model = edwards_anderson((4, 5), seed, gaussian)
        found = ps.infer.ground_state(model, jax.random.fold_in(key, seed), num_sweeps=1000,
                                      progress_bar=False)  # fmt: skip
        exact = ps.exact.ground_state(model)
        assert found.energy == pytest.approx(exact.energy, abs=1e-4)
        assert float(model.energy(found.configuration)) == pytest.approx(found.energy, abs=1e-4)
        assert found.hits >= 1 and 1 <= found.first_hit <= found.num_sweeps
        assert str(found).startswith(f"lowest energy {found.energy:.6g}")


@pytest.mark.parametrize(
    ("length", "gaussian", "houdayer"),
    [(10, False, False),
     pytest.param(10, True, True, marks=pytest.mark.slow),
     pytest.param(16, False, True, marks=pytest.mark.slow),
     pytest.param(16, True, False, marks=pytest.mark.slow)],
)  # fmt: skip
def test_ground_state_search_matches_exact_planar_ground_states(length, gaussian, houdayer, key):
    """2D open-boundary (planar) instances beyond enumeration, L = 10 (100 spins) and 16
    (256): the search reaches the exact ground-state energy of the transfer-matrix
    minimisation (physsamp.lattice_exact.ground_state)."""
    model = edwards_anderson((length, length), seed=length, gaussian=gaussian)
    exact = ps.lattice_exact.ground_state(model)
    found = ps.infer.ground_state(model, key, num_sweeps=4000 if length == 10 else 20_000,
                                  houdayer=houdayer, progress_bar=False)  # fmt: skip
    assert found.energy == pytest.approx(exact.energy, abs=1e-3 * length**2)
    assert float(model.energy(found.configuration)) == pytest.approx(
        exact.energy, abs=1e-3 * length**2
    )


def test_ground_state_advice_asks_for_more_when_the_search_is_short(key):
    """Cut short, the search says what to do (more sweeps or a colder end)."""
    model = edwards_anderson((4, 5), seed=0)
    found = ps.infer.ground_state(model, key, num_sweeps=20, num_warmup=0, beta_max=0.05,
                                  chunk_length=20, progress_bar=False)  # fmt: skip
    assert found.advice.startswith("Advice: ")
    assert "colder end" in found.advice
    with pytest.raises(TypeError, match="pairwise model"):
        ps.infer.ground_state(ps.RBM.random(4, 3, jax.random.key(0)), key)
    with pytest.raises(ValueError, match="beta_max"):
        ps.infer.ground_state(model, key, beta_max=-1.0)
