"""The plots of physsamp.plots: each returns a figure with the expected axes, and draws under
the Agg backend (no display, no pyplot)."""

import io
import json

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

import physsamp as ps
from physsamp import plots, plots_tempering
from physsamp.infer import ais
from physsamp.train import FitResult, History, divergence_message

matplotlib.use("Agg")


def render(figure: Figure) -> None:
    """Draw the figure to PNG bytes: what ``savefig`` does, without a file."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    assert buffer.getvalue().startswith(b"\x89PNG")


def make_history(log_likelihood, reconstruction, pseudo, stderr=0.0, method="exact"):
    """A history as fit records it, the divergence monitor run after every evaluation."""
    history = History(log_likelihood_method=method)
    for index, values in enumerate(zip(log_likelihood, reconstruction, pseudo, strict=True)):
        history.epoch.append(10 * index)
        history.log_likelihood.append(values[0])
        history.stderr.append(stderr)
        history.data_stderr.append(0.2)
        history.reconstruction_error.append(values[1])
        history.pseudo_log_likelihood.append(values[2])
        history.seconds.append(float(index))
        message = divergence_message(history)
        if message is not None and not history.warnings:
            history.warnings.append(message)
            history.warning_epochs.append(history.epoch[-1])
    history.train_reconstruction_error = list(np.linspace(0.2, 0.06, 10 * index))
    return history


def improving_history(stderr=0.0, method="exact"):
    return make_history([-40.0, -22.0, -20.0, -19.0], [0.25, 0.1, 0.08, 0.07],
                        [-40.0, -20.0, -18.0, -17.0], stderr, method)  # fmt: skip


def diverging_history():
    """The log-likelihood peaks at epoch 30 and falls while both proxies keep improving; the
    monitor fires at epoch 60."""
    return make_history(
        [-40.0, -22.0, -20.0, -19.5, -19.8, -20.5, -22.5, -23.0],
        [0.25, 0.1, 0.08, 0.075, 0.07, 0.068, 0.066, 0.064],
        [-40.0, -20.0, -18.0, -17.0, -16.5, -16.0, -15.8, -15.5],
        stderr=0.3,
        method="ais",
    )


def vertical_lines_at(axis) -> list[float]:
    """Where the dotted vertical lines (the warning's mark) stand."""
    dotted = (line for line in axis.lines if line.get_linestyle() == ":")
    return [line.get_xdata()[0] for line in dotted if len(set(line.get_xdata())) == 1]


# -- plot_history --------------------------------------------------------------------------------
def test_history_has_two_panels_and_the_pseudo_likelihood_axis():
    figure = plots.plot_history(improving_history())
    assert isinstance(figure, Figure)
    assert len(figure.axes) == 3
    top = figure.axes[0]
    assert len(top.collections) == 0  # exact: no band of standard errors
    assert vertical_lines_at(top) == []  # no warning, no mark
    render(figure)


def test_history_draws_the_band_of_an_ais_estimate():
    top = plots.plot_history(improving_history(stderr=0.4, method="ais")).axes[0]
    (band,) = top.collections
    lower = band.get_paths()[0].vertices[:, 1].min()
    assert lower == pytest.approx(-40.0 - 2 * 0.4)


def test_history_marks_the_epoch_of_the_divergence_warning():
    history = diverging_history()
    assert len(history.warnings) == 1
    figure = plots.plot_history(history)
    top, bottom = figure.axes[:2]
    assert vertical_lines_at(top) == [60]
    assert vertical_lines_at(bottom) == [60]
    render(figure)


def test_history_from_json_and_from_a_fit_result():
    history = diverging_history()
    restored = json.loads(json.dumps(history.to_dict()))
    assert len(plots.plot_history(restored).axes) == 3
    result = FitResult(ps.RBM(np.zeros((4, 2))), history, state=None, method="pcd")  # type: ignore[arg-type]
    assert len(plots.plot_history(result).axes) == 3
    with pytest.raises(TypeError, match="History"):
        plots.plot_history([1, 2, 3])


def test_history_without_scores_leaves_out_the_pseudo_likelihood_axis():
    """A Boltzmann machine with hidden units too large to enumerate: no log-likelihood, no
    pseudo-likelihood, no held-out reconstruction error; the training error remains."""
    nan = float("nan")
    history = make_history([nan, nan], [nan, nan], [nan, nan], stderr=nan, method="none")
    figure = plots.plot_history(history)
    assert len(figure.axes) == 2
    render(figure)


def test_history_draws_into_a_given_figure():
    figure = Figure(layout="constrained")
    left, right = figure.subfigures(1, 2)
    assert plots.plot_history(improving_history(), figure=left) is left
    plots.plot_samples(np.zeros((4, 64)), figure=right)
    assert len(figure.axes) == 4
    render(figure)


# -- plot_filters --------------------------------------------------------------------------------
def test_filters_of_an_rbm(key):
    rbm = ps.RBM.random(64, 16, key, scale=1.0)
    figure = plots.plot_filters(rbm)
    assert len(figure.axes) == 2  # the mosaic and its colour bar
    (image,) = figure.axes[0].images
    assert image.get_array().shape == (4 * 9 - 1, 4 * 9 - 1)  # 4 x 4 tiles, 1-pixel gaps
    limit = float(np.abs(np.asarray(rbm.weights)).max())
    assert image.norm.vmin == pytest.approx(-limit) and image.norm.vmax == pytest.approx(limit)
    render(figure)


def test_filters_from_a_matrix_with_a_limit():
    weights = np.arange(6 * 7, dtype=float).reshape(6, 7) - 20
    figure = plots.plot_filters(weights, shape=(2, 3), max_filters=5)
    (image,) = figure.axes[0].images
    assert image.get_array().shape == (2 * 3 - 1, 3 * 4 - 1)  # 5 tiles: 3 columns, 2 rows
    mosaic = np.ma.getdata(image.get_array())
    np.testing.assert_array_equal(mosaic[:2, :3], weights[:, 0].reshape(2, 3))


def test_filters_refuse_a_wrong_shape_or_type(key):
    with pytest.raises(ValueError, match=r"64 pixels each, which shape=\(7, 7\)"):
        plots.plot_filters(ps.RBM.random(64, 4, key), shape=(7, 7))
    with pytest.raises(TypeError, match="RBM or a weight matrix"):
        plots.plot_filters(ps.Ising.lattice((4, 4)))


# -- plot_samples --------------------------------------------------------------------------------
def test_samples_grid():
    bits = np.random.default_rng(0).integers(0, 2, (2, 30, 64))  # chains, draws, pixels
    figure = plots.plot_samples(bits, max_samples=25)
    assert len(figure.axes) == 1
    (image,) = figure.axes[0].images
    assert image.get_array().shape == (5 * 9 - 1, 5 * 9 - 1)
    assert (image.norm.vmin, image.norm.vmax) == (0.0, 1.0)
    render(figure)


def test_samples_of_spins_and_a_single_row():
    spins = np.where(np.random.default_rng(1).random((3, 12)) < 0.5, -1, 1)
    (image,) = plots.plot_samples(spins, shape=(3, 4)).axes[0].images
    assert (image.norm.vmin, image.norm.vmax) == (-1.0, 1.0)
    assert len(plots.plot_samples(spins[0], shape=(3, 4)).axes) == 1
    with pytest.raises(ValueError, match="12 pixels each"):
        plots.plot_samples(spins, shape=(8, 8))


# -- the plots of other modules ------------------------------------------------------------------
def test_every_plot_is_reached_from_physsamp_plots():
    for name in ("plot_energy_histograms", "plot_replica_trajectories", "plot_swap_acceptance",
                 "plot_tempering"):  # fmt: skip
        assert getattr(plots, name) is getattr(plots_tempering, name)
        assert name in plots.__all__ and name in dir(plots)
    assert plots.plot_ais is ais.plot_ais
    assert plots.plot_log_z_vs_num_betas is ais.plot_log_z_vs_num_betas
    from physsamp.plots import plot_swap_acceptance

    axis = plot_swap_acceptance(np.linspace(0.0, 1.0, 5), [0.9, 0.8, 0.7, 0.8])
    assert len(axis.figure.axes) == 2  # the acceptance and the local barrier
    render(axis.figure)
    with pytest.raises(AttributeError, match="plot_nothing"):
        plots.plot_nothing  # noqa: B018
