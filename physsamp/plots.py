"""Every plot of physsamp in one place: training (the history of a run, an RBM's filters,
samples as images), parallel tempering and annealed importance sampling.

The figures are built with :class:`matplotlib.figure.Figure` directly (no ``pyplot``, no global
state), so they work under any backend, Agg included, and in threads. Every function takes
plain arrays or result objects and returns the figure (the tempering panels return the axes
they drew); save with ``figure.savefig(path)``. A ``figure=`` argument draws into a figure or
subfigure given to it, so that several plots share one image.

Example (a history written out by hand here; ``ps.train.fit(...).history`` in practice):
    >>> import io, jax, numpy as np, physsamp as ps
    >>> history = ps.train.History(
    ...     epoch=[0, 5, 10], log_likelihood=[-4.16, -3.91, -3.87], stderr=[0.0, 0.0, 0.0],
    ...     data_stderr=[0.05, 0.05, 0.05], reconstruction_error=[0.25, 0.21, 0.2],
    ...     pseudo_log_likelihood=[-4.1, -3.8, -3.7], train_reconstruction_error=[0.24] * 10,
    ...     log_likelihood_method="exact")
    >>> figure = ps.plots.plot_history(history)
    >>> len(figure.axes)  # log-likelihood; reconstruction error and pseudo-likelihood
    3
    >>> figure.savefig(io.BytesIO(), format="png")
    >>> rbm = ps.RBM.random(6, 4, jax.random.key(0))
    >>> len(ps.plots.plot_filters(rbm, shape=(2, 3)).axes)  # the filters and a colour bar
    2
    >>> bits = np.random.default_rng(0).integers(0, 2, (12, 6))
    >>> len(ps.plots.plot_samples(bits, shape=(2, 3)).axes)
    1
"""

from __future__ import annotations

import importlib
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from physsamp.infer.ais import plot_ais, plot_log_z_vs_num_betas
from physsamp.models.rbm import RBM
from physsamp.train.fit import FitResult, History

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from physsamp.plots_tempering import (
        plot_energy_histograms,
        plot_replica_trajectories,
        plot_swap_acceptance,
        plot_tempering,
    )

__all__ = [
    "plot_ais",
    "plot_energy_histograms",
    "plot_filters",
    "plot_history",
    "plot_log_z_vs_num_betas",
    "plot_replica_trajectories",
    "plot_samples",
    "plot_swap_acceptance",
    "plot_tempering",
]


#: plots defined in other modules, imported on first use: matplotlib (about a second to import)
#: is loaded only by a program that draws
_ELSEWHERE = {
    "plot_energy_histograms": "physsamp.plots_tempering",
    "plot_replica_trajectories": "physsamp.plots_tempering",
    "plot_swap_acceptance": "physsamp.plots_tempering",
    "plot_tempering": "physsamp.plots_tempering",
}


def __getattr__(name: str) -> Any:
    if name in _ELSEWHERE:
        return getattr(importlib.import_module(_ELSEWHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_ELSEWHERE))


def _figure(figure: Any, figsize: tuple[float, float]):
    if figure is not None:
        return figure
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


# -- training history ----------------------------------------------------------------------------
def _as_history(history: Any) -> History:
    if isinstance(history, FitResult):
        return history.history
    if isinstance(history, History):
        return history
    if isinstance(history, dict):
        return History.from_dict(history)
    raise TypeError(
        "plot_history takes a History, a FitResult or a History's dictionary (History.to_dict, "
        f"as written to JSON), got {type(history).__name__}"
    )


def _floats(values: Any) -> np.ndarray:
    """A list of numbers (``None`` where JSON held no number) as float64, NaN for missing."""
    return np.array([math.nan if value is None else value for value in values], np.float64)


def _warning_epoch(history: History) -> int | None:
    """The evaluated epoch at which the divergence monitor first fired."""
    return history.warning_epochs[0] if history.warning_epochs else None


def plot_history(history: Any, figure: Any = None) -> Figure:
    """The course of a training run: the held-out average log-likelihood against the epoch
    with a band of ± 2 standard errors of its estimate (AIS; none when exact), and, on a second
    panel, the reconstruction error (held-out at each evaluation, training mini-batches at each
    epoch) with the pseudo-log-likelihood on its own scale. When the run raised a
    :class:`~physsamp.train.TrainingDivergenceWarning`, the epoch it fired at is marked on both
    panels, as is the best epoch: the proxies of the second panel cannot see that divergence.

    Args:
        history: a :class:`~physsamp.train.History`, a :class:`~physsamp.train.FitResult`, or
            the dictionary of ``History.to_dict()`` (read back from JSON).
        figure: a figure or subfigure to draw into (default: a new 7 x 6 in figure).

    Returns:
        the figure: two panels and the pseudo-likelihood's axis (left out when the history
        has no pseudo-likelihood, as for a Boltzmann machine with hidden units).
    """
    history = _as_history(history)
    epochs = np.asarray(history.epoch, np.int64)
    likelihood = _floats(history.log_likelihood)
    stderr = np.nan_to_num(_floats(history.stderr))
    reconstruction = _floats(history.reconstruction_error)
    pseudo = _floats(history.pseudo_log_likelihood)
    training = _floats(history.train_reconstruction_error)
    figure = _figure(figure, (7.0, 6.0))
    top, bottom = figure.subplots(2, 1, sharex=True)

    method = history.log_likelihood_method
    if np.isfinite(likelihood).any():
        top.plot(epochs, likelihood, "o-", color="C0", ms=3, label=f"held out ({method})")
        if (stderr > 0).any():
            top.fill_between(epochs, likelihood - 2 * stderr, likelihood + 2 * stderr,
                             color="C0", alpha=0.25, lw=0, label="± 2 standard errors")  # fmt: skip
        best_epoch, best = history.best()
        top.plot([best_epoch], [best], "*", color="C2", ms=11, label=f"best: {best:.3f}")
        top.legend(loc="lower right", fontsize="small")
    else:
        top.text(0.5, 0.5, "no log-likelihood in this history", ha="center", va="center",
                 transform=top.transAxes)  # fmt: skip
    top.set_ylabel("log-likelihood (nats per row)")
    top.set_title("held-out average log-likelihood")

    lines = []
    if training.size:
        # train_reconstruction_error holds epochs 1, 2, ... (epoch 0 is not trained)
        lines += bottom.plot(np.arange(1, training.size + 1), training, color="C1", lw=0.8,
                             alpha=0.6, label="reconstruction error (training)")  # fmt: skip
    if np.isfinite(reconstruction).any():
        lines += bottom.plot(epochs, reconstruction, "o-", color="C1", ms=3,
                             label="reconstruction error (held out)")  # fmt: skip
    bottom.set_ylabel("reconstruction error")
    bottom.set_xlabel("epoch")
    if np.isfinite(pseudo).any():
        twin = bottom.twinx()
        lines += twin.plot(epochs, pseudo, "s--", color="C4", ms=3,
                           label="pseudo-log-likelihood (held out)")  # fmt: skip
        twin.set_ylabel("pseudo-log-likelihood", color="C4")
    if lines:
        bottom.legend(handles=lines, loc="center right", fontsize="small")
    bottom.set_title("proxies (they cannot see divergence)")

    warned = _warning_epoch(history)
    if warned is not None:
        for axis in (top, bottom):
            axis.axvline(warned, color="C3", ls=":", lw=1.5)
        top.annotate("divergence warning", (warned, 1.0), xycoords=("data", "axes fraction"),
                     xytext=(-4, -4), textcoords="offset points", ha="right", va="top",
                     color="C3", fontsize="small")  # fmt: skip
    return figure


# -- images ------------------------------------------------------------------------------------
def _image_shape(shape: Any, num_pixels: int, what: str) -> tuple[int, int]:
    height, width = (int(size) for size in shape)
    if height * width != num_pixels:
        raise ValueError(f"{what} have {num_pixels} pixels each, which shape={tuple(shape)} "
                         f"({height * width} pixels) does not fit")  # fmt: skip
    return height, width


def _mosaic(images: np.ndarray, shape: tuple[int, int], columns: int | None = None) -> np.ndarray:
    """``images [n, pixels]`` tiled into one array, a row of NaN between neighbours (drawn in
    the colour map's "bad" colour)."""
    count = images.shape[0]
    height, width = shape
    columns = math.ceil(math.sqrt(count)) if columns is None else columns
    rows = math.ceil(count / columns)
    mosaic = np.full((rows * (height + 1) - 1, columns * (width + 1) - 1), np.nan)
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        top, left = row * (height + 1), column * (width + 1)
        mosaic[top : top + height, left : left + width] = image.reshape(height, width)
    return mosaic


def _colormap(name: str, bad: str):
    from matplotlib import colormaps

    return colormaps[name].with_extremes(bad=bad)


def plot_filters(
    rbm: Any, shape: Any = (8, 8), figure: Any = None, max_filters: int = 64
) -> Figure:
    """Each hidden unit's weights to the visible units (a column of ``W``), drawn as an image:
    the pattern that unit detects (Hinton, *A practical guide to training restricted
    Boltzmann machines*, 2010, section 15). All filters share one colour scale, symmetric about
    zero, so weak (unused) units look faint.

    Args:
        rbm: an :class:`~physsamp.RBM`, a :class:`~physsamp.train.FitResult` holding one, or a
            weight matrix ``[visible, hidden]``.
        shape: ``(height, width)`` of an image; ``height * width`` must equal the number of
            visible units.
        figure: a figure or subfigure to draw into.
        max_filters: the first ``max_filters`` hidden units are drawn.

    Returns:
        the figure: the mosaic of filters and its colour bar.
    """
    if isinstance(rbm, FitResult):
        rbm = rbm.model
    try:
        weights = np.asarray(rbm.weights if isinstance(rbm, RBM) else rbm, np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"plot_filters takes an RBM or a weight matrix [visible, hidden], got "
                        f"{type(rbm).__name__}") from error  # fmt: skip
    if weights.ndim != 2:
        raise ValueError(f"the weights must be a [visible, hidden] matrix, got {weights.shape}")
    image_shape = _image_shape(shape, weights.shape[0], "the filters")
    shown = weights[:, : int(max_filters)].T
    limit = float(np.abs(shown).max()) or 1.0
    figure = _figure(figure, (6.0, 5.2))
    axis = figure.subplots()
    picture = axis.imshow(_mosaic(shown, image_shape), cmap=_colormap("RdBu_r", "0.8"),
                          vmin=-limit, vmax=limit, interpolation="nearest")  # fmt: skip
    axis.set_axis_off()
    axis.set_title(f"filters of {shown.shape[0]} of {weights.shape[1]} hidden units "
                   "(weights to the visible units)", fontsize="medium")  # fmt: skip
    figure.colorbar(picture, ax=axis, shrink=0.8, label="weight")
    return figure


def plot_samples(
    samples: Any,
    shape: Any = (8, 8),
    figure: Any = None,
    max_samples: int = 100,
    title: str | None = None,
) -> Figure:
    """Binary configurations (data rows or draws from a model) as a grid of images, black
    for the up unit (1, or +1 for spins) and white for the down unit.

    Args:
        samples: ``[count, pixels]`` (any leading axes, such as chains and draws, are
            flattened); 0/1 bits, -1/+1 spins, or probabilities in [0, 1].
        shape: ``(height, width)`` of one image.
        figure: a figure or subfigure to draw into.
        max_samples: at most this many (the first ones) are drawn.
        title: the panel's title (default: the number of images).

    Returns:
        the figure, one axis holding the grid.
    """
    values = np.asarray(samples, np.float64)
    if values.ndim == 1:
        values = values[None]
    values = values.reshape(-1, values.shape[-1])[: int(max_samples)]
    if values.shape[0] == 0:
        raise ValueError("no samples to draw")
    image_shape = _image_shape(shape, values.shape[1], "the samples")
    low = -1.0 if (values < 0).any() else 0.0
    figure = _figure(figure, (5.0, 5.2))
    axis = figure.subplots()
    axis.imshow(_mosaic(values, image_shape), cmap=_colormap("gray_r", "0.75"), vmin=low,
                vmax=1.0, interpolation="nearest")  # fmt: skip
    axis.set_axis_off()
    axis.set_title(f"{values.shape[0]} images" if title is None else title, fontsize="medium")
    return figure
