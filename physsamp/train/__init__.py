"""Training RBMs, Boltzmann machines and Ising models on binary data (:func:`fit`), scored by
a log-likelihood you can believe (:func:`log_likelihood`: exact or AIS), with checkpoints and
deep belief networks.

Example (see :func:`fit` for a training run):
    >>> import jax, numpy as np, physsamp as ps
    >>> rbm = ps.RBM.random(6, 2, jax.random.key(0), scale=0.5)
    >>> data = np.random.default_rng(0).integers(0, 2, (100, 6))
    >>> print(ps.train.log_likelihood(rbm, data))  # doctest: +ELLIPSIS
    log-likelihood -4.2430 ± 0 (exact) ± 0.048 (data, 100 rows)
"""

from physsamp.train.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from physsamp.train.dbn import DBN, DBNLowerBound, DBNResult, dbn_lower_bound, fit_dbn
from physsamp.train.evaluate import (
    LogLikelihood,
    log_likelihood,
    pseudo_log_likelihood,
    reconstruction_error,
)
from physsamp.train.fit import (
    METHODS,
    FitResult,
    History,
    TrainingDivergenceWarning,
    TrainState,
    default_optimizer,
    divergence_message,
    fit,
)

__all__ = [
    "DBN",
    "METHODS",
    "DBNLowerBound",
    "DBNResult",
    "FitResult",
    "History",
    "LogLikelihood",
    "TrainState",
    "TrainingDivergenceWarning",
    "dbn_lower_bound",
    "default_optimizer",
    "divergence_message",
    "fit",
    "fit_dbn",
    "load_checkpoint",
    "log_likelihood",
    "pseudo_log_likelihood",
    "read_checkpoint",
    "reconstruction_error",
    "save_checkpoint",
]
