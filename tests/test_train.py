"""Training: exact recovery of a known Boltzmann machine, agreement of the sampling and exact
gradients, the digits RBM against scikit-learn, the divergence monitor, checkpoints and bad
input."""

import jax
import networkx as nx
import numpy as np
import optax
import pytest

import physsamp as ps
from physsamp.train import _phases
from physsamp.train.fit import History, divergence_message

ALPHA = 1e-3  # each statistical test's false-alarm rate


def exact_draws(model, rng, num):
    probabilities = ps.exact.probabilities(model)
    return ps.exact.states(model)[rng.choice(probabilities.size, num, p=probabilities)]


def fisher_standard_errors(model, num_rows):
    """The asymptotic standard errors of the maximum-likelihood couplings and fields from
    ``num_rows`` exact draws: the inverse covariance of the sufficient statistics
    (x_i x_j per edge, x_i per site) under the model, by enumeration."""
    states = ps.exact.states(model).astype(np.float64)
    probabilities = ps.exact.probabilities(model)
    edges = np.asarray(model.edges)
    stats = np.concatenate([states[:, edges[:, 0]] * states[:, edges[:, 1]], states], axis=1)
    centred = stats - probabilities @ stats
    covariance = centred.T @ (centred * probabilities[:, None])
    return np.sqrt(np.diag(np.linalg.inv(covariance)) / num_rows)


def flat_parameters(model):
    return np.concatenate([np.asarray(model.edge_couplings), np.asarray(model.field)])


@pytest.fixture(scope="module")
def known_ising():
    """Data drawn exactly from a 6-spin Ising model with random couplings and fields."""
    rng = np.random.default_rng(3)
    graph = nx.complete_graph(6)
    truth = ps.Ising(graph, rng.normal(0, 0.5, 15), rng.normal(0, 0.3, 6))
    data = exact_draws(truth, rng, 5000)
    return graph, truth, data


@pytest.fixture(scope="module")
def maximum_likelihood(known_ising):
    graph, _, data = known_ising
    result = ps.train.fit(
        ps.Ising.random(graph, jax.random.key(0)),
        data,
        method="exact",
        num_epochs=100,
        rng_key=jax.random.key(1),
        eval_every=100,
        progress_bar=False,
    )
    return result


def test_inverse_ising_by_exact_moment_matching_recovers_the_couplings(
    known_ising, maximum_likelihood
):
    _graph, truth, data = known_ising
    model = maximum_likelihood.model
    # The maximum-likelihood fit matches the data's moments exactly...
    states = ps.exact.states(model).astype(np.float64)
    model_means = ps.exact.probabilities(model) @ states
    np.testing.assert_allclose(model_means, data.mean(axis=0), atol=2e-3)
    # ...and lies within its statistical error of the truth (chi-square over 21 parameters).
    z = (flat_parameters(model) - flat_parameters(truth)) / fisher_standard_errors(truth, 5000)
    assert np.sum(z**2) < 46.8, z  # the 0.999 quantile of chi-square with 21 degrees of freedom


@pytest.mark.slow
def test_pseudolikelihood_agrees_with_maximum_likelihood(known_ising, maximum_likelihood):
    graph, truth, data = known_ising
    mle = flat_parameters(maximum_likelihood.model)
    errors = fisher_standard_errors(truth, 5000)
    pseudo = ps.train.fit(
        ps.Ising.random(graph, jax.random.key(0)),
        data,
        method="pseudolikelihood",
        num_epochs=100,
        rng_key=jax.random.key(1),
        eval_every=100,
        progress_bar=False,
    )
    # Both estimators are consistent; on this data they differ by a fraction of the error.
    assert np.max(np.abs(flat_parameters(pseudo.model) - mle) / errors) < 1.0


@pytest.mark.slow
def test_the_pcd_gradient_agrees_with_the_exact_gradient(known_ising, maximum_likelihood):
    graph, truth, data = known_ising
    mle = flat_parameters(maximum_likelihood.model)
    errors = fisher_standard_errors(truth, 5000)
    persistent = ps.train.fit(
        ps.Ising.random(graph, jax.random.key(0)),
        data,
        method="pcd",
        batch_size=100,
        num_epochs=200,
        rng_key=jax.random.key(2),
        eval_every=200,
        progress_bar=False,
    )
    assert np.max(np.abs(flat_parameters(persistent.model) - mle) / errors) < 3.0
    assert (
        abs(persistent.history.log_likelihood[-1] - maximum_likelihood.history.log_likelihood[-1])
        < 0.01
    )


def test_clamped_sweeps_sample_the_hidden_units_given_the_visible(key):
    """Gibbs sweeps over the hidden units of a Boltzmann machine with the visible ones held
    at a data row draw from the exact conditional p(h | v)."""
    rng = np.random.default_rng(0)
    graph = nx.complete_graph(6)
    model = ps.BoltzmannMachine(graph, rng.normal(0, 1.0, 15), rng.normal(0, 0.5, 6))
    layout = _phases.Layout(np.array([0, 1, 2]), np.array([3, 4, 5]))
    row = np.array([1, 0, 1], np.int8)
    chains = 4000
    x = _phases.assemble(
        np.broadcast_to(row, (chains, 3)), np.zeros((chains, 3), np.int8), layout, 6
    )
    blocks = _phases.free_blocks_of(model, layout)
    sweeps = jax.jit(lambda key, model, x: _phases.clamped_sweeps(key, model, x, blocks, 5))
    draws = np.asarray(sweeps(key, model, x))
    assert (draws[:, :3] == row).all()
    hidden = draws[:, 3:] @ np.array([4, 2, 1])
    states = ps.exact.states(model)
    weights = ps.exact.probabilities(model)[(states[:, :3] == row).all(axis=1)]
    expected = chains * weights / weights.sum()
    observed = np.bincount(hidden, minlength=8)
    statistic = np.sum((observed - expected) ** 2 / expected)
    assert statistic < 24.3  # the 0.999 quantile of chi-square with 7 degrees of freedom


@pytest.mark.slow
def test_boltzmann_machine_with_hidden_units_learns(key):
    rng = np.random.default_rng(1)
    data = (rng.random((300, 6)) < np.array([0.9, 0.9, 0.1, 0.1, 0.5, 0.5])).astype(np.int8)
    data[:, 5] = data[:, 4]  # a correlation the hidden units can explain
    start = ps.BoltzmannMachine.random(8, jax.random.key(0), scale=0.1)
    results = {
        method: ps.train.fit(
            start,
            data,
            hidden=[6, 7],
            method=method,
            num_epochs=30,
            rng_key=jax.random.key(1),
            progress_bar=False,
        )
        for method in ("exact", "pcd")
    }
    independent = ps.train.log_likelihood(
        ps.BoltzmannMachine.from_matrix(
            np.zeros((6, 6)), np.log(data.mean(0) / (1 - data.mean(0)))
        ),
        data,
    ).mean
    for result in results.values():
        history = result.history
        assert history.log_likelihood_method == "exact"
        # Independent units cannot explain the copied column; the hidden units do.
        assert history.log_likelihood[-1] > independent + 0.3, (history.log_likelihood, independent)


def digits_split():
    from sklearn import datasets  # the dev group has it
    from sklearn import model_selection as selection

    pixels, labels = datasets.load_digits(return_X_y=True)
    binary = (pixels >= 8).astype(np.int8)
    return selection.train_test_split(binary, test_size=360, stratify=labels, random_state=0)


def scikit_learn_log_likelihood(train, test, learning_rate, epochs, hidden):
    from sklearn.neural_network import BernoulliRBM

    fitted = BernoulliRBM(
        n_components=hidden,
        learning_rate=learning_rate,
        n_iter=epochs,
        batch_size=10,
        random_state=0,
    ).fit(train)
    rbm = ps.RBM(fitted.components_.T, fitted.intercept_visible_, fitted.intercept_hidden_)
    return ps.train.log_likelihood(rbm, test).mean


@pytest.mark.slow
def test_digits_rbm_beats_scikit_learn_on_the_same_data_and_epochs():
    train, test = digits_split()
    result = ps.train.fit(
        ps.RBM.random(64, 16, jax.random.key(0)),
        train,
        num_epochs=100,
        rng_key=jax.random.key(1),
        eval_data=test,
        eval_every=50,
        progress_bar=False,
    )
    ours = result.history.log_likelihood[-1]
    assert result.history.log_likelihood_method == "exact"
    assert result.history.stderr[-1] == 0.0
    theirs = {lr: scikit_learn_log_likelihood(train, test, lr, 100, 16) for lr in (0.05, 0.01)}
    # Measured on this split: -21.31 (lr 0.05) and -19.90 (lr 0.01) against about -18.5.
    assert ours > max(theirs.values()) + 0.5, (ours, theirs)


def test_the_monitor_reports_a_falling_log_likelihood():
    history = History()
    for epoch, (likelihood, error) in enumerate([(-20.0, 0.08), (-18.0, 0.06), (-19.5, 0.05)]):
        history.epoch.append(epoch)
        history.log_likelihood.append(likelihood)
        history.stderr.append(0.1)
        history.reconstruction_error.append(error)
        history.pseudo_log_likelihood.append(-15.0)
    message = divergence_message(history)
    assert message is not None and "fell from -18.000 (epoch 1) to -19.500" in message
    history.reconstruction_error[-1] = 0.07  # no proxy improved: no divergence claimed
    assert divergence_message(history) is None
    history.reconstruction_error[-1] = 0.05
    history.stderr[-1] = 0.5  # a fall within the noise
    assert divergence_message(history) is None


@pytest.mark.slow
def test_divergence_of_contrastive_divergence_is_caught():
    """CD-1 with a large constant learning rate: the reconstruction error keeps falling while
    the held-out log-likelihood (AIS, 64 hidden units) drops by nats."""
    train, test = digits_split()
    with pytest.warns(ps.train.TrainingDivergenceWarning, match="training is diverging"):
        result = ps.train.fit(
            ps.RBM.random(64, 64, jax.random.key(0)),
            train,
            method="cd",
            optimizer=optax.sgd(0.1),
            num_epochs=300,
            rng_key=jax.random.key(1),
            eval_data=test,
            eval_every=25,
            progress_bar=False,
        )
    history = result.history
    best = int(np.argmax(history.log_likelihood))
    assert min(history.log_likelihood[best:]) < history.log_likelihood[best] - 1.0
    assert history.reconstruction_error[-1] < history.reconstruction_error[best]
    assert "training is diverging" in history.warnings[0]


@pytest.mark.parametrize("method", ["pcd", pytest.param("pt-pcd", marks=pytest.mark.slow)])
def test_a_resumed_run_ends_bit_identical(tmp_path, method):
    """A run interrupted after its checkpoint at epoch 4 and resumed equals the uninterrupted
    run bit for bit (which also shows that the same key gives the same model)."""
    rng = np.random.default_rng(0)
    data = rng.integers(0, 2, (60, 6))
    start = ps.RBM.random(6, 3, jax.random.key(0))
    options = dict(
        method=method, num_epochs=6, eval_every=2, progress_bar=False, batch_size=10, num_chains=4
    )
    straight = ps.train.fit(start, data, rng_key=jax.random.key(1), **options)

    path = tmp_path / "run.npz"

    def interrupt(epoch, model, history):
        if epoch == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ps.train.fit(
            start,
            data,
            rng_key=jax.random.key(1),
            checkpoint=str(path),
            checkpoint_every=2,
            callback=interrupt,
            **options,
        )
    assert ps.train.read_checkpoint(path)[0]["history"]["epoch"] == [0, 2, 4]
    resumed = ps.train.fit(start, data, rng_key=jax.random.key(1), resume_from=str(path), **options)
    for a, b in zip(
        jax.tree_util.tree_leaves(straight.state),
        jax.tree_util.tree_leaves(resumed.state),
        strict=True,
    ):
        if jax.dtypes.issubdtype(a.dtype, jax.dtypes.prng_key):
            a, b = jax.random.key_data(a), jax.random.key_data(b)
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert straight.history.log_likelihood == resumed.history.log_likelihood
    assert (
        straight.history.train_reconstruction_error[4:]
        == (resumed.history.train_reconstruction_error[4:])
    )


def test_damaged_or_foreign_checkpoints_are_refused(tmp_path):
    data = np.random.default_rng(0).integers(0, 2, (40, 5))
    start = ps.RBM.random(5, 2, jax.random.key(0))
    path = tmp_path / "run.npz"
    ps.train.fit(
        start,
        data,
        num_epochs=2,
        rng_key=jax.random.key(1),
        checkpoint=str(path),
        progress_bar=False,
    )
    good = path.read_bytes()
    (tmp_path / "cut.npz").write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match="corrupt, truncated"):
        ps.train.fit(
            start,
            data,
            num_epochs=4,
            rng_key=jax.random.key(1),
            resume_from=str(tmp_path / "cut.npz"),
            progress_bar=False,
        )
    with pytest.raises(ValueError, match=r"other arguments.*batch_size"):
        ps.train.fit(
            start,
            data,
            num_epochs=4,
            rng_key=jax.random.key(1),
            batch_size=5,
            resume_from=str(path),
            progress_bar=False,
        )
    # A write that fails leaves the previous checkpoint as it was.
    original = np.savez

    def failing_savez(*args, **kwargs):
        raise OSError("disk full")

    np.savez = failing_savez
    try:
        with pytest.raises(OSError, match="disk full"):
            ps.train.fit(
                start,
                data,
                num_epochs=2,
                rng_key=jax.random.key(2),
                checkpoint=str(path),
                progress_bar=False,
            )
    finally:
        np.savez = original
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".checkpoint")] == []


def test_centred_gradients_with_zero_offsets_are_the_plain_gradients():
    from physsamp.train.fit import _Settings, _Trainer

    rows = np.zeros((4, 3), np.int8)
    model = ps.RBM.random(3, 2, jax.random.key(0))
    settings = _Settings(4, "cd", 2, optax.sgd(0.1), 1, 2, 2, (0, 1, 2), (), True)
    trainer = _Trainer(model, settings)
    gradient = {"weights": np.ones((3, 2)), "visible_bias": np.ones(3), "hidden_bias": np.ones(2)}
    zero = (np.zeros(3, np.float32), np.zeros(2, np.float32))
    centred, _ = trainer._centre(gradient, model, rows, zero)
    for name, value in gradient.items():
        np.testing.assert_allclose(np.asarray(centred[name]), value)


@pytest.mark.slow
def test_centred_training_learns_as_well_as_plain_training():
    data = (np.random.default_rng(0).random((200, 8)) < 0.8).astype(np.int8)
    data[:100] = 1 - data[:100]  # two clusters
    runs = [
        ps.train.fit(
            ps.RBM.random(8, 3, jax.random.key(0)),
            data,
            num_epochs=20,
            optimizer=optax.sgd(0.2),
            centered=centered,
            rng_key=jax.random.key(1),
            eval_every=20,
            progress_bar=False,
        ).history.log_likelihood
        for centered in (False, True)
    ]
    assert runs[1][-1] > runs[1][0] + 0.5
    assert abs(runs[1][-1] - runs[0][-1]) < 0.2, runs


def test_random_starting_points():
    rbm = ps.RBM.random(10, 4, jax.random.key(0), scale=0.1)
    assert rbm.weights.shape == (10, 4) and 0.03 < float(np.std(rbm.weights)) < 0.2
    machine = ps.BoltzmannMachine.random(nx.cycle_graph(5), jax.random.key(1))
    assert machine.edges.shape == (5, 2)
    assert ps.Ising.random(4, jax.random.key(2)).edges.shape == (6, 2)
    with pytest.raises(ValueError, match="num_hidden must be a positive integer"):
        ps.RBM.random(3, 0, jax.random.key(0))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (np.full((3, 4), 0.5), "row 0 has 0.5 at column 0; RBM units take the values 0 and 1"),
        (np.array([[1, -1, 1, 1]]), r"-1/\+1 spins but RBM units are 0/1: pass \(data \+ 1\) // 2"),
        (np.ones((3, 5)), "rows have length 5, but the model has 4 visible units"),
        (np.array([[0, 1, np.nan, 0]]), "NaN at row 0, column 2"),
        (np.zeros((0, 4)), "empty"),
        ([["a", "b", "c", "d"]], "numeric"),
    ],
)
def test_bad_data_is_refused_before_any_compute(data, message):
    with pytest.raises(ValueError, match=message):
        ps.train.fit(
            ps.RBM.random(4, 2, jax.random.key(0)),
            data,
            num_epochs=1,
            rng_key=jax.random.key(1),
            progress_bar=False,
        )


def test_bad_arguments_are_refused():
    keys = iter(jax.random.split(jax.random.key(0), 32))

    def key_():
        return next(keys)

    bits = np.zeros((10, 4), np.int8)
    with pytest.raises(ValueError, match=r"0/1 bits but Ising units are -1/\+1"):
        ps.train.fit(ps.Ising.random(4, key_()), bits, num_epochs=1, rng_key=key_())
    with pytest.raises(ValueError, match="unknown method"):
        ps.train.fit(ps.RBM.random(4, 2, key_()), bits, num_epochs=1, rng_key=key_(), method="sgd")
    with pytest.raises(ValueError, match="pseudolikelihood fits fully visible"):
        ps.train.fit(
            ps.RBM.random(4, 2, key_()),
            bits,
            num_epochs=1,
            rng_key=key_(),
            method="pseudolikelihood",
        )
    with pytest.raises(ValueError, match="at most 16 enumerated units"):
        ps.train.fit(
            ps.RBM.random(20, 20, key_()),
            np.zeros((10, 20)),
            num_epochs=1,
            rng_key=key_(),
            method="exact",
        )
    with pytest.raises(ValueError, match="hidden unit 9 is not a node"):
        ps.train.fit(
            ps.BoltzmannMachine.random(6, key_()), bits, hidden=[4, 9], num_epochs=1, rng_key=key_()
        )
    with pytest.raises(ValueError, match="batch_size 20 is larger than the data"):
        ps.train.fit(ps.RBM.random(4, 2, key_()), bits, num_epochs=1, rng_key=key_(), batch_size=20)
    with pytest.raises(ValueError, match="num_epochs must be a positive integer"):
        ps.train.fit(ps.RBM.random(4, 2, key_()), bits, num_epochs=0, rng_key=key_())
    with pytest.raises(TypeError, match="trains an RBM, a BoltzmannMachine or an Ising"):
        ps.train.fit(
            ps.exact.normalized(ps.RBM.random(4, 2, key_())), bits, num_epochs=1, rng_key=key_()
        )


def test_log_likelihood_exact_and_ais_agree():
    rng = np.random.default_rng(0)
    rbm = ps.RBM(rng.normal(0, 0.5, (30, 12)), rng.normal(0, 0.2, 30), rng.normal(0, 0.2, 12))
    data = rng.integers(0, 2, (50, 30))
    exact = ps.train.log_likelihood(rbm, data)
    assert exact.method == "exact" and exact.stderr == 0.0
    estimate = ps.train.log_likelihood(
        rbm, data, jax.random.key(1), method="ais", ais_options={"num_betas": 300, "num_runs": 64}
    )
    assert estimate.method == "ais" and estimate.stderr > 0
    assert abs(estimate.mean - exact.mean) < 4 * estimate.stderr
    np.testing.assert_allclose(
        estimate.log_probs - exact.log_probs, estimate.mean - exact.mean, atol=1e-4
    )
    assert str(exact).startswith("log-likelihood")
    with pytest.raises(ValueError, match="at most 24"):
        ps.train.log_likelihood(ps.RBM(np.zeros((30, 30))), data, method="exact")


@pytest.mark.parametrize(
    "model",
    [
        ps.Ising.lattice((6, 6), coupling=np.linspace(0.1, 0.5, 72).reshape(2, 6, 6), beta=0.4),
        pytest.param(
            ps.Ising.lattice((5, 4), coupling=0.3, field=0.1, periodic=False),
            marks=pytest.mark.slow,
        ),
        pytest.param(
            ps.BoltzmannMachine(nx.petersen_graph(), weight=0.2, bias=-0.1),
            marks=pytest.mark.slow,
        ),
        pytest.param(
            ps.RBM(np.linspace(-1, 1, 12).reshape(4, 3), 0.1, -0.2, beta=0.7),
            marks=pytest.mark.slow,
        ),
    ],
    ids=["periodic lattice", "open lattice", "graph", "rbm"],
)
def test_rebuilt_models_sample_the_same_chain_bit_for_bit(model, key):
    """The training loop's map from parameters back to a model (with derived arrays such as
    neighbour couplings and a lattice's bond couplings recomputed) reproduces the model."""
    from physsamp.kernels import block_gibbs
    from physsamp.train._parameters import parameters_of, rebuilder

    rebuilt = jax.jit(rebuilder(model))(parameters_of(model))
    start = block_gibbs.init(model.uniform_configuration(jax.random.key(0)), model)
    step = jax.jit(block_gibbs.build_kernel(num_sweeps=5))
    with jax.debug_key_reuse(False):  # the same key on purpose: the same chain is expected
        original, _ = step(key, start, model)
        again, _ = step(key, start, rebuilt)
    np.testing.assert_array_equal(np.asarray(original.position), np.asarray(again.position))
    x = np.asarray(original.position)
    np.testing.assert_array_equal(np.asarray(model.energy(x)), np.asarray(rebuilt.energy(x)))


@pytest.mark.slow
def test_each_fit_starts_from_its_own_model():
    """Compiled trainers are reused across fits of the same structure; the starting
    parameters must still come from each call's model."""
    data = np.random.default_rng(0).integers(0, 2, (20, 6))
    frozen = optax.sgd(0.0)
    for seed in (1, 2):
        start = ps.RBM.random(6, 4, jax.random.key(seed), scale=1.0)
        result = ps.train.fit(
            start,
            data,
            num_epochs=1,
            rng_key=jax.random.key(0),
            optimizer=frozen,
            progress_bar=False,
        )
        np.testing.assert_array_equal(np.asarray(result.model.weights), np.asarray(start.weights))
