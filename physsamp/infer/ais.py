r"""Partition functions and RBM log-likelihoods by annealed importance sampling, with error bars.

:func:`ais_log_partition` estimates :math:`\log Z` of an Ising model, Boltzmann machine or RBM
by AIS [Neal2001]_ (the pure core is :mod:`physsamp.kernels.ais`): ``num_runs`` independent
runs anneal from a base distribution with a known :math:`Z_0` (uniform units for a pairwise
model, :math:`\log Z_0 = N \log 2`; for an RBM the base-rate model of [SM2008]_) to the model,
each carrying a log-weight :math:`w_r`, and

.. math:: \log \hat Z = \log Z_0 + \log \tfrac1R \textstyle\sum_r e^{w_r},
   \qquad \widehat{\mathrm{se}} = \frac{\operatorname{sd}(e^{w})}{\sqrt R\,\overline{e^{w}}}
   \quad \text{(delta method)} .

The effective sample size of the weights, :math:`(\sum_r e^{w_r})^2 / \sum_r e^{2 w_r}`, says
whether the standard error can be trusted: when a few runs dominate, the estimate is biased
low (it is a stochastic lower bound, :math:`\mathbb{E}\log\hat Z \le \log Z`) and its standard
error too small, and the result carries a ``warning``. :func:`ais_bounds` adds reverse AIS
from exact samples (bidirectional Monte Carlo, [Grosse2015]_): a stochastic upper bound, so
that :math:`\log Z` is bracketed. :func:`rbm_log_likelihood` turns :math:`\log \hat Z` into the
average log-likelihood of data rows, :func:`ais_to_inference_data` stores the weights in an
ArviZ ``InferenceData``, and :func:`plot_ais` / :func:`plot_log_z_vs_num_betas` draw them.

The transition is any physsamp kernel: the NumPyro kernel classes of :mod:`physsamp.infer`
(``BlockGibbs``, ``SwendsenWang``, ... mapped to the pure kernel module of the same name), a
pure kernel module (with ``init`` and ``build_kernel``), or a pure step function
``step(rng_key, state, model)``. For an RBM the default is the fused layer-wise Gibbs
transition of :func:`physsamp.kernels.ais.build_rbm_kernel`.

References:
    .. [Neal2001] R. M. Neal, "Annealed importance sampling", Statistics and Computing 11,
       125-139 (2001).
    .. [SM2008] R. Salakhutdinov and I. Murray, "On the quantitative analysis of deep belief
       networks", ICML (2008).
    .. [Grosse2015] R. B. Grosse, Z. Ghahramani and R. P. Adams, "Sandwiching the marginal
       likelihood using bidirectional Monte Carlo", arXiv:1511.02543 (2015).

Example:
    >>> import jax, physsamp as ps
    >>> from physsamp.infer.ais import ais_log_partition
    >>> model = ps.Ising.lattice((4, 4), beta=0.3)
    >>> result = ais_log_partition(model, jax.random.key(0), num_betas=200, num_runs=64,
    ...                            progress_bar=False)
    >>> bool(abs(result.log_z - ps.exact.log_partition(model)) < 4 * result.stderr)
    True
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import re
import sys
import types
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike

from physsamp import exact
from physsamp.distributed import host_array
from physsamp.kernels import ais, block_gibbs
from physsamp.models.base import EnergyModel
from physsamp.models.pairwise import PairwiseModel
from physsamp.models.rbm import RBM

__all__ = [
    "AISBounds",
    "AISResult",
    "RBMLogLikelihood",
    "ais_bounds",
    "ais_log_partition",
    "ais_log_z_vs_num_betas",
    "ais_to_inference_data",
    "base_rate_bias",
    "draw_exact_samples",
    "plot_ais",
    "plot_log_z_vs_num_betas",
    "rbm_log_likelihood",
]

#: the largest number of enumerated units for drawing exact samples
MAX_EXACT_UNITS = 20


# -- results ----------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, eq=False)
class AISResult:
    r"""An AIS estimate of :math:`\log Z`.

    Attributes:
        log_z: the estimate (forward: :math:`\log Z_0 + \log \overline{e^w}`; reverse:
            :math:`\log Z_0 - \log \overline{e^w}`).
        stderr: its delta-method standard error.
        ess: the effective sample size of the weights, between 1 and ``num_runs``.
        log_weights: every run's log-weight, float64 ``[num_runs]``.
        log_z_base: :math:`\log Z_0` of the base distribution.
        schedule: the annealing fractions, base (0) to target (1).
        direction: "forward" (a stochastic lower bound) or "reverse" (upper bound).
        warning: why the estimate should not be trusted (low ESS, approximate reverse
            samples), or None.
        bootstrap_stderr: the bootstrap standard error, when requested.
        checkpoints: fractions reached at the end of each chunk of the schedule.
        checkpoint_log_weights: every run's log-weight there, ``[checkpoints, num_runs]``.
        final_positions: every run's final configuration, ``int8 [num_runs, sites]``.
    """

    log_z: float
    stderr: float
    ess: float
    log_weights: np.ndarray
    log_z_base: float
    schedule: np.ndarray
    direction: str = "forward"
    warning: str | None = None
    bootstrap_stderr: float | None = None
    checkpoints: np.ndarray | None = None
    checkpoint_log_weights: np.ndarray | None = None
    final_positions: np.ndarray | None = None

    @property
    def num_runs(self) -> int:
        return int(self.log_weights.size)

    @property
    def num_betas(self) -> int:
        return int(self.schedule.size)

    @property
    def ess_fraction(self) -> float:
        return self.ess / self.num_runs

    def log_z_along_path(self) -> tuple[np.ndarray, np.ndarray]:
        """``(fractions, log_z)``: estimates of :math:`\\log Z_t` of the intermediate
        distributions at the checkpoints (forward runs: :math:`Z_t` at the base's side)."""
        if self.checkpoints is None or self.checkpoint_log_weights is None:
            raise ValueError("this result holds no checkpoints")
        sign = 1.0 if self.direction == "forward" else -1.0
        values = [self.log_z_base + sign * ais.log_mean_exp(w) for w in self.checkpoint_log_weights]
        return self.checkpoints, np.asarray(values)

    def run_average_bound(self) -> tuple[float, float]:
        r"""``(bound, stderr)`` from the average log-weight instead of the log-mean-exp:
        :math:`\log Z_0 + \bar w` (forward) or :math:`\log Z_0 - \bar w` (reverse). In
        expectation a looser bound than ``log_z`` (Jensen for each run, [Grosse2015]_), but with
        a plain standard error :math:`\operatorname{sd}(w) / \sqrt R` that stays reliable when
        a few weights dominate."""
        sign = 1.0 if self.direction == "forward" else -1.0
        mean = float(np.mean(self.log_weights))
        stderr = float(np.std(self.log_weights, ddof=1) / np.sqrt(self.num_runs))
        return self.log_z_base + sign * mean, stderr

    def __str__(self) -> str:
        text = (
            f"log Z = {self.log_z:.6g} ± {self.stderr:.3g} ({self.direction} AIS, "
            f"{self.num_runs} runs, {self.num_betas} betas, weight ESS {self.ess:.1f})"
        )
        if self.bootstrap_stderr is not None:
            text += f", bootstrap se {self.bootstrap_stderr:.3g}"
        if self.warning:
            text += f"\nwarning: {self.warning}"
        return text


class AISBounds(NamedTuple):
    """The bidirectional bracket: ``lower`` (forward AIS) and ``upper`` (reverse AIS), each an
    :class:`AISResult` whose ``log_z`` is a stochastic bound on :math:`\\log Z`."""

    lower: AISResult
    upper: AISResult

    @property
    def gap(self) -> float:
        """``upper.log_z - lower.log_z``: how far the estimates are from the truth at most
        (in expectation); a gap much wider than the standard errors means too few betas."""
        return self.upper.log_z - self.lower.log_z

    def __str__(self) -> str:
        lower, upper = self.lower, self.upper
        text = (
            f"{lower.log_z:.6g} ± {lower.stderr:.3g} <= log Z <= {upper.log_z:.6g} ± "
            f"{upper.stderr:.3g} (forward and reverse AIS, gap {self.gap:.3g}, "
            f"{lower.num_runs} + {upper.num_runs} runs, {lower.num_betas} betas)"
        )
        for result in (lower, upper):
            if result.warning:
                text += f"\nwarning ({result.direction}): {result.warning}"
        return text


@dataclasses.dataclass(frozen=True, eq=False)
class RBMLogLikelihood:
    r"""The average log-likelihood :math:`\frac1n \sum_d \log p(v_d)` of data rows under an RBM.

    ``mean``: the average (:math:`\overline{\log p^*(v)} - \log\hat Z`); ``stderr``: its AIS
    standard error (that of :math:`\log \hat Z`); ``data_stderr``: the standard error of the
    average over rows (sampling of the data, for comparing models); ``log_probs``: each row's
    :math:`\log p(v_d)`; ``log_partition``: the AIS result.
    """

    mean: float
    stderr: float
    data_stderr: float
    log_probs: np.ndarray
    log_partition: AISResult

    def __str__(self) -> str:
        text = (
            f"mean log-likelihood = {self.mean:.6g} ± {self.stderr:.3g} (AIS) "
            f"± {self.data_stderr:.3g} (data, {self.log_probs.size} rows)"
        )
        if self.log_partition.warning:
            text += f"\nwarning: {self.log_partition.warning}"
        return text


# -- kernels ----------------------------------------------------------------------------------
_STEP_CACHE: dict[Any, tuple[Callable, Any]] = {}


def _snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _kernel_module(kernel: type) -> types.ModuleType:
    from physsamp.infer._adapter import PhysicsKernel

    if not issubclass(kernel, PhysicsKernel):
        raise TypeError(f"{kernel.__name__} is not a physsamp kernel class")
    for cls in kernel.__mro__:
        if cls is PhysicsKernel:
            break
        name = f"physsamp.kernels.{_snake_case(cls.__name__)}"
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        if hasattr(module, "init") and hasattr(module, "build_kernel"):
            return module
    raise TypeError(f"no pure kernel module found for {kernel.__name__}")


def _batched(init_one: Callable) -> Callable:
    """An initialiser of a batch of runs ``init(positions [runs, sites], path, t)`` from a
    one-run initialiser."""

    def init(positions, path, t=0.0):
        return jax.vmap(lambda position: init_one(position, path, t))(positions)

    return init


def _generic(kernel_init: Callable, kernel_step: Callable) -> tuple[Callable, Callable]:
    init = _batched(lambda position, path, t: ais.init(position, path, kernel_init, t))
    return init, ais.build_kernel(kernel_step)


def resolve_kernel(
    kernel: Any,
    model: EnergyModel,
    num_sweeps: int = 1,
    generator: str = "hash",
    kernel_init: Callable | None = None,
) -> tuple[Callable, Any]:
    """``(init, step)`` of an AIS transition for ``kernel``: None (fused layer-wise Gibbs for
    an RBM, block Gibbs otherwise), a physsamp NumPyro kernel class, a pure kernel module, a
    pure step function (its ``init`` is ``kernel_init`` or the ``init`` of the module that
    defines it) or a pair ``(init, step)``. ``init(positions [runs, sites], path, t)`` builds
    the states of a batch of runs. Block Gibbs on a periodic lattice with a uniform coupling
    runs the batched lattice transition of :func:`physsamp.kernels.ais.build_lattice_kernel`
    (the same chains as the generic one, faster). Built steps are cached, so repeated calls
    with the same kernel reuse the compilation."""
    options = {"num_sweeps": num_sweeps, "generator": generator}
    if kernel is None:
        if isinstance(model, RBM) and generator == "hash":
            key = ("rbm", num_sweeps)
            if key not in _STEP_CACHE:
                _STEP_CACHE[key] = (ais.rbm_init, ais.build_rbm_kernel(num_sweeps))
            return _STEP_CACHE[key]
        kernel = block_gibbs
    if isinstance(kernel, type):
        kernel = _kernel_module(kernel)
    if (
        isinstance(kernel, types.ModuleType)
        and kernel is block_gibbs
        and generator == "hash"
        and ais.supports_lattice_kernel(model)
    ):
        key = ("lattice", num_sweeps)
        if key not in _STEP_CACHE:
            _STEP_CACHE[key] = (ais.lattice_init, ais.build_lattice_kernel(num_sweeps))
        return _STEP_CACHE[key]
    if isinstance(kernel, types.ModuleType):
        if not (hasattr(kernel, "init") and hasattr(kernel, "build_kernel")):
            raise TypeError(f"module {kernel.__name__} has no init and build_kernel")
        if kernel is ais:
            raise TypeError("physsamp.kernels.ais is not a transition kernel")
        key = (kernel.__name__, num_sweeps, generator)
        if key not in _STEP_CACHE:
            _STEP_CACHE[key] = _generic(kernel.init, kernel.build_kernel(**options))
        return _STEP_CACHE[key]
    if isinstance(kernel, tuple) and len(kernel) == 2 and all(map(callable, kernel)):
        kernel_init, kernel = kernel
    if callable(kernel):
        if kernel_init is None:
            module = sys.modules.get(getattr(kernel, "__module__", "") or "")
            kernel_init = getattr(module, "init", None) if module is not ais else None
        if kernel_init is None:
            raise TypeError(
                "cannot tell how to initialise the state of this step function; pass "
                "kernel_init=(position, model) -> state, or kernel=(init, step)"
            )
        key = (kernel, kernel_init)
        if key not in _STEP_CACHE:
            _STEP_CACHE[key] = _generic(kernel_init, kernel)
        return _STEP_CACHE[key]
    raise TypeError(
        f"kernel must be None, a physsamp kernel class (BlockGibbs, SwendsenWang, ...), a pure "
        f"kernel module, a step function or an (init, step) pair; got {kernel!r}"
    )


# -- the estimator ----------------------------------------------------------------------------
def _check_model(model: Any) -> EnergyModel:
    if not isinstance(model, (PairwiseModel, RBM)):
        raise TypeError(
            "AIS estimates log Z of an Ising model, Boltzmann machine or RBM; got "
            f"{type(model).__name__}"
        )
    return model


def _check_runs(num_runs: int) -> int:
    if int(num_runs) != num_runs or num_runs < 2:
        raise ValueError(f"num_runs must be an integer >= 2, got {num_runs}")
    return int(num_runs)


def _low_ess_warning(
    ess: float, num_runs: int, log_weights: np.ndarray, direction: str = "forward"
) -> str | None:
    if ess >= max(0.1 * num_runs, min(num_runs, 10.0)):
        return None
    share = float(np.exp(log_weights.max() - np.logaddexp.reduce(log_weights)))
    # Forward AIS is a stochastic lower bound on log Z, reverse AIS an upper bound.
    bias = "underestimated" if direction == "forward" else "overestimated"
    return (
        f"low effective sample size of the weights: {ess:.1f} of {num_runs} runs (the largest "
        f"weight is {share:.0%} of the total). The standard error is unreliable and log Z is "
        f"probably {bias}: use more betas (num_betas) or more sweeps per beta."
    )


def _bootstrap(rng_key: jax.Array, log_weights: np.ndarray, num_resamples: int) -> float:
    draws = jax.random.randint(rng_key, (num_resamples, log_weights.size), 0, log_weights.size)
    resampled = log_weights[np.asarray(draws)]
    top = resampled.max(axis=1, keepdims=True)
    means = top[:, 0] + np.log(np.exp(resampled - top).mean(axis=1))
    return float(means.std(ddof=1))


def _summarise(
    out: ais.AISRun,
    path: Any,
    fractions: np.ndarray,
    direction: str,
    bootstrap_key: jax.Array | None,
    bootstrap: int,
    note: str | None = None,
) -> AISResult:
    log_base = path.base_log_partition()
    log_mean, stderr, ess = ais.weight_statistics(out.log_weights)
    log_z = log_base + log_mean if direction == "forward" else log_base - log_mean
    boot = (
        _bootstrap(bootstrap_key, out.log_weights, bootstrap) if bootstrap_key is not None else None
    )
    warning = _low_ess_warning(ess, out.log_weights.size, out.log_weights, direction)
    if note:
        warning = note if warning is None else f"{note} {warning}"
    return AISResult(
        log_z=float(log_z),
        stderr=stderr,
        ess=ess,
        log_weights=out.log_weights,
        log_z_base=log_base,
        schedule=fractions,
        direction=direction,
        warning=warning,
        bootstrap_stderr=boot,
        checkpoints=out.checkpoints,
        checkpoint_log_weights=out.checkpoint_log_weights,
        final_positions=host_array(ais.positions(path, out.states.kernel_state)),
    )


@partial(jax.jit, static_argnames=("init", "num_runs"))
def _start(rng_key: jax.Array, path: Any, init: Callable, num_runs: int):
    """The keys of the runs and of the bootstrap, and the runs' states drawn from the base
    distribution, in one compiled call (a few eager operations would cost more than a short
    schedule)."""
    key_base, key_run, key_boot = jax.random.split(rng_key, 3)
    return key_run, key_boot, init(path.base_sample(key_base, (num_runs,)), path)


def ais_log_partition(
    model: EnergyModel,
    rng_key: jax.Array,
    num_betas: int = 1000,
    num_runs: int = 100,
    kernel: Any = None,
    schedule: str | ArrayLike = "linear",
    *,
    num_sweeps: int = 1,
    generator: str = "hash",
    kernel_init: Callable | None = None,
    base_visible_bias: ArrayLike | None = None,
    bootstrap: int = 0,
    chunk_length: int = 256,
    progress_bar: bool = True,
    devices: Sequence[Any] | None = None,
) -> AISResult:
    r"""Estimate :math:`\log Z` of ``model`` by annealed importance sampling.

    Args:
        model: an Ising model, Boltzmann machine (any graph, fields) or RBM; its own ``beta``
            is the target.
        rng_key: a JAX key.
        num_betas: points in the schedule, base and target included (``num_betas - 1``
            transitions per run).
        num_runs: independent runs (vectorised).
        kernel: the transition (see :func:`resolve_kernel`): None, ``BlockGibbs``,
            ``SwendsenWang``, a pure kernel module, a step function or ``(init, step)``.
        schedule: "linear", "geometric", "sigmoid" or an array from 0 to 1 (see
            :func:`physsamp.kernels.ais.schedule`); ``num_betas`` is ignored for an array.
        num_sweeps: sweeps of the kernel per temperature.
        generator: the kernels' random numbers ("hash" or "jax").
        kernel_init: the state constructor for a bare step function.
        base_visible_bias: RBM only: logits of the base-rate model (default: the RBM's own
            ``beta * visible_bias``).
        bootstrap: if > 0, also estimate the standard error from that many bootstrap
            resamples of the runs.
        chunk_length: steps per compiled chunk (the progress bar moves once per chunk).
        progress_bar: show a tqdm bar when the schedule has more than one chunk.
        devices: split the runs evenly over these devices (for example ``jax.devices()``;
            see :func:`physsamp.kernels.ais.run`); each run's chain does not change. Under
            ``jax.distributed`` these may be every device of every process: the call is then
            SPMD (every process makes it with the same arguments and key) and every process
            returns the same result; progress bars show on process 0 only.

    Returns:
        :class:`AISResult` (``log_z``, ``stderr``, ``ess``, ``log_weights``, ``warning``...).

    Example:
        >>> import jax, numpy as np, physsamp as ps
        >>> from physsamp.infer.ais import ais_log_partition
        >>> rbm = ps.RBM(np.random.default_rng(0).normal(0, 0.5, (12, 6)), 0.1, -0.1)
        >>> result = ais_log_partition(rbm, jax.random.key(1), num_betas=100, num_runs=64,
        ...                            progress_bar=False)
        >>> bool(abs(result.log_z - ps.exact.log_partition(rbm)) < 4 * result.stderr)
        True
    """
    model = _check_model(model)
    num_runs = _check_runs(num_runs)
    fractions = ais.schedule(schedule, num_betas)
    path = ais.default_path(model, base_visible_bias)
    init, step = resolve_kernel(kernel, model, num_sweeps, generator, kernel_init)
    key_run, key_boot, states = _start(rng_key, path, init, num_runs)
    out = ais.run(key_run, path, fractions, states, step, chunk_length=chunk_length,
                  progress_bar=progress_bar, description="AIS", devices=devices)  # fmt: skip
    return _summarise(out, path, fractions, "forward", key_boot if bootstrap > 0 else None,
                      bootstrap)  # fmt: skip


# -- exact samples and bounds ------------------------------------------------------------------
def _decode(indices: np.ndarray, num_units: int) -> np.ndarray:
    shifts = np.arange(num_units - 1, -1, -1, dtype=np.int64)
    return ((indices[:, None] >> shifts) & 1).astype(np.int8)


def _draw_indices(rng_key: jax.Array, probabilities: np.ndarray, num: int) -> np.ndarray:
    cumulative = np.cumsum(probabilities)
    uniform = np.asarray(jax.random.uniform(rng_key, (num,), dtype=jnp.float32), np.float64)
    return np.minimum(np.searchsorted(cumulative, uniform * cumulative[-1], side="right"),
                      probabilities.size - 1)  # fmt: skip


def draw_exact_samples(model: EnergyModel, rng_key: jax.Array, num_samples: int) -> np.ndarray:
    """Independent exact samples ``int8 [num_samples, sites]`` of a small model by enumeration
    (:mod:`physsamp.exact`): all states of a pairwise model with at most
    :data:`MAX_EXACT_UNITS` sites; for an RBM the smaller layer is enumerated and, when it is
    the hidden one, the visible units are drawn from :math:`p(v \\mid h)`."""
    model = _check_model(model)
    if isinstance(model, RBM) and model.num_hidden < model.num_visible:
        if model.num_hidden > MAX_EXACT_UNITS:
            raise ValueError(f"exact samples need a layer of at most {MAX_EXACT_UNITS} units")
        key_hidden, key_visible = jax.random.split(rng_key)
        hidden_model = model.transposed()
        index = _draw_indices(key_hidden, exact.probabilities(hidden_model), num_samples)
        hidden = _decode(index, model.num_hidden)
        up = model.visible_given_hidden(hidden)
        return np.asarray(jax.random.uniform(key_visible, up.shape) < up, dtype=np.int8)
    if model.num_sites > MAX_EXACT_UNITS:
        raise ValueError(
            f"exact samples need at most {MAX_EXACT_UNITS} enumerated units; the model has "
            f"{model.num_sites}"
        )
    index = _draw_indices(rng_key, exact.probabilities(model), num_samples)
    bits = _decode(index, model.num_sites)
    down, up_value = model.unit_values
    return np.where(bits == 1, up_value, down).astype(np.int8)


def _enumerable(model: EnergyModel) -> bool:
    if isinstance(model, RBM):
        return min(model.num_visible, model.num_hidden) <= MAX_EXACT_UNITS
    return model.num_sites <= MAX_EXACT_UNITS


def ais_bounds(
    model: EnergyModel,
    rng_key: jax.Array,
    exact_samples: ArrayLike | str | None = None,
    num_betas: int = 1000,
    num_runs: int = 100,
    kernel: Any = None,
    schedule: str | ArrayLike = "linear",
    *,
    num_chain_steps: int = 1000,
    **options: Any,
) -> AISBounds:
    r"""Bracket :math:`\log Z` by bidirectional Monte Carlo [Grosse2015]_.

    Forward AIS gives :math:`\log \hat Z_{fwd}` with :math:`\mathbb{E} \log \hat Z_{fwd} \le
    \log Z`; reverse AIS, started from exact samples of the model and annealed back to the
    base along the reversed schedule, estimates :math:`Z_0 / Z` without bias, so
    :math:`\log \hat Z_{rev} = \log Z_0 - \log \overline{e^{w_{rev}}}` satisfies
    :math:`\mathbb{E} \log \hat Z_{rev} \ge \log Z`. The two meet as the schedule lengthens;
    their gap bounds the error of either.

    ``exact_samples``: configurations ``[runs, sites]`` of the model (their number sets the
    reverse runs). When None, a small model (see :func:`draw_exact_samples`) is enumerated;
    otherwise, or with ``"chain"``, the forward runs' final states are moved
    ``num_chain_steps`` more sweeps at the target and used instead, and the upper bound is then
    approximate (its ``warning`` says so).
    Other keyword arguments go to :func:`ais_log_partition`.

    Example:
        >>> import jax, networkx as nx, physsamp as ps
        >>> from physsamp.infer.ais import ais_bounds
        >>> model = ps.Ising(nx.cycle_graph(8), coupling=0.8, field=0.2, beta=1.0)
        >>> lower, upper = ais_bounds(model, jax.random.key(0), num_betas=50, num_runs=128,
        ...                           progress_bar=False)
        >>> exact = ps.exact.log_partition(model)
        >>> bool(lower.log_z - 4 * lower.stderr < exact < upper.log_z + 4 * upper.stderr)
        True
    """
    model = _check_model(model)
    key_forward, key_samples, key_reverse = jax.random.split(rng_key, 3)
    lower = ais_log_partition(model, key_forward, num_betas, num_runs, kernel, schedule,
                              **options)  # fmt: skip
    note = None
    path = ais.default_path(model, options.get("base_visible_bias"))
    init, step = resolve_kernel(
        kernel,
        model,
        options.get("num_sweeps", 1),
        options.get("generator", "hash"),
        options.get("kernel_init"),
    )
    from_chain = isinstance(exact_samples, str)
    if from_chain and exact_samples != "chain":
        raise ValueError(f"exact_samples must be None, 'chain' or an array, got {exact_samples!r}")
    if exact_samples is None and _enumerable(model):
        samples = draw_exact_samples(model, key_samples, num_runs)
    elif exact_samples is None or from_chain:
        assert lower.final_positions is not None
        states = init(lower.final_positions, path, 1.0)
        chain = ais.run(key_samples, path, np.ones(num_chain_steps + 1), states, step,
                        chunk_length=options.get("chunk_length", 256),
                        devices=options.get("devices"))  # fmt: skip
        samples = host_array(ais.positions(path, chain.states.kernel_state))
        note = (
            f"the reverse runs started from {num_chain_steps} sweeps after forward AIS, not "
            "from exact samples: the upper bound is approximate."
        )
    else:
        samples = np.asarray(exact_samples)
        if samples.ndim != 2 or samples.shape[1] != model.num_sites or samples.shape[0] < 2:
            raise ValueError(
                f"exact_samples must be [runs >= 2, {model.num_sites}], got {samples.shape}"
            )
        model.check_values(samples)
    fractions = ais.schedule(schedule, num_betas)[::-1].copy()
    states = init(jnp.asarray(samples, jnp.int8), path, 1.0)
    out = ais.run(
        key_reverse,
        path,
        fractions,
        states,
        step,
        chunk_length=options.get("chunk_length", 256),
        progress_bar=options.get("progress_bar", True),
        devices=options.get("devices"),
        description="reverse AIS",
    )
    upper = _summarise(out, path, fractions[::-1].copy(), "reverse", None, 0, note)
    return AISBounds(lower, upper)


# -- RBM log-likelihood -----------------------------------------------------------------------
def _check_data(rbm: RBM, data: ArrayLike) -> np.ndarray:
    rows = np.asarray(data)
    if rows.ndim == 1:
        rows = rows[None]
    if rows.ndim != 2 or rows.shape[1] != rbm.num_visible or rows.shape[0] == 0:
        raise ValueError(
            f"data must be [rows, {rbm.num_visible}] (one row per example), got {rows.shape}"
        )
    bad = np.argwhere((rows != 0) & (rows != 1))
    if bad.size:
        row, column = (int(i) for i in bad[0])
        raise ValueError(f"data must hold 0/1 values; row {row} has {rows[row, column]} at "
                         f"visible unit {column}")  # fmt: skip
    return rows.astype(np.int8)


def base_rate_bias(data: ArrayLike, smoothing: float = 0.5) -> np.ndarray:
    """Logits of the base-rate model fitted to binary data ``[rows, visible]``: the smoothed
    marginals :math:`(n_i + s) / (n + 2s)` of every unit [SM2008]_."""
    rows = np.asarray(data, dtype=np.float64)
    rate = (rows.sum(axis=0) + smoothing) / (rows.shape[0] + 2.0 * smoothing)
    return np.log(rate) - np.log1p(-rate)


def rbm_log_likelihood(
    rbm: RBM,
    data: ArrayLike,
    rng_key: jax.Array,
    num_betas: int = 1000,
    num_runs: int = 100,
    *,
    base_visible_bias: str | ArrayLike | None = "data",
    **options: Any,
) -> RBMLogLikelihood:
    r"""The average log-likelihood of binary data rows under ``rbm``:
    :math:`\frac1n \sum_d \log p(v_d) = \frac1n \sum_d \log p^*(v_d) - \log \hat Z`, with the
    hidden units summed out in :math:`p^*` and :math:`\log \hat Z` from
    :func:`ais_log_partition`. Its AIS standard error is that of :math:`\log \hat Z` (as
    :math:`\log Z` is underestimated by forward AIS, the log-likelihood tends to be
    overestimated when the weights' ESS is low).

    ``base_visible_bias``: "data" (default) for the base-rate model fitted to ``data``
    [SM2008]_ (:func:`base_rate_bias`), None for the RBM's own visible biases, or logits.
    Other keyword arguments go to :func:`ais_log_partition`.

    Example:
        >>> import jax, numpy as np, physsamp as ps
        >>> from physsamp.infer.ais import rbm_log_likelihood
        >>> rng = np.random.default_rng(0)
        >>> rbm = ps.RBM(rng.normal(0, 0.5, (10, 4)), 0.1, -0.2)
        >>> data = (rng.random((20, 10)) < 0.5).astype(np.int8)
        >>> result = rbm_log_likelihood(rbm, data, jax.random.key(1), num_betas=100,
        ...                             num_runs=64, progress_bar=False)
        >>> exact = float(rbm.log_prob(data).mean()) - ps.exact.log_partition(rbm)
        >>> bool(abs(result.mean - exact) < 4 * result.stderr)
        True
    """
    if not isinstance(rbm, RBM):
        raise TypeError(f"rbm_log_likelihood needs an RBM, got {type(rbm).__name__}")
    rows = _check_data(rbm, data)
    if isinstance(base_visible_bias, str):
        if base_visible_bias != "data":
            raise ValueError(f"base_visible_bias must be 'data', None or logits, got "
                             f"{base_visible_bias!r}")  # fmt: skip
        base_visible_bias = base_rate_bias(rows)
    result = ais_log_partition(rbm, rng_key, num_betas, num_runs,
                               base_visible_bias=base_visible_bias, **options)  # fmt: skip
    unnormalised = np.asarray(_free_log_prob(rbm, jnp.asarray(rows)), dtype=np.float64)
    log_probs = unnormalised - result.log_z
    data_stderr = (
        float(log_probs.std(ddof=1) / np.sqrt(rows.shape[0])) if rows.shape[0] > 1 else math.nan
    )
    return RBMLogLikelihood(float(log_probs.mean()), result.stderr, data_stderr, log_probs,
                            result)  # fmt: skip


@jax.jit
def _free_log_prob(rbm: RBM, rows: jax.Array) -> jax.Array:
    return jax.lax.map(rbm.log_prob, rows, batch_size=256)


# -- inspection -------------------------------------------------------------------------------
def ais_to_inference_data(result: AISResult):
    """An ArviZ ``InferenceData`` of an AIS result: ``sample_stats`` holds every run's
    ``log_weight`` (chain 0, one draw per run), the normalised ``weight`` and, when recorded,
    ``log_weight_path`` (per checkpoint of the schedule); ``constant_data`` the ``schedule``;
    the attributes carry ``log_z``, ``stderr``, ``ess``, ``log_z_base``, ``direction``.

    Example:
        >>> import jax, physsamp as ps
        >>> from physsamp.infer.ais import ais_log_partition, ais_to_inference_data
        >>> result = ais_log_partition(ps.Ising.lattice((4, 4), beta=0.3), jax.random.key(0),
        ...                            num_betas=50, num_runs=16, progress_bar=False)
        >>> ais_to_inference_data(result).sample_stats.log_weight.shape
        (1, 16)
    """
    import numpyro  # noqa: F401, I001  (before arviz)
    import arviz as az

    log_weights = np.asarray(result.log_weights, dtype=np.float64)
    weights = np.exp(log_weights - np.logaddexp.reduce(log_weights))
    stats = {"log_weight": log_weights[None], "weight": weights[None]}
    coords: dict[str, Any] = {"beta_index": np.arange(result.num_betas)}
    dims: dict[str, list[str]] = {"schedule": ["beta_index"]}
    if result.checkpoints is not None and result.checkpoint_log_weights is not None:
        stats["log_weight_path"] = np.asarray(result.checkpoint_log_weights).T[None]
        coords["checkpoint"] = np.asarray(result.checkpoints)
        dims["log_weight_path"] = ["checkpoint"]
    attrs = {
        "log_z": result.log_z,
        "stderr": result.stderr,
        "ess": result.ess,
        "log_z_base": result.log_z_base,
        "direction": result.direction,
        "num_betas": result.num_betas,
    }
    if result.bootstrap_stderr is not None:
        attrs["bootstrap_stderr"] = result.bootstrap_stderr
    if result.warning:
        attrs["warning"] = result.warning
    idata = az.from_dict(sample_stats=stats, constant_data={"schedule": result.schedule},
                         coords=coords, dims=dims, attrs=attrs)  # fmt: skip
    idata["sample_stats"].attrs.update(attrs)
    return idata


def plot_ais(result: AISResult, figure: Any = None):
    """A matplotlib ``Figure`` (no pyplot, so any backend works) of an AIS result: the
    distribution of the log-weights relative to the largest, and, when recorded, every run's
    log-weight along the schedule.

    Example:
        >>> import jax, physsamp as ps
        >>> from physsamp.infer.ais import ais_log_partition, plot_ais
        >>> result = ais_log_partition(ps.Ising.lattice((4, 4), beta=0.3), jax.random.key(0),
        ...                            num_betas=50, num_runs=16, progress_bar=False)
        >>> len(plot_ais(result).axes)
        2
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 3.5), layout="constrained") if figure is None else figure
    has_path = result.checkpoints is not None and result.checkpoint_log_weights is not None
    axes = figure.subplots(1, 2 if has_path else 1, squeeze=False)[0]
    relative = result.log_weights - result.log_weights.max()
    axes[0].hist(relative, bins=min(50, max(10, result.num_runs // 4)), color="C0")
    axes[0].set_xlabel("log-weight - max")
    axes[0].set_ylabel("runs")
    title = f"{result.direction} AIS: log Z = {result.log_z:.4f} ± {result.stderr:.2g}"
    axes[0].set_title(f"{title}\nweight ESS {result.ess:.1f} of {result.num_runs}", fontsize=9)
    if has_path:
        assert result.checkpoints is not None and result.checkpoint_log_weights is not None
        trace = result.checkpoint_log_weights
        centred = trace - np.median(trace, axis=1, keepdims=True)
        shown = centred[:, : min(200, centred.shape[1])]
        axes[1].plot(result.checkpoints, shown, color="C0", alpha=0.2, linewidth=0.7)
        axes[1].set_xlabel("annealing fraction t")
        axes[1].set_ylabel("log-weight - median")
        axes[1].set_title("log-weights along the schedule", fontsize=9)
    return figure


def ais_log_z_vs_num_betas(
    model: EnergyModel,
    rng_key: jax.Array,
    num_betas: Sequence[int] = (10, 30, 100, 300, 1000),
    **options: Any,
) -> list[AISResult]:
    """Run :func:`ais_log_partition` for each schedule length in ``num_betas`` (independent
    keys); plot the list with :func:`plot_log_z_vs_num_betas`."""
    keys = jax.random.split(rng_key, len(num_betas))
    return [
        ais_log_partition(model, key, int(k), **options)
        for key, k in zip(keys, num_betas, strict=True)
    ]


def plot_log_z_vs_num_betas(
    results: Sequence[AISResult], exact: float | None = None, ax: Any = None
):
    """Estimates of :math:`\\log Z` with error bars (2 standard errors) against the number of
    betas, and the exact value when given; returns the Figure (Agg-safe)."""
    from matplotlib.figure import Figure

    if ax is None:
        figure = Figure(figsize=(5, 3.5), layout="constrained")
        ax = figure.subplots()
    else:
        figure = ax.figure
    results = sorted(results, key=lambda r: r.num_betas)
    betas = [r.num_betas for r in results]
    ax.errorbar(betas, [r.log_z for r in results], yerr=[2 * r.stderr for r in results],
                marker="o", capsize=3, label="AIS ± 2 se")  # fmt: skip
    if exact is not None:
        ax.axhline(exact, color="k", linestyle="--", linewidth=1, label="exact")
    ax.set_xscale("log")
    ax.set_xlabel("number of betas")
    ax.set_ylabel("log Z")
    ax.legend(fontsize=8)
    return figure
