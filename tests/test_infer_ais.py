"""physsamp.infer.ais: log Z and RBM log-likelihoods by AIS against exact answers (enumeration,
Kaufman's finite-lattice log Z), calibration of the reported standard error, the bidirectional
bracket, kernel resolution, storage and plots."""

import jax
import numpy as np
import pytest
from checks import run_with_host_devices
from models_fixtures import digits_data, random_boltzmann, random_ising, random_rbm, train_rbm
from scipy import stats

import physsamp as ps
from physsamp.infer import BlockGibbs
from physsamp.infer.ais import (
    AISResult,
    _low_ess_warning,
    ais_bounds,
    ais_log_partition,
    ais_log_z_vs_num_betas,
    ais_to_inference_data,
    base_rate_bias,
    draw_exact_samples,
    plot_ais,
    plot_log_z_vs_num_betas,
    rbm_log_likelihood,
    resolve_kernel,
)
from physsamp.kernels import ais as ais_kernels
from physsamp.kernels import block_gibbs
from physsamp.lattice_exact import BETA_CRITICAL, ising2d_log_partition

NUM_RUNS, NUM_BETAS = 128, 129  # one compiled chunk of 128 steps, shared by the tests below
ISING = random_ising(10, 1.0, seed=11)
RBM = random_rbm(12, 6, 1.0, seed=12)


def estimate(model, key, **options):
    options = {"num_betas": NUM_BETAS, "num_runs": NUM_RUNS, "progress_bar": False, **options}
    return ais_log_partition(model, key, **options)


def assert_within(result: AISResult, exact: float, z: float = 3.0, nats: float | None = None):
    error = result.log_z - exact
    assert abs(error) < z * result.stderr, (
        f"log Z {result.log_z:.5f} vs exact {exact:.5f}: {error / result.stderr:+.1f} standard "
        f"errors ({result})"
    )
    if nats is not None:
        assert abs(error) < nats, f"log Z off by {error:+.4f} nats ({result})"


# -- estimates against enumeration -------------------------------------------------------------
@pytest.mark.slow
def test_ising_with_the_numpyro_kernel_class(key):
    result = estimate(ISING, key, kernel=BlockGibbs, bootstrap=200)
    assert_within(result, ps.exact.log_partition(ISING))
    assert result.log_weights.shape == (NUM_RUNS,) and result.num_betas == NUM_BETAS
    assert 0.5 * NUM_RUNS < result.ess <= NUM_RUNS and result.warning is None
    assert result.log_z_base == pytest.approx(10 * np.log(2))
    assert result.bootstrap_stderr == pytest.approx(result.stderr, rel=0.3)
    assert result.final_positions.shape == (NUM_RUNS, 10)
    assert set(np.unique(result.final_positions)) <= {-1, 1}
    assert "log Z =" in str(result) and "ESS" in str(result)


def test_rbm_with_its_layerwise_transition(key):
    result = estimate(RBM, key)
    assert_within(result, ps.exact.log_partition(RBM))


@pytest.mark.parametrize("schedule", [pytest.param("geometric", marks=pytest.mark.slow), "sigmoid"])
def test_other_schedules(schedule, key):
    result = estimate(ISING, key, schedule=schedule)
    assert_within(result, ps.exact.log_partition(ISING))


def test_standard_error_is_calibrated(key):
    """Over 40 independent keys the estimate falls within 2 (1) reported standard errors about
    as often as for a normal error (95%, 68%): binomial bounds with failure rate 1e-3 each."""
    exact = ps.exact.log_partition(ISING)
    keys = jax.random.split(key, 40)
    z = np.array([(r.log_z - exact) / r.stderr for r in (estimate(ISING, k) for k in keys)])
    assert_coverage(z)


def assert_coverage(z: np.ndarray) -> None:
    n = z.size
    for width, probability in ((2.0, 0.9545), (1.0, 0.6827)):
        inside = int((np.abs(z) < width).sum())
        low, high = stats.binom.ppf([5e-4, 1 - 5e-4], n, probability)
        assert low <= inside <= high, (
            f"{inside} of {n} estimates within {width} se; a calibrated error gives "
            f"{low:.0f}..{high:.0f} (z = {np.round(z, 2).tolist()})"
        )


def test_estimate_and_warning_with_too_few_betas(key):
    model = ISING.with_beta(3.0)
    result = estimate(model, key, num_betas=5)
    assert result.ess < 0.1 * NUM_RUNS
    assert result.warning is not None and "effective sample size" in result.warning
    assert "warning" in str(result)


def test_result_prints_one_line(small_result):
    assert str(small_result).startswith(f"log Z = {small_result.log_z:.6g} ± ")
    assert str(small_result).count("\n") == (small_result.warning is not None)


def test_low_ess_warning_threshold():
    assert _low_ess_warning(50.0, 100, np.zeros(100)) is None
    text = _low_ess_warning(5.0, 100, np.array([0.0] * 99 + [5.0]))
    assert text is not None and "5.0 of 100 runs" in text


# -- the bidirectional bracket ---------------------------------------------------------------
def test_forward_and_reverse_ais_bracket_log_z(key):
    """With few betas the per-run bounds are far apart and bracket log Z (forward low, reverse
    from exact samples high); with enough betas both estimates agree with the exact value."""
    key_short, key_long = jax.random.split(key)
    cold = ISING.with_beta(2.5)
    lower, upper = ais_bounds(cold, key_short, num_betas=5, num_runs=NUM_RUNS,
                              progress_bar=False)  # fmt: skip
    exact = ps.exact.log_partition(cold)
    low, low_error = lower.run_average_bound()
    high, high_error = upper.run_average_bound()
    assert low + 3 * low_error < exact < high - 3 * high_error
    assert low <= lower.log_z and upper.log_z <= high  # Jensen, sample by sample
    assert upper.direction == "reverse"
    exact = ps.exact.log_partition(ISING)
    bounds = ais_bounds(ISING, key_long, num_betas=NUM_BETAS, num_runs=NUM_RUNS,
                        progress_bar=False)  # fmt: skip
    assert_within(bounds.lower, exact)
    assert_within(bounds.upper, exact)
    assert abs(bounds.gap) < 4 * np.hypot(bounds.lower.stderr, bounds.upper.stderr)
    lines = str(bounds).splitlines()  # one line, then any warning of either direction
    assert len(lines) == 1 + sum(r.warning is not None for r in bounds)
    lower, upper = bounds
    assert lines[0].startswith(
        f"{lower.log_z:.6g} ± {lower.stderr:.3g} <= log Z <= {upper.log_z:.6g} ± "
        f"{upper.stderr:.3g} (forward and reverse AIS, gap {bounds.gap:.3g}"
    )


def test_every_result_names_its_standard_error_stderr():
    import dataclasses

    for result in (AISResult, ps.infer.RBMLogLikelihood, ps.train.LogLikelihood,
                   ps.train.DBNLowerBound, ps.train.History):  # fmt: skip
        names = {field.name for field in dataclasses.fields(result)}
        assert "stderr" in names and not names & {"standard_error", "std_err", "se"}, result
    names = set(ps.infer.SteppingStoneEstimate._fields)
    assert "stderr" in names and "standard_error" not in names


@pytest.mark.slow
def test_reverse_ais_from_given_samples_and_from_a_chain(key):
    key_samples, key_given, key_chain = jax.random.split(key, 3)
    samples = draw_exact_samples(RBM, key_samples, NUM_RUNS)
    exact = ps.exact.log_partition(RBM)
    _, upper = ais_bounds(RBM, key_given, exact_samples=samples, num_betas=NUM_BETAS,
                          num_runs=NUM_RUNS, progress_bar=False)  # fmt: skip
    assert_within(upper, exact)
    _, upper = ais_bounds(RBM, key_chain, exact_samples="chain", num_betas=NUM_BETAS,
                          num_runs=NUM_RUNS, num_chain_steps=NUM_BETAS - 1,
                          progress_bar=False)  # fmt: skip
    assert upper.warning is not None and "approximate" in upper.warning
    assert_within(upper, exact, z=4.0)
    with pytest.raises(ValueError, match="exact_samples must be"):
        ais_bounds(RBM, jax.random.key(0), exact_samples=samples[:, :3])


def test_bounds_on_a_lattice_with_the_batched_transition(key):
    """A 4 x 4 periodic lattice runs the batched lattice transition both ways: forward, reverse
    from exact samples, and reverse from a chain (packed states unpacked in between)."""
    model = ps.Ising.lattice((4, 4), coupling=0.7, field=0.2, beta=1.0)
    key_exact, key_chain = jax.random.split(key)
    exact = ps.exact.log_partition(model)
    lower, upper = ais_bounds(model, key_exact, num_betas=NUM_BETAS, num_runs=NUM_RUNS,
                              progress_bar=False)  # fmt: skip
    assert_within(lower, exact)
    assert_within(upper, exact)
    assert lower.final_positions is not None and lower.final_positions.shape == (NUM_RUNS, 16)
    model.check_values(lower.final_positions)
    _, upper = ais_bounds(model, key_chain, exact_samples="chain", num_betas=NUM_BETAS,
                          num_runs=NUM_RUNS, num_chain_steps=NUM_BETAS - 1,
                          progress_bar=False)  # fmt: skip
    assert_within(upper, exact, z=4.0)


def test_exact_samples_follow_the_exact_marginals(key):
    key_ising, key_rbm = jax.random.split(key)
    for model, sample_key in ((ISING, key_ising), (random_rbm(16, 5, 1.0, seed=15), key_rbm)):
        samples = draw_exact_samples(model, sample_key, 20000)
        up = (samples == model.unit_values[1]).mean(axis=0)
        marginals = ps.exact.marginals(model)
        error = np.sqrt(marginals * (1 - marginals) / 20000)
        assert np.all(np.abs(up - marginals) < 4.5 * error)


# -- lattices against Kaufman ----------------------------------------------------------------
LATTICE_FAST = [
    # (side, beta, num_betas, num_runs): standard errors of 0.012-0.017 nats
    (16, 0.3, 2049, 128),
    (8, BETA_CRITICAL, 1281, 512),
    (8, 0.6, 2305, 512),
]
LATTICE_SLOW = [
    (16, BETA_CRITICAL, 16385, 512),
    (16, 0.6, 32769, 512),
    (32, 0.3, 8193, 256),
]


def check_lattice(side, beta, num_betas, num_runs, key, kernel=None, nats=0.05):
    model = ps.Ising.lattice((side, side), beta=beta)
    result = estimate(model, key, num_betas=num_betas, num_runs=num_runs, kernel=kernel)
    assert_within(result, ising2d_log_partition(side, side, beta), nats=nats)
    assert result.warning is None


@pytest.mark.parametrize("side, beta, num_betas, num_runs", LATTICE_FAST)
def test_periodic_lattice_against_kaufman(side, beta, num_betas, num_runs, key):
    check_lattice(side, beta, num_betas, num_runs, key)


@pytest.mark.slow
@pytest.mark.parametrize("side, beta, num_betas, num_runs", LATTICE_SLOW)
def test_periodic_lattice_against_kaufman_slow(side, beta, num_betas, num_runs, key):
    check_lattice(side, beta, num_betas, num_runs, key)


@pytest.mark.slow
@pytest.mark.parametrize("beta, num_betas", [(BETA_CRITICAL, 65537), (0.6, 131073)])
def test_large_lattice_at_and_below_critical_temperature(beta, num_betas, key):
    """L = 32 at and below T_c within 0.05 nats and 3 standard errors of Kaufman's log Z; the
    standard error is held below 0.017 so that 0.05 nats is at least 3 of them (about 1e11
    site updates each with the batched lattice transition, a minute or two on 2 cores)."""
    model = ps.Ising.lattice((32, 32), beta=beta)
    result = estimate(model, key, num_betas=num_betas, num_runs=1024)
    assert result.stderr < 0.017, str(result)
    assert result.warning is None
    assert_within(result, ising2d_log_partition(32, 32, beta), nats=0.05)


def test_swendsen_wang_transition(key):
    from physsamp.kernels import swendsen_wang

    # (a 40-key check of this setting gave a mean z of -0.2 +- 0.2: calibrated)
    result = estimate(ISING, jax.random.fold_in(key, 1), kernel=swendsen_wang)
    assert_within(result, ps.exact.log_partition(ISING))


# -- RBM log-likelihood ----------------------------------------------------------------------
@pytest.mark.slow
def test_trained_rbm_log_likelihood_on_digits(key):
    """A 64 x 20 RBM trained by CD-1 on scikit-learn's binarised 8 x 8 digits: the average
    log-likelihood within 0.1 nats (and 3 standard errors) of the exact one, whose log Z sums
    the 2^20 hidden states."""
    data = digits_data()
    rbm = train_rbm(data, num_hidden=20, seed=1)
    assert np.abs(np.asarray(rbm.weights)).max() > 2.0  # trained: far from the base
    exact = float(np.mean(rbm.log_prob(data))) - ps.exact.log_partition(rbm)
    result = rbm_log_likelihood(rbm, data, key, num_betas=4097, num_runs=256,
                                progress_bar=False)  # fmt: skip
    assert abs(result.mean - exact) < min(0.1, 3 * result.stderr), str(result)
    assert result.stderr == result.log_partition.stderr
    assert result.log_probs.shape == (len(data),) and result.data_stderr > 0
    np.testing.assert_allclose(result.log_probs.mean(), result.mean)


def test_rbm_log_likelihood_validates_data(key):
    with pytest.raises(ValueError, match="0/1 values"):
        rbm_log_likelihood(RBM, np.full((2, 12), 2), key)
    with pytest.raises(ValueError, match=r"\[rows, 12\]"):
        rbm_log_likelihood(RBM, np.zeros((2, 5)), key)
    with pytest.raises(TypeError, match="needs an RBM"):
        rbm_log_likelihood(ISING, np.zeros((2, 10)), key)


def test_base_rate_bias_is_the_smoothed_logit_of_the_marginals():
    data = np.array([[1, 0], [1, 0], [1, 1], [0, 0]])
    rate = (np.array([3, 1]) + 0.5) / 5.0
    np.testing.assert_allclose(base_rate_bias(data), np.log(rate / (1 - rate)))


# -- kernels ---------------------------------------------------------------------------------
def test_kernel_forms_resolve_to_the_same_cached_transition():
    by_class = resolve_kernel(BlockGibbs, ISING)
    assert resolve_kernel(block_gibbs, ISING) is by_class
    assert resolve_kernel(None, ISING) is by_class
    step = block_gibbs.build_kernel(num_sweeps=2)
    by_step = resolve_kernel(step, ISING)
    assert resolve_kernel(step, ISING) is by_step
    assert resolve_kernel((block_gibbs.init, step), ISING) is by_step
    assert resolve_kernel(None, RBM) is not by_class


def test_bad_kernels_are_refused(key):
    with pytest.raises(TypeError, match="kernel must be"):
        resolve_kernel("gibbs", ISING)
    with pytest.raises(TypeError, match="kernel_init"):
        resolve_kernel(lambda rng_key, state, model: (state, None), ISING)
    with pytest.raises(TypeError, match="not a transition kernel"):
        resolve_kernel(ais_kernels, ISING)
    with pytest.raises(TypeError, match="Ising model, Boltzmann machine or RBM"):
        ais_log_partition(object(), key)
    with pytest.raises(ValueError, match="num_runs"):
        ais_log_partition(ISING, key, num_runs=1)


# -- storage and plots -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_result():
    return estimate(ISING, jax.random.key(3), chunk_length=32)


def test_inference_data_holds_every_log_weight(small_result):
    idata = ais_to_inference_data(small_result)
    np.testing.assert_array_equal(idata.sample_stats.log_weight.values[0],
                                  small_result.log_weights)  # fmt: skip
    assert idata.sample_stats.weight.values.sum() == pytest.approx(1.0)
    assert idata.sample_stats.log_weight_path.shape == (1, NUM_RUNS, 4)
    assert idata.constant_data.schedule.shape == (NUM_BETAS,)
    assert idata.sample_stats.attrs["log_z"] == small_result.log_z


def test_log_z_along_the_path_ends_at_the_estimate(small_result):
    fractions, log_z = small_result.log_z_along_path()
    assert fractions.tolist() == [0.25, 0.5, 0.75, 1.0]
    assert log_z[-1] == pytest.approx(small_result.log_z)
    exact_mid = ps.exact.log_partition(ISING.with_beta(0.5))
    assert abs(log_z[1] - exact_mid) < 0.2


def test_plots_draw_without_a_display(small_result, tmp_path):
    figure = plot_ais(small_result)
    assert len(figure.axes) == 2
    figure.savefig(tmp_path / "ais.png")
    results = ais_log_z_vs_num_betas(ISING, jax.random.key(4), num_betas=(33, 129),
                                     num_runs=NUM_RUNS, progress_bar=False)  # fmt: skip
    assert [r.num_betas for r in results] == [33, 129]
    figure = plot_log_z_vs_num_betas(results, exact=ps.exact.log_partition(ISING))
    figure.savefig(tmp_path / "log_z.png")
    assert (tmp_path / "log_z.png").stat().st_size > 0


def test_progress_bar_does_not_change_the_result(key, capsys):
    key_a = jax.random.clone(key)
    quiet = estimate(ISING, key_a, chunk_length=32)
    shown = estimate(ISING, key, chunk_length=32, progress_bar=True)
    np.testing.assert_array_equal(quiet.log_weights, shown.log_weights)
    assert "AIS" in capsys.readouterr().err


# -- slow --------------------------------------------------------------------------------------
@pytest.mark.slow
def test_standard_error_is_calibrated_over_many_keys(key):
    exact = ps.exact.log_partition(ISING.with_beta(1.5))
    keys = jax.random.split(key, 200)
    results = [estimate(ISING.with_beta(1.5), k) for k in keys]
    assert_coverage(np.array([(r.log_z - exact) / r.stderr for r in results]))


@pytest.mark.slow
@pytest.mark.parametrize(
    "model",
    [
        random_ising(20, 1.0, seed=21),
        random_boltzmann(20, 1.0, seed=22),
        random_rbm(20, 18, 1.0, seed=23),
    ],
    ids=["ising", "boltzmann", "rbm"],
)
def test_twenty_site_models_match_exact(model, key):
    result = estimate(model, key, num_betas=2049, num_runs=256)
    assert_within(result, ps.exact.log_partition(model))


# a second Python with two host devices; the default run keeps block Gibbs' and the
# Gibbs composite's parallel chain tests
@pytest.mark.slow
def test_runs_split_over_devices_in_subprocess(tmp_path):
    """Two host devices: the runs of a lattice, an RBM and a generic-kernel estimate are
    sharded over them; every run makes its one-device chain and log-weight (to rounding)."""
    script = """
        import jax, numpy as np, physsamp as ps
        from physsamp.infer.ais import ais_log_partition
        from physsamp.kernels import swendsen_wang

        assert jax.device_count() == 2
        rbm = ps.RBM(np.random.default_rng(0).normal(0, 0.5, (12, 6)), 0.1, -0.1)
        cases = [
            (ps.Ising.lattice((8, 8), beta=0.4), {}),
            (rbm, {}),
            (ps.Ising.lattice((4, 4), coupling=0.5, beta=0.8), {"kernel": swendsen_wang}),
        ]
        for model, options in cases:
            one, two = (
                ais_log_partition(model, jax.random.key(3), 65, 64, progress_bar=False,
                                  chunk_length=32, devices=devices, **options)
                for devices in (None, jax.devices())
            )
            np.testing.assert_allclose(two.log_weights, one.log_weights, rtol=1e-5)
            np.testing.assert_array_equal(two.final_positions, one.final_positions)
        try:
            ais_log_partition(rbm, jax.random.key(3), 9, 63, devices=jax.devices())
        except ValueError as error:
            assert "split evenly" in str(error)
        else:
            raise AssertionError("63 runs over 2 devices were accepted")
        print("ok")
    """
    run_with_host_devices(script, tmp_path, timeout=600)
