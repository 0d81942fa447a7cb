"""The pure AIS core (physsamp.kernels.ais) against exact log partition functions.

Each check compares |estimate - exact| with the reported standard error, so a wrong increment,
a wrong base normaliser or a transition at the wrong temperature fails it (the power test
shows the size of error that is caught)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from models_fixtures import random_boltzmann, random_ising, random_rbm

import physsamp as ps
from physsamp.kernels import ais, block_gibbs

NUM_RUNS = 256
NUM_BETAS = 257  # 256 steps: one chunk of the default length, shared by the tests below


def anneal(
    model,
    key,
    num_betas=NUM_BETAS,
    num_runs=NUM_RUNS,
    kernel="default",
    schedule="linear",
    base_visible_bias=None,
    **options,
):
    """Forward AIS through the pure API; returns (log_z, stderr, ess, AISRun)."""
    path = ais.default_path(model, base_visible_bias)
    key_base, key_run = jax.random.split(key)
    starts = path.base_sample(key_base, (num_runs,))
    if kernel == "default" and isinstance(path, ais.BaseRatePath):
        states = ais.rbm_init(starts, path)
        step = RBM_STEP
    else:
        states = jax.vmap(ais.init, (0, None, None))(starts, path, block_gibbs.init)
        step = GIBBS_STEP
    out = ais.run(key_run, path, ais.schedule(schedule, num_betas), states, step, **options)
    log_z, stderr, ess = ais.weight_statistics(out.log_weights, path.base_log_partition())
    return log_z, stderr, ess, out


GIBBS_STEP = ais.build_kernel(block_gibbs.build_kernel())
RBM_STEP = ais.build_rbm_kernel()
# One object per model structure, other betas by with_beta: the tests share compiled code.
ISING = random_ising(10, 1.0, seed=1)
BOLTZMANN = random_boltzmann(10, 1.0, seed=2)
RBM = random_rbm(9, 5, 1.0, seed=3)


def assert_close(log_z, stderr, exact, z=3.0):
    assert abs(log_z - exact) < z * stderr, (
        f"AIS log Z {log_z:.5f} vs exact {exact:.5f}: off by {abs(log_z - exact) / stderr:.1f} "
        f"standard errors ({stderr:.4f})"
    )


# -- schedules and weight statistics ---------------------------------------------------------
@pytest.mark.parametrize("kind", ["linear", "geometric", "sigmoid"])
def test_schedules_run_from_zero_to_one(kind):
    fractions = ais.schedule(kind, 50)
    assert fractions.shape == (50,)
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert np.all(np.diff(fractions) > 0)
    assert ais.schedule(kind, 2).tolist() == [0.0, 1.0]


def test_schedule_shapes_differ():
    linear, geometric, sigmoid = (ais.schedule(k, 101) for k in ("linear", "geometric", "sigmoid"))
    assert geometric[1] == pytest.approx(1e-3)
    assert np.diff(geometric)[-1] > np.diff(geometric)[1]  # dense near the base
    assert np.diff(sigmoid)[0] < np.diff(sigmoid)[50] > np.diff(sigmoid)[-1]
    assert np.allclose(np.diff(linear), 0.01)


@pytest.mark.parametrize(
    "bad, message",
    [
        ([0.0, 0.5], "from 0"),
        ([0.1, 1.0], "from 0"),
        ([0.0, 0.6, 0.4, 1.0], "decreases at index 2"),
        ([[0.0, 1.0]], "1-D"),
        ([0.0, np.nan, 1.0], "non-finite"),
    ],
)
def test_schedule_array_is_validated(bad, message):
    with pytest.raises(ValueError, match=message):
        ais.schedule(bad)


def test_schedule_names_are_validated():
    with pytest.raises(ValueError, match="unknown schedule"):
        ais.schedule("cosine", 10)
    with pytest.raises(ValueError, match="num_betas"):
        ais.schedule("linear", 1)


def test_weight_statistics_of_known_weights():
    log_z, stderr, ess = ais.weight_statistics(np.full(10, 2.0), log_base=1.0)
    assert (log_z, stderr, ess) == (3.0, 0.0, 10.0)
    weights = np.array([1.0, 2.0, 3.0, 4.0])
    log_z, stderr, ess = ais.weight_statistics(np.log(weights) + 500.0)  # no overflow
    assert log_z == pytest.approx(500.0 + np.log(2.5))
    assert stderr == pytest.approx(weights.std(ddof=1) / (2.0 * 2.5))
    assert ess == pytest.approx(100.0 / 30.0)
    assert ais.log_mean_exp([-1000.0, -1000.0]) == pytest.approx(-1000.0)
    with pytest.raises(ValueError, match="non-finite"):
        ais.weight_statistics([0.0, np.inf])


# -- against exact log Z ----------------------------------------------------------------------
@pytest.mark.parametrize("beta", [0.5, 1.5])
def test_ising_matches_exact(beta, key):
    model = ISING.with_beta(beta)
    log_z, stderr, ess, _ = anneal(model, key)
    assert ess > 0.5 * NUM_RUNS
    assert_close(log_z, stderr, ps.exact.log_partition(model))


def test_boltzmann_machine_matches_exact(key):
    model = BOLTZMANN
    log_z, stderr, _, _ = anneal(model, key)
    assert_close(log_z, stderr, ps.exact.log_partition(model))


@pytest.mark.parametrize("beta", [0.5, 1.5])
def test_rbm_matches_exact(beta, key):
    model = RBM.with_beta(beta)
    log_z, stderr, _, _ = anneal(model, key)
    assert_close(log_z, stderr, ps.exact.log_partition(model))


def test_rbm_with_a_wider_hidden_layer_and_custom_base(key):
    model = random_rbm(8, 14, 0.8, seed=4)
    base = np.linspace(-1, 1, 8)
    log_z, stderr, _, _ = anneal(model, key, schedule="sigmoid", base_visible_bias=base)
    assert_close(log_z, stderr, ps.exact.log_partition(model))


def test_rbm_path_with_block_gibbs_on_intermediate_rbms(key):
    """Every intermediate of the base-rate path is an RBM, so block Gibbs applies too."""
    log_z, stderr, _, _ = anneal(RBM, key, kernel="block_gibbs", base_visible_bias=np.zeros(9))
    assert_close(log_z, stderr, ps.exact.log_partition(RBM))


def test_fused_rbm_transition_with_two_sweeps_matches_exact(key):
    path = ais.default_path(RBM)
    key_base, key_run = jax.random.split(key)
    states = ais.rbm_init(path.base_sample(key_base, (NUM_RUNS,)), path)
    out = ais.run(key_run, path, ais.schedule("linear", NUM_BETAS), states,
                  ais.build_rbm_kernel(num_sweeps=2))  # fmt: skip
    log_z, stderr, _ = ais.weight_statistics(out.log_weights, path.base_log_partition())
    assert_close(log_z, stderr, ps.exact.log_partition(RBM))


def test_round_keys_drawn_at_once_or_key_by_key_make_the_same_runs():
    """The loop derives a chunk's round keys for all runs at once from the threefry key
    words, or, for other generators, key by key: the two give the same runs."""
    path = ais.default_path(RBM)
    states = ais.rbm_init(path.base_sample(jax.random.key(1), (8,)), path)
    schedule = ais.schedule("linear", 20)
    key_by_key = RBM_STEP._replace(round_key_words=None)
    at_once = ais.run(jax.random.key(2), path, schedule, states, RBM_STEP, chunk_length=8)
    one_by_one = ais.run(jax.random.key(2), path, schedule, states, key_by_key, chunk_length=8)
    np.testing.assert_array_equal(at_once.log_weights, one_by_one.log_weights)
    np.testing.assert_array_equal(
        at_once.states.kernel_state.position, one_by_one.states.kernel_state.position
    )


def test_fused_rbm_increment_is_the_paths():
    """The fused step's increment, read from its stored inputs, is log f_to - log f_from at
    the state it starts from; and the inputs it stores are those of the state it ends in."""
    path = ais.default_path(RBM, base_visible_bias=np.linspace(-0.5, 0.5, 9))
    v = ps.exact.states(RBM)[::7]
    states = ais.rbm_init(v, path)
    round_keys = jax.random.bits(jax.random.key(0), (2, 3, v.shape[0]), jnp.uint32)
    moved, info = RBM_STEP.step(round_keys, states, path, 0.3, 0.4)
    np.testing.assert_allclose(
        info.log_increment, path.log_weight_increment(v, 0.3, 0.4), rtol=1e-5, atol=1e-5
    )
    np.testing.assert_allclose(
        moved.kernel_state.inputs,
        ais.rbm_init(moved.kernel_state.position, path).kernel_state.inputs,
    )
    assert set(np.unique(ais.positions(path, moved.kernel_state))) <= {0, 1}


@pytest.mark.parametrize("num_units", [20, 150])
def test_softplus_gain_matches_float64(num_units):
    """The fused increment's sum of softplus differences, with one logarithm per 64 units,
    agrees with the float64 sum unit by unit: over wide hidden layers (three products), at
    logits up to +-100 and from t = 0."""
    rng = np.random.default_rng(3)
    x = rng.normal(0.0, 30.0, (50, num_units)).astype(np.float32)
    x[0] = 100.0
    x[1] = -100.0
    for t_from, t_to in ((0.0, 0.01), (0.3, 0.31), (0.2, 0.9)):
        to, start = np.float32(t_to) * x, np.float32(t_from) * x
        gain = ais._softplus_gain(to, start, jnp.exp(-jnp.abs(to)))
        expected = (np.logaddexp(0.0, to.astype(np.float64))
                    - np.logaddexp(0.0, start.astype(np.float64))).sum(-1)  # fmt: skip
        np.testing.assert_allclose(gain, expected, rtol=1e-6, atol=2e-5)


def test_units_are_drawn_with_their_conditional_probability():
    """The division-free comparison draws a unit exactly when u < sigmoid(x), up to the
    rounding of sigmoid, for logits from -100 to 100."""
    x = jnp.linspace(-100.0, 100.0, 20001)
    u = jax.random.uniform(jax.random.key(1), x.shape)
    drawn = ais._draw_units(u, x, jnp.exp(-jnp.abs(x)))
    probability = jax.nn.sigmoid(x)
    expected = (u < probability).astype(jnp.float32)
    borderline = jnp.abs(u - probability) < 1e-6
    assert bool(jnp.all((drawn == expected) | borderline))
    assert 0.4 < float(drawn.mean()) < 0.6


def test_base_rate_path_ends_at_the_rbm():
    model = random_rbm(6, 3, 0.7, seed=5)
    path = ais.default_path(model, base_visible_bias=np.full(6, 0.3))
    v = ps.exact.states(model)
    at_one = path.model_at(1.0)
    np.testing.assert_allclose(at_one.log_prob(v), model.log_prob(v), rtol=1e-6, atol=1e-5)
    # at t = 0: independent units with logits 0.3, and log Z_0 as stated
    at_zero = path.model_at(0.0)
    assert ps.exact.log_partition(at_zero) == pytest.approx(path.base_log_partition(), rel=1e-6)
    increment = path.log_weight_increment(v, 0.25, 0.75)
    expected = path.model_at(0.75).log_prob(v) - path.model_at(0.25).log_prob(v)
    np.testing.assert_allclose(increment, expected, rtol=1e-5, atol=1e-5)


def test_a_wrong_temperature_is_detected(key):
    """Power: annealing to beta * 1.05 is many standard errors away from the exact log Z at
    beta."""
    model = ISING.with_beta(1.5)
    log_z, stderr, _, _ = anneal(model.with_beta(1.5 * 1.05), key)
    assert abs(log_z - ps.exact.log_partition(model)) > 10 * stderr


def test_result_does_not_depend_on_chunking(key):
    key_a = jax.random.clone(key)
    _, _, _, whole = anneal(ISING, key_a, num_betas=201)
    _, _, _, chunked = anneal(ISING, key, num_betas=201, chunk_length=64)
    np.testing.assert_allclose(whole.log_weights, chunked.log_weights, rtol=1e-6, atol=1e-4)
    assert whole.checkpoints.tolist() == [1.0]
    assert chunked.checkpoints.tolist() == [0.32, 0.64, 0.96, 1.0]
    assert chunked.checkpoint_log_weights.shape == (4, NUM_RUNS)
    np.testing.assert_allclose(chunked.checkpoint_log_weights[-1], chunked.log_weights)


def test_loop_compiles_without_options_this_xla_lacks(monkeypatch):
    """The chunk loop's XLA:CPU options are dropped where XLA does not know them."""
    ais._compiler_options.cache_clear()
    monkeypatch.setattr(ais, "_CPU_COMPILER_OPTIONS", {"xla_cpu_no_such_option": "1"})
    try:
        assert ais._compiler_options() == {}
    finally:
        ais._compiler_options.cache_clear()
    monkeypatch.undo()
    assert ais._compiler_options() == ais._CPU_COMPILER_OPTIONS


def test_changing_beta_does_not_recompile(key):
    model = ISING
    key_a, key_b = jax.random.split(key)
    anneal(model.with_beta(0.5), key_a)
    size = ais._compiled_advance()._cache_size()
    anneal(model.with_beta(2.0), key_b)
    assert ais._compiled_advance()._cache_size() == size


def test_reverse_ais_from_exact_samples_estimates_the_inverse_ratio(key):
    """Reverse AIS from exact samples is AIS from the model to the base: mean(w) estimates
    Z_0 / Z."""
    from physsamp.infer.ais import draw_exact_samples

    model = ISING
    path = ais.default_path(model)
    key_samples, key_run = jax.random.split(key)
    samples = draw_exact_samples(model, key_samples, NUM_RUNS)
    states = jax.vmap(ais.init, (0, None, None, None))(samples, path, block_gibbs.init, 1.0)
    out = ais.run(key_run, path, ais.schedule("linear", NUM_BETAS)[::-1], states, GIBBS_STEP)
    log_ratio, stderr, _ = ais.weight_statistics(out.log_weights)
    exact = path.base_log_partition() - ps.exact.log_partition(model)
    assert_close(log_ratio, stderr, exact)


def test_temperature_increment_is_linear_in_the_fraction():
    model = random_ising(6, 0.7, seed=7)
    path = ais.default_path(model)
    x = ps.exact.states(model)
    np.testing.assert_allclose(
        path.log_weight_increment(x, 0.25, 0.5), 0.25 * model.log_prob(x), rtol=1e-6
    )
    assert path.base_log_partition() == pytest.approx(6 * np.log(2))
    assert float(path.model_at(0.5).beta) == pytest.approx(0.35)


def test_default_path_validation():
    with pytest.raises(ValueError, match="visible units"):
        ais.default_path(random_rbm(4, 2, 1.0, seed=0), base_visible_bias=np.zeros(3))
    with pytest.raises(ValueError, match="RBM only"):
        ais.default_path(random_ising(4, 1.0, seed=0), base_visible_bias=np.zeros(4))
    with pytest.raises(ValueError, match="num_sweeps"):
        ais.build_rbm_kernel(num_sweeps=0)


# -- the batched lattice transition ----------------------------------------------------------
LATTICES = {
    "2d": ps.Ising.lattice((4, 4), coupling=0.8, beta=1.0),
    "2d field": ps.Ising.lattice((4, 4), coupling=-0.6, field=0.3, beta=1.0),
    "2d site fields": ps.Ising.lattice((4, 4), field=np.linspace(-1, 1, 16), beta=0.7),
    "3d": ps.Ising.lattice((4, 4, 4), coupling=0.3, beta=1.0),
}
#: the 3D lattice in the slow set (the 2D ones cover the packed path by default)
LATTICE_PARAMS = [*list(LATTICES)[:-1], pytest.param("3d", marks=pytest.mark.slow)]


@pytest.mark.parametrize("name", LATTICE_PARAMS)
def test_packed_energies_of_runs_match_the_model(name):
    model = LATTICES[name]
    x = model.uniform_configuration(jax.random.key(0), (7,))
    colors = block_gibbs.pack_runs(x, model)
    assert colors[0].shape[-1] == 7
    np.testing.assert_array_equal(block_gibbs.unpack_runs(colors, model), x)
    np.testing.assert_allclose(
        block_gibbs.energy_of_runs(colors, model), model.energy(x), rtol=1e-6, atol=1e-5
    )


@pytest.mark.parametrize("num_sweeps", [1, pytest.param(2, marks=pytest.mark.slow)])
@pytest.mark.parametrize("name", LATTICE_PARAMS)
def test_lattice_transition_makes_the_generic_chains(name, num_sweeps, key):
    """Same key, same chains: the batched lattice transition against block Gibbs through the
    one-run AIS step (a schedule that ends in a padded chunk)."""
    model = LATTICES[name]
    path = ais.default_path(model)
    starts = path.base_sample(jax.random.key(1), (5,))
    fractions = ais.schedule("linear", 40)
    generic = ais.run(
        jax.random.clone(key),
        path,
        fractions,
        jax.vmap(ais.init, (0, None, None))(starts, path, block_gibbs.init),
        ais.build_kernel(block_gibbs.build_kernel(num_sweeps)),
        chunk_length=16,
    )
    batched = ais.run(
        key, path, fractions, ais.lattice_init(starts, path),
        ais.build_lattice_kernel(num_sweeps), chunk_length=16,
    )  # fmt: skip
    np.testing.assert_array_equal(
        ais.positions(path, batched.states.kernel_state), generic.states.kernel_state.position
    )
    np.testing.assert_allclose(batched.log_weights, generic.log_weights, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(
        batched.checkpoint_log_weights, generic.checkpoint_log_weights, rtol=1e-5, atol=1e-4
    )


@pytest.mark.parametrize("name", ["2d field", "2d site fields"])
def test_lattice_transition_matches_exact(name, key):
    model = LATTICES[name]
    path = ais.default_path(model)
    key_base, key_run = jax.random.split(key)
    states = ais.lattice_init(path.base_sample(key_base, (NUM_RUNS,)), path)
    out = ais.run(key_run, path, ais.schedule("linear", NUM_BETAS), states,
                  ais.build_lattice_kernel())  # fmt: skip
    log_z, stderr, _ = ais.weight_statistics(out.log_weights, path.base_log_partition())
    assert_close(log_z, stderr, ps.exact.log_partition(model))


def test_lattice_transition_needs_a_uniform_periodic_lattice():
    assert ais.supports_lattice_kernel(LATTICES["2d"])
    assert not ais.supports_lattice_kernel(ps.Ising.lattice((4, 4), periodic=False))
    assert not ais.supports_lattice_kernel(ps.Ising.lattice((3, 4)))
    assert not ais.supports_lattice_kernel(ISING)
    with pytest.raises(ValueError, match="num_sweeps"):
        ais.build_lattice_kernel(0)
    with pytest.raises(TypeError, match="uniform coupling"):
        ais.lattice_init(np.ones((2, 10), np.int8), ais.default_path(ISING))
