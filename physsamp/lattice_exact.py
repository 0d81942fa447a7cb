"""Exact results for the zero-field 2D Ising model on the square lattice, in float64.

Finite periodic lattices use Kaufman's closed form for the partition function of an
``L1 x L2`` torus [Kaufman1949]_, in the four-term form written out by Beale [Beale1996]_;
the infinite lattice uses Onsager's free energy [Onsager1944]_ and Yang's spontaneous
magnetisation [Yang1952]_. Everything here is plain numpy/scipy (no JAX), so these functions
are cheap reference values for tests and benchmarks of the samplers: a sampler run on a
``64 x 64`` periodic lattice can be checked against the exact finite-size energy rather than
against the infinite-lattice value. :func:`ground_state` gives the exact ground state of any 2D
lattice, spin glasses and fields included, by a zero-temperature transfer matrix (see its
docstring), to check searches for the lowest energy.

**Model and conventions.** Spins :math:`s_i = \\pm 1` sit on the sites of an ``L1 x L2``
square lattice with periodic boundaries in both directions (``N = L1 * L2`` sites and ``2N``
nearest-neighbour bonds, each counted once). With uniform coupling :math:`J`

.. math::

    Z(\\beta) = \\sum_{s} \\exp\\Big(\\beta J \\sum_{\\langle ij \\rangle} s_i s_j\\Big),
    \\qquad E(s) = -J \\sum_{\\langle ij \\rangle} s_i s_j .

Energies are per site (``<E>/N``) and the specific heat is
:math:`\\beta^2 \\operatorname{Var}(E) / N` (:math:`k_B = 1`).

**Kaufman's formula.** Write :math:`K = \\beta J`, :math:`m` = ``L1`` (rows) and
:math:`n` = ``L2`` (columns). For :math:`k = 0, \\dots, 2n-1` let
:math:`\\cosh\\gamma_k = \\cosh 2K \\coth 2K - \\cos(\\pi k / n)` with :math:`\\gamma_k > 0`
for :math:`k \\ge 1`, and :math:`\\gamma_0 = 2K + \\ln\\tanh K`, which changes sign at the
critical point. Then

.. math::

    Z = \\tfrac12 (2\\sinh 2K)^{mn/2} \\sum_{i=1}^{4} Z_i, \\quad
    Z_1 = \\prod_{r=0}^{n-1} 2\\cosh\\tfrac{m\\gamma_{2r+1}}{2}, \\;
    Z_2 = \\prod_{r=0}^{n-1} 2\\sinh\\tfrac{m\\gamma_{2r+1}}{2}, \\;
    Z_3 = \\prod_{r=0}^{n-1} 2\\cosh\\tfrac{m\\gamma_{2r}}{2}, \\;
    Z_4 = \\prod_{r=0}^{n-1} 2\\sinh\\tfrac{m\\gamma_{2r}}{2}.

:math:`Z_4` is negative above :math:`T_c` and zero at :math:`T_c`, so the four terms are
combined with a signed log-sum-exp. To stay accurate for ``L`` up to about a thousand and
for all :math:`\\beta J \\ge 0`, the prefactor is shared out among the ``n`` factors of every
product, so that each factor is :math:`(2\\lambda_k)^{m/2} (1 \\pm e^{-m\\gamma_k})` with
:math:`\\lambda_k = \\sinh(2K)\\, e^{\\gamma_k}` of order one at high temperature, and the
``k = 0`` factors become :math:`(e^{2K}-1)^m \\pm (1+e^{-2K})^m` exactly. First and second
derivatives in :math:`K` are taken analytically factor by factor, so energies and specific
heats carry no finite-difference error.

References:
    .. [Kaufman1949] B. Kaufman, "Crystal statistics. II. Partition function evaluated by
       spinor analysis", Phys. Rev. 76, 1232 (1949).
    .. [Beale1996] P. D. Beale, "Exact distribution of energies in the two-dimensional Ising
       model", Phys. Rev. Lett. 76, 78 (1996).
    .. [Onsager1944] L. Onsager, "Crystal statistics. I. A two-dimensional model with an
       order-disorder transition", Phys. Rev. 65, 117 (1944).
    .. [Yang1952] C. N. Yang, "The spontaneous magnetization of a two-dimensional Ising
       model", Phys. Rev. 85, 808 (1952).

Example:
    >>> from physsamp.lattice_exact import BETA_CRITICAL, ising2d_energy_per_site
    >>> round(BETA_CRITICAL, 10)
    0.4406867935
    >>> round(ising2d_energy_per_site(4, 4, 0.0), 12)  # independent spins
    0.0
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from physsamp.exact import GroundState
from physsamp.models.base import EnergyModel
from physsamp.models.pairwise import PairwiseModel

__all__ = [
    "BETA_CRITICAL",
    "MAX_GROUND_STATE_WIDTH",
    "MAX_PERIODIC_GROUND_STATE_WIDTH",
    "ground_state",
    "ising2d_energy_per_site",
    "ising2d_log_partition",
    "ising2d_specific_heat_per_site",
    "onsager_energy_per_site",
    "onsager_free_energy",
    "yang_magnetization",
]

#: inverse critical temperature of the square-lattice Ising model with J = 1,
#: :math:`\beta_c = \tfrac12 \ln(1 + \sqrt2)` (Kramers-Wannier self-duality point)
BETA_CRITICAL: float = 0.5 * math.log1p(math.sqrt(2.0))

#: smallest side accepted: with a side of 2 the periodic lattice has double bonds, and with 1
#: self-bonds, which Kaufman's formula does not describe
MIN_SIDE = 3

#: largest beta*|J| accepted. Beyond this the ground-state term alone is exact to double
#: precision anyway, and cosh(2K) would start to overflow in the infinite-lattice formulas.
MAX_REDUCED_COUPLING = 300.0

# Below this beta*|J| the leading high-temperature result is exact in float64: the first
# correction is of relative order tanh(K)^(L-2) <= tanh(K) < 1e-20.
_TINY_REDUCED_COUPLING = 1e-20


# --------------------------------------------------------------------------- validation


def _check_side(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer number of sites, got {value!r}")
    side = int(value)
    if side < MIN_SIDE:
        raise ValueError(
            f"{name} = {side} is too small: lattice sides must be at least {MIN_SIDE}, since a "
            "periodic side of length 1 or 2 has self-bonds or doubled bonds"
        )
    return side


def _check_real(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(f"{name} must be finite, got {result}")
    return result


def _check_beta_coupling(beta: object, coupling: object) -> tuple[float, float]:
    beta_value = _check_real(beta, "beta")
    if beta_value < 0.0:
        raise ValueError(f"beta must be >= 0 (an inverse temperature), got {beta_value}")
    coupling_value = _check_real(coupling, "coupling")
    if beta_value * abs(coupling_value) > MAX_REDUCED_COUPLING:
        raise ValueError(
            f"beta * |coupling| = {beta_value * abs(coupling_value)} exceeds "
            f"{MAX_REDUCED_COUPLING}; the lattice is in its ground state to double precision"
        )
    return beta_value, coupling_value


def _reduced_coupling(L1: object, L2: object, beta: object, coupling: object):
    """Validate inputs; return (rows, cols, beta, J, K) with K = beta * |J| >= 0."""
    rows = _check_side(L1, "L1")
    cols = _check_side(L2, "L2")
    beta_value, coupling_value = _check_beta_coupling(beta, coupling)
    if coupling_value < 0.0 and (rows % 2 or cols % 2):
        # Flipping every other spin maps J -> -J only when the lattice is bipartite.
        raise ValueError(
            f"an antiferromagnetic coupling ({coupling_value}) needs both sides even; a "
            f"{rows} x {cols} torus is frustrated and not covered by Kaufman's formula"
        )
    return rows, cols, beta_value, coupling_value, beta_value * abs(coupling_value)


# --------------------------------------------------------------------------- finite lattice


def _kaufman(rows: int, cols: int, reduced: float) -> tuple[float, float, float]:
    """Return log Z and its first two derivatives in K = beta J for K > 0.

    The factors of each of Kaufman's four products are written so that nothing over- or
    underflows up to K = MAX_REDUCED_COUPLING and the relative weights of the four terms come
    from small quantities (see the module docstring). What cancellation remains is in sums
    over modes, which costs about 1e-16 per site in absolute terms.
    """
    m = rows
    s = math.sinh(2.0 * reduced)  # sinh 2K
    ds = 2.0 * math.cosh(2.0 * reduced)  # d sinh(2K) / dK

    # ---- modes k = 1 .. 2n-1, theta_k = pi k / n
    k = np.arange(1, 2 * cols)
    half_sin_sq = np.sin(np.pi * k / (2 * cols)) ** 2  # sin^2(theta/2), exact near theta = 0
    cos_theta = 1.0 - 2.0 * half_sin_sq
    # u = cosh(gamma) = s + 1/s - cos(theta); u - 1 and u + 1 are sums of positive terms
    u_minus_1 = (1.0 - s) * ((1.0 - s) / s) + 2.0 * half_sin_sq
    u_plus_1 = s + 1.0 / s + 2.0 * half_sin_sq
    u = u_minus_1 + 1.0
    sinh_gamma = np.sqrt(u_minus_1) * np.sqrt(u_plus_1)
    gamma = np.log1p(u_minus_1 + sinh_gamma)  # arccosh(u) without forming u - 1 from u
    # grouped so that nothing overflows up to K = MAX_REDUCED_COUPLING (s ~ 1e260)
    du = ((s - 1.0) / s) * ((s + 1.0) / s) * ds
    d2u = 2.0 * (ds / s) ** 2 / s + 4.0 * (s - 1.0 / s)
    dgamma = du / sinh_gamma
    d2gamma = (d2u - u * dgamma * dgamma) / sinh_gamma

    # log(lambda_k) with lambda_k = sinh(2K) e^gamma_k: at high temperature (s < 1) log(s) and
    # gamma nearly cancel, so use lambda = a + R with a = s u and R = s sinh(gamma) instead.
    if s < 1.0:
        a = 1.0 + s * s - s * cos_theta
        root = s * sinh_gamma
        da = (2.0 * s - cos_theta) * ds
        d2a = 2.0 * ds * ds + 4.0 * s * (2.0 * s - cos_theta)
        droot = (a * da - s * ds) / root
        d2root = (da * da + a * d2a - ds * ds - 4.0 * s * s - droot * droot) / root
        lam = a + root
        log_lam = np.log(lam)
        dlog_lam = (da + droot) / lam
        d2log_lam = (d2a + d2root) / lam - dlog_lam * dlog_lam
    else:
        log_lam = math.log(s) + gamma
        dlog_lam = ds / s + dgamma
        d2log_lam = -4.0 / (s * s) + d2gamma

    base = 0.5 * m * (math.log(2.0) + log_lam)
    dbase = 0.5 * m * dlog_lam
    d2base = 0.5 * m * d2log_lam
    q = np.exp(-m * gamma)  # in (0, 1)

    # Per factor: log of (1 + q) [cosh type] or (1 - q) [sinh type] and the first two
    # K-derivatives of log[(2 lambda)^(m/2) (1 +- q)].
    q_over_1pq = q / (1.0 + q)
    q_over_1mq = q / (1.0 - q)
    cosh_log = np.log1p(q)
    cosh_d1 = dbase - m * dgamma * q_over_1pq
    cosh_d2 = d2base - m * (d2gamma - m * dgamma**2 / (1.0 + q)) * q_over_1pq
    sinh_log = np.log1p(-q)
    sinh_d1 = dbase + m * dgamma * q_over_1mq
    sinh_d2 = d2base + m * (d2gamma - m * dgamma**2 / (1.0 - q)) * q_over_1mq
    odd = k % 2 == 1
    even = ~odd

    # ---- mode k = 0: (e^{2K} - 1)^m +- (1 + e^{-2K})^m = e^{log_ab} (w_a +- w_b)
    exp_m2k = math.exp(-2.0 * reduced)
    log_a = m * math.log(math.expm1(2.0 * reduced))
    log_b = m * math.log1p(exp_m2k)
    d1_a = 2.0 * m / -math.expm1(-2.0 * reduced)
    d1_b = -2.0 * m * exp_m2k / (1.0 + exp_m2k)
    d2_a = -4.0 * m * exp_m2k / math.expm1(-2.0 * reduced) ** 2
    d2_b = 4.0 * m * exp_m2k / (1.0 + exp_m2k) ** 2
    log_ab = float(np.logaddexp(log_a, log_b))
    w_a = math.exp(log_a - log_ab)
    w_b = math.exp(log_b - log_ab)

    # The four products share the large factor prod_{k odd} (2 lambda_k)^(m/2). Taking it out
    # first keeps the terms' relative weights accurate: otherwise they would be differences
    # of numbers of size ln Z ~ N, good only to ulp(N) (1e-10 for N = 1e6).
    log_shared = float(np.sum(base[odd]))
    # even-minus-odd base as one alternating sum, whose terms nearly cancel pairwise
    log_even_extra = log_ab + float(np.sum(np.where(even, base, -base)))

    # Each term is exp(log_rel) * sum_j weight_j, where component j has K-derivatives
    # (slope_j, curvature_j) of its log; d log Z and d^2 log Z are then weighted averages.
    def sums(mask: np.ndarray, log1p_q: np.ndarray, d1: np.ndarray, d2: np.ndarray):
        return float(np.sum(log1p_q[mask])), float(np.sum(d1[mask])), float(np.sum(d2[mask]))

    log1, slope1, curv1 = sums(odd, cosh_log, cosh_d1, cosh_d2)
    log2, slope2, curv2 = sums(odd, sinh_log, sinh_d1, sinh_d2)
    log3, slope3, curv3 = sums(even, cosh_log, cosh_d1, cosh_d2)
    log4, slope4, curv4 = sums(even, sinh_log, sinh_d1, sinh_d2)
    terms = [
        (log1, [(1.0, slope1, curv1)]),
        (log2, [(1.0, slope2, curv2)]),
        (
            log_even_extra + log3,
            [(w_a, d1_a + slope3, d2_a + curv3), (w_b, d1_b + slope3, d2_b + curv3)],
        ),
        # Z_4 < 0 above T_c: the (1 + e^{-2K})^m component enters with a minus sign
        (
            log_even_extra + log4,
            [(w_a, d1_a + slope4, d2_a + curv4), (-w_b, d1_b + slope4, d2_b + curv4)],
        ),
    ]

    log_max = max(log_rel for log_rel, _ in terms)
    total = sum(math.exp(log_rel - log_max) * sum(c[0] for c in comps) for log_rel, comps in terms)
    if not total > 0.0:  # cannot happen for K > 0; guards against a silent NaN
        raise FloatingPointError(f"Kaufman sum is not positive ({total}) at K = {reduced}")
    log_total = log_max + math.log(total)
    scaled = [(math.exp(log_rel - log_total), comps) for log_rel, comps in terms]

    mean_slope = sum(scale * sum(w * s1 for w, s1, _ in comps) for scale, comps in scaled)
    # d^2 log Z = weighted curvature + weighted spread of the slopes (no E[x^2] - E[x]^2)
    second = sum(
        scale * sum(w * (c2 + (s1 - mean_slope) ** 2) for w, s1, c2 in comps)
        for scale, comps in scaled
    )
    return log_shared + log_total - math.log(2.0), float(mean_slope), float(second)


def _log_partition_derivatives(rows: int, cols: int, reduced: float) -> tuple[float, float, float]:
    """log Z and its first two K-derivatives, including the high-temperature limit."""
    num_sites = rows * cols
    if reduced < _TINY_REDUCED_COUPLING:
        # independent bonds: Z = 2^N cosh(K)^(2N) up to corrections below float64 resolution
        log_z = num_sites * (math.log(2.0) + 2.0 * math.log(math.cosh(reduced)))
        sech_sq = 1.0 / math.cosh(reduced) ** 2
        return log_z, 2.0 * num_sites * math.tanh(reduced), 2.0 * num_sites * sech_sq
    return _kaufman(rows, cols, reduced)


def ising2d_log_partition(L1: int, L2: int, beta: float, coupling: float = 1.0) -> float:
    """Exact log partition function of the zero-field Ising model on an ``L1 x L2`` torus.

    :math:`\\ln Z` with :math:`Z = \\sum_s \\exp(\\beta J \\sum_{\\langle ij\\rangle} s_i s_j)`,
    every one of the ``2 * L1 * L2`` nearest-neighbour bonds counted once, from Kaufman's
    four-product formula (B. Kaufman, Phys. Rev. 76, 1232 (1949); P. D. Beale, Phys. Rev.
    Lett. 76, 78 (1996)) evaluated in log space; see the module docstring. Cost is
    ``O(L2)``. Relative error about 1e-15 (checked against enumeration, transfer matrices and
    Onsager's limit at sides up to 1024).

    Args:
        L1: number of rows, at least 3.
        L2: number of columns, at least 3.
        beta: inverse temperature, finite and ``>= 0``.
        coupling: uniform nearest-neighbour coupling ``J``. A negative (antiferromagnetic)
            coupling is accepted when both sides are even, where it has the same ``Z`` as
            ``|J|``.

    Returns:
        ``ln Z`` as a Python float.

    Raises:
        ValueError: for a side below 3, a negative or non-finite ``beta``, a non-finite
            coupling, ``beta * |J| > 300``, or ``J < 0`` on a lattice with an odd side.
        TypeError: for a non-integer side.

    Example:
        >>> import math
        >>> ising2d_log_partition(4, 4, 0.0) == 16 * math.log(2)
        True
        >>> round(ising2d_log_partition(4, 4, 0.5), 10)
        17.1053671187
    """
    rows, cols, _, _, reduced = _reduced_coupling(L1, L2, beta, coupling)
    return _log_partition_derivatives(rows, cols, reduced)[0]


def ising2d_energy_per_site(L1: int, L2: int, beta: float, coupling: float = 1.0) -> float:
    """Exact mean energy per site of the zero-field Ising model on an ``L1 x L2`` torus.

    :math:`\\langle E \\rangle / N = -\\frac{1}{N} \\partial_\\beta \\ln Z` with
    :math:`E = -J \\sum_{\\langle ij\\rangle} s_i s_j`, differentiating Kaufman's formula
    (B. Kaufman, Phys. Rev. 76, 1232 (1949)) analytically; arguments as for
    :func:`ising2d_log_partition`. The result lies in ``[-2|J|, 0]``; its absolute error is
    about 1e-16 per site (so the relative error grows like ``1e-16 / (beta |J|)`` as
    ``beta -> 0``).

    Example:
        >>> round(ising2d_energy_per_site(4, 4, 0.5), 10)
        -1.7553802888
        >>> ising2d_energy_per_site(3, 3, 0.0)
        0.0
    """
    rows, cols, _, coupling_value, reduced = _reduced_coupling(L1, L2, beta, coupling)
    slope = _log_partition_derivatives(rows, cols, reduced)[1]
    return -abs(coupling_value) * slope / (rows * cols) + 0.0  # + 0.0 turns -0.0 into 0.0


def ising2d_specific_heat_per_site(L1: int, L2: int, beta: float, coupling: float = 1.0) -> float:
    """Exact specific heat per site of the zero-field Ising model on an ``L1 x L2`` torus.

    :math:`C / N = \\beta^2 \\operatorname{Var}(E) / N
    = \\frac{\\beta^2}{N} \\partial_\\beta^2 \\ln Z` (:math:`k_B = 1`), from the analytic
    second derivative of Kaufman's formula (B. Kaufman, Phys. Rev. 76, 1232 (1949));
    arguments as for :func:`ising2d_log_partition`. Accurate to about 1e-12 relative for
    ``beta |J| <~ 1``; deep in the ordered phase, where ``C`` is exponentially small, the
    relative error grows (about 1e-10 at ``beta J = 2``).

    Example:
        >>> round(ising2d_specific_heat_per_site(4, 4, 0.5), 10)
        0.6055326572
    """
    rows, cols, _, _, reduced = _reduced_coupling(L1, L2, beta, coupling)
    curvature = _log_partition_derivatives(rows, cols, reduced)[2]
    # a variance: rounding deep in the ordered phase (true C ~ e^{-8 beta J}) may dip below 0
    return max(reduced * reduced * curvature / (rows * cols), 0.0)


# --------------------------------------------------------------------------- infinite lattice


def _delta(s: float) -> tuple[float, float]:
    """delta = (s^2 - 1) / (s^2 + 1) and 1 + delta for s = sinh 2K.

    Both accurate to a few ulps (delta near s = 1, 1 + delta near s = 0) and free of overflow.
    """
    if s <= 1.0:
        return (s - 1.0) * (s + 1.0) / (1.0 + s * s), 2.0 * s * s / (1.0 + s * s)
    inv = 1.0 / s
    return (1.0 - inv) * (1.0 + inv) / (1.0 + inv * inv), 2.0 / (1.0 + inv * inv)


def onsager_free_energy(beta: float, coupling: float = 1.0) -> float:
    """Onsager's infinite-lattice limit of ``ln Z / N`` (that is, :math:`-\\beta f`).

    L. Onsager, Phys. Rev. 65, 117 (1944), in the one-dimensional integral form

    .. math::

        \\lim_{N\\to\\infty} \\frac{\\ln Z}{N} = \\ln(2\\cosh 2K)
        + \\frac{1}{\\pi} \\int_0^{\\pi/2}
          \\ln \\frac{1 + \\sqrt{1 - \\kappa^2 \\sin^2\\phi}}{2} \\, d\\phi,
        \\qquad \\kappa = \\frac{2 \\sinh 2K}{\\cosh^2 2K}, \\; K = \\beta |J|,

    evaluated by adaptive quadrature to about 1e-13. ``1 - kappa^2 sin^2`` is formed as
    :math:`\\cos^2\\phi + \\delta^2 \\sin^2\\phi` with
    :math:`\\delta = (\\sinh^2 2K - 1) / (\\sinh^2 2K + 1)` so that it stays accurate at
    :math:`T_c`. The square lattice is bipartite, so ``J`` and ``-J`` give the same value.

    Example:
        >>> import math
        >>> onsager_free_energy(0.0) == math.log(2)
        True
        >>> round(onsager_free_energy(BETA_CRITICAL), 10)  # 2G/pi + ln(2)/2, G = Catalan
        0.9296953983
    """
    beta_value, coupling_value = _check_beta_coupling(beta, coupling)
    reduced = beta_value * abs(coupling_value)
    if reduced == 0.0:
        return math.log(2.0)
    delta, _ = _delta(math.sinh(2.0 * reduced))

    def integrand(phi: float) -> float:
        root = math.sqrt(math.cos(phi) ** 2 + delta * delta * math.sin(phi) ** 2)
        return math.log1p(root) - math.log(2.0)

    # the integrand is smooth on [0, pi/2] (its kink at T_c sits at the end point pi/2)
    from scipy import integrate  # imported here: it adds a third of a second to import

    integral, _ = integrate.quad(integrand, 0.0, 0.5 * math.pi, epsabs=1e-14, epsrel=1e-13)
    log_2cosh = 2.0 * reduced + math.log1p(math.exp(-4.0 * reduced))
    return log_2cosh + integral / math.pi


def _two_over_pi_ellipk_minus_one(parameter: float, complement: float) -> float:
    """(2/pi) K(k) - 1 for the complete elliptic integral with parameter m = k^2.

    Uses the hypergeometric series sum_{j>=1} [(2j-1)!! / (2j)!!]^2 m^j for small m, where
    subtracting 1 from ``ellipk`` would lose digits, and scipy otherwise (with the
    complementary parameter ``1 - m`` passed directly so nothing is lost near m = 1).
    """
    if parameter < 0.5:
        term, total = 1.0, 0.0
        for j in range(1, 200):  # parameter < 0.5 converges to 1e-17 within ~60 terms
            term *= ((2 * j - 1) / (2 * j)) ** 2 * parameter
            total += term
            if term <= 1e-17 * total:
                break
        return total
    from scipy import special

    return 2.0 / math.pi * float(special.ellipkm1(complement)) - 1.0


def onsager_energy_per_site(beta: float, coupling: float = 1.0) -> float:
    """Onsager's infinite-lattice energy per site :math:`u = \\langle E \\rangle / N`.

    L. Onsager, Phys. Rev. 65, 117 (1944):

    .. math::

        u = -|J| \\coth 2K \\Big[ 1 + \\frac{2}{\\pi} (2\\tanh^2 2K - 1)\\, \\mathbf{K}(\\kappa)
        \\Big], \\qquad \\kappa = \\frac{2\\sinh 2K}{\\cosh^2 2K}, \\; K = \\beta |J|,

    with :math:`\\mathbf{K}` the complete elliptic integral of the first kind. At
    :math:`T_c` the bracket's second term vanishes (``0 * infinity``) and
    :math:`u_c = -\\sqrt2 |J|`. ``J`` and ``-J`` give the same energy (bipartite lattice).

    Example:
        >>> onsager_energy_per_site(0.0)
        0.0
        >>> round(onsager_energy_per_site(BETA_CRITICAL), 10)  # -sqrt(2)
        -1.4142135624
    """
    beta_value, coupling_value = _check_beta_coupling(beta, coupling)
    reduced = beta_value * abs(coupling_value)
    if reduced == 0.0:
        return 0.0
    s = math.sinh(2.0 * reduced)
    delta, one_plus_delta = _delta(s)  # delta = 2 tanh^2(2K) - 1
    kappa_sq = (1.0 - delta) * one_plus_delta  # = (2 sinh 2K / cosh^2 2K)^2
    coth = 1.0 / math.tanh(2.0 * reduced)
    if delta == 0.0:
        return -abs(coupling_value) * coth
    excess = _two_over_pi_ellipk_minus_one(kappa_sq, delta * delta)
    # 1 + delta (1 + excess), regrouped: both parts are O(K^2) at high temperature
    bracket = one_plus_delta + delta * excess
    return -abs(coupling_value) * coth * bracket


def yang_magnetization(beta: float, coupling: float = 1.0) -> float:
    """Spontaneous magnetisation per site of the infinite lattice (C. N. Yang, 1952).

    .. math::

        M = \\big(1 - \\sinh^{-4}(2\\beta J)\\big)^{1/8} \\text{ for } \\beta J > \\beta_c,
        \\qquad M = 0 \\text{ otherwise}

    (C. N. Yang, Phys. Rev. 85, 808 (1952)). For an antiferromagnetic coupling ``J < 0``
    the uniform magnetisation is 0; the staggered magnetisation is then
    ``yang_magnetization(beta, -J)``.

    Example:
        >>> yang_magnetization(0.3)
        0.0
        >>> round(yang_magnetization(0.6), 10)
        0.9736086674
    """
    beta_value, coupling_value = _check_beta_coupling(beta, coupling)
    reduced = beta_value * coupling_value
    if reduced <= BETA_CRITICAL:
        return 0.0
    inv_s = 1.0 / math.sinh(2.0 * reduced)
    inv_s_sq = inv_s * inv_s
    # 1 - s^-4 = (1 - s^-2)(1 + s^-2) keeps relative accuracy just above T_c
    return ((1.0 - inv_s_sq) * (1.0 + inv_s_sq)) ** 0.125


# --------------------------------------------------------------------------- ground states

#: the widest strip :func:`ground_state` sweeps: its profile holds 2^20 states
MAX_GROUND_STATE_WIDTH = 20

#: the widest strip for which :func:`ground_state` closes a periodic direction, by one sweep
#: per configuration of the first row (2^10 sweeps of 2^10 states, run side by side)
MAX_PERIODIC_GROUND_STATE_WIDTH = 10


def ground_state(model: EnergyModel) -> GroundState:
    r"""The exact ground state of an Ising model (or Boltzmann machine) on a 2D square lattice,
    by dynamic programming over a row-by-row transfer matrix: one configuration of lowest
    energy, its energy :math:`E(s) = -\sum_{(ij)} J_{ij} s_i s_j - \sum_i h_i s_i` in float64
    (``model.energy``, no beta) and the number of lowest-energy configurations.

    The model is any :class:`~physsamp.PairwiseModel` whose nodes are the cells
    ``(row, col)`` of a grid and whose edges join grid neighbours, such as
    ``physsamp.Ising.lattice((rows, cols), coupling=..., field=..., periodic=...)`` with any
    couplings (``±J`` or Gaussian spin glasses, one per bond) and fields. The couplings are
    read from the model's edge list, not from its lattice stencil.

    **Method.** The row transfer matrix at zero temperature, that is, in the
    :math:`(\min, +)` semiring, applied one site at a time over a "broken profile". Sites
    are added in raster order, and the state is the last ``cols`` spins added (``2^cols``
    states). A new site interacts with its left neighbour (the newest spin of the state), its
    upper neighbour (the oldest, which then leaves the state) and, at the end of a row with
    periodic rows, the row's first spin, which is still in the state. Each step keeps, for
    every state, the lowest energy of the sites added so far, the number of configurations
    with that energy, and which value the dropped spin took (one bit per state, to trace back
    one lowest configuration). Cost: time
    :math:`O(\text{rows} \cdot \text{cols} \cdot 2^\text{cols})` in vectorised numpy,
    memory ``rows * cols * 2^cols / 8`` bytes for the traceback (2 MiB for ``16 x 16``,
    which takes a fraction of a second).

    The sweep runs along the side that is cheaper, so that ``cols`` is at most
    :data:`MAX_GROUND_STATE_WIDTH`. Periodic bonds along a row cost nothing extra; periodic
    bonds from the last row back to the first are closed by a sweep for every configuration
    of the first row (``2^cols`` sweeps, run side by side as one), which needs ``cols`` at most
    :data:`MAX_PERIODIC_GROUND_STATE_WIDTH`. Periodic bonds whose couplings are all zero count
    as open.

    **Degeneracy.** Ties are energies within ``1e-6 * (1 + sum|J| + sum|h|)`` (a bound on
    ``|E|``); the count is exact for integer couplings such as ``±J`` and otherwise counts the
    configurations within about that tolerance of the minimum. It is ``None`` if it overflows
    float64 (more than about 10^308 lowest configurations).

    Returns:
        A :class:`~physsamp.exact.GroundState`: ``energy``, ``configuration [num_sites]`` in
        the model's unit values and site order, ``degeneracy``.

    Raises:
        ValueError: for a model that is not a 2D lattice (other node labels, an edge between
            sites that are not grid neighbours), a lattice with both sides above
            :data:`MAX_GROUND_STATE_WIDTH`, or one periodic in both directions with both
            sides above :data:`MAX_PERIODIC_GROUND_STATE_WIDTH`.

    Example:
        >>> import numpy as np, physsamp as ps
        >>> from physsamp.lattice_exact import ground_state
        >>> ferromagnet = ps.Ising.lattice((10, 10), periodic=False)
        >>> result = ground_state(ferromagnet)
        >>> result.energy, result.degeneracy  # 180 satisfied bonds; all up or all down
        (-180.0, 2)
        >>> signs = np.random.default_rng(0).choice([-1.0, 1.0], size=(2, 16, 16))
        >>> glass = ps.Ising.lattice((16, 16), coupling=signs, periodic=False)  # ±J glass
        >>> result = ground_state(glass)
        >>> result.energy == float(glass.energy(result.configuration))
        True
    """
    if not isinstance(model, PairwiseModel):
        raise ValueError(
            f"ground_state needs a pairwise model on a 2D lattice, such as "
            f"physsamp.Ising.lattice((rows, cols), ...), got a {type(model).__name__}; "
            "physsamp.exact.ground_state enumerates any model of up to 24 units"
        )
    horizontal, vertical, field, site_rows, site_cols = _grid_couplings(model)
    rows, cols = field.shape
    transposed = _sweep_transposed(horizontal, vertical)
    if transposed is None:
        if min(rows, cols) > MAX_GROUND_STATE_WIDTH:
            raise ValueError(
                f"a {rows} x {cols} lattice is too wide for ground_state: the transfer matrix "
                f"along the shorter side holds 2^{min(rows, cols)} states, and at most "
                f"2^{MAX_GROUND_STATE_WIDTH} are allowed (memory)"
            )
        raise ValueError(
            f"a {rows} x {cols} lattice periodic in both directions needs a side of at most "
            f"{MAX_PERIODIC_GROUND_STATE_WIDTH} for ground_state, which closes one periodic "
            "direction by a sweep for each configuration of a whole row (2^side sweeps)"
        )
    if transposed:
        horizontal, vertical, field = vertical.T, horizontal.T, field.T
    values = np.asarray(model.unit_values, dtype=np.float64)
    couplings = np.asarray(model.edge_couplings, dtype=np.float64)
    fields = np.asarray(model.field, dtype=np.float64)
    scale = float(np.abs(values).max())
    tolerance = 1e-6 * (1.0 + scale**2 * np.abs(couplings).sum() + scale * np.abs(fields).sum())
    grid_bits, degeneracy = _profile_ground_state(horizontal, vertical, field, values, tolerance)
    if transposed:
        grid_bits = grid_bits.T
    spins = values[grid_bits[site_rows, site_cols]]
    edges = np.asarray(model.edges)
    energy = -(spins[edges[:, 0]] * spins[edges[:, 1]]) @ couplings - spins @ fields
    count = int(degeneracy) if np.isfinite(degeneracy) else None
    return GroundState(float(energy) + 0.0, spins.astype(np.int8), count)


def _grid_couplings(model: PairwiseModel):
    """The model as a grid: ``horizontal[r, c]`` couples ``(r, c)`` to ``(r, c + 1)`` (the
    last column to the first when rows wrap), ``vertical[r, c]`` couples ``(r, c)`` to
    ``(r + 1, c)`` (the last row to the first), ``field[r, c]``, and each site's row and
    column. ``ValueError`` unless the nodes are the cells of a grid and the edges join grid
    neighbours."""
    try:
        cells = np.asarray(model.nodes)
    except ValueError:  # labels of mixed lengths
        cells = np.zeros(0)
    if cells.shape != (model.num_sites, 2) or not np.issubdtype(cells.dtype, np.integer):
        raise ValueError(
            "ground_state needs a 2D lattice: node labels (row, col) of a grid, as "
            f"physsamp.Ising.lattice((rows, cols), ...) makes; this {type(model).__name__} has "
            f"node labels such as {model.nodes[0]!r}"
        )
    site_rows, site_cols = cells[:, 0].astype(np.int64), cells[:, 1].astype(np.int64)
    rows, cols = int(site_rows.max()) + 1, int(site_cols.max()) + 1
    cell_index = site_rows * cols + site_cols
    if (
        site_rows.min() < 0
        or site_cols.min() < 0
        or rows * cols != model.num_sites
        or (np.unique(cell_index).size != model.num_sites)
    ):
        raise ValueError(
            f"ground_state needs every cell of a grid: the node labels of this "
            f"{type(model).__name__} do not fill a {rows} x {cols} grid once each"
        )
    edges = np.asarray(model.edges)
    couplings = np.asarray(model.edge_couplings, dtype=np.float64)
    row_a, row_b = site_rows[edges[:, 0]], site_rows[edges[:, 1]]
    col_a, col_b = site_cols[edges[:, 0]], site_cols[edges[:, 1]]
    row_step, col_step = np.abs(row_a - row_b), np.abs(col_a - col_b)
    along_row = (row_step == 0) & (col_step == 1)
    row_wrap = (row_step == 0) & (col_step == cols - 1) & (cols >= 3)
    along_col = (col_step == 0) & (row_step == 1)
    col_wrap = (col_step == 0) & (row_step == rows - 1) & (rows >= 3)
    stray = np.flatnonzero(~(along_row | row_wrap | along_col | col_wrap))
    if stray.size:
        a, b = edges[stray[0]]
        raise ValueError(
            f"ground_state needs a 2D lattice with nearest-neighbour bonds; the edge between "
            f"{model.nodes[a]!r} and {model.nodes[b]!r} does not join neighbours of a "
            f"{rows} x {cols} grid"
        )
    # each bond sits at the site it starts from; a wrapping bond starts at the last row/column
    start_col = np.where(row_wrap, cols - 1, np.minimum(col_a, col_b))
    start_row = np.where(col_wrap, rows - 1, np.minimum(row_a, row_b))
    in_row, in_col = along_row | row_wrap, along_col | col_wrap
    horizontal = np.zeros((rows, cols))
    vertical = np.zeros((rows, cols))
    np.add.at(horizontal, (row_a[in_row], start_col[in_row]), couplings[in_row])
    np.add.at(vertical, (start_row[in_col], col_a[in_col]), couplings[in_col])
    field = np.zeros((rows, cols))
    field[site_rows, site_cols] = np.asarray(model.field, dtype=np.float64)
    return horizontal, vertical, field, site_rows, site_cols


def _sweep_transposed(horizontal: np.ndarray, vertical: np.ndarray) -> bool | None:
    """Whether to sweep the transposed grid (columns as rows): the feasible way of least
    work, ``None`` if neither is feasible. A sweep closes periodic rows for free, but closing
    the last row onto the first costs a factor ``2^cols``."""
    best, best_work = None, math.inf
    for transposed, along, across in (
        (False, horizontal, vertical),
        (True, vertical.T, horizontal.T),
    ):
        rows, cols = along.shape
        closes = bool(np.any(across[-1] != 0)) and rows >= 3
        if cols > MAX_GROUND_STATE_WIDTH or (closes and cols > MAX_PERIODIC_GROUND_STATE_WIDTH):
            continue
        work = rows * cols * 2.0**cols * (2.0**cols if closes else 1.0)
        if work < best_work:
            best, best_work = transposed, work
    return best


def _profile_ground_state(
    horizontal: np.ndarray,
    vertical: np.ndarray,
    field: np.ndarray,
    values: np.ndarray,
    tolerance: float,
) -> tuple[np.ndarray, float]:
    """One lowest configuration as bits ``[rows, cols]`` and the number of them, by the sweep
    of :func:`ground_state`. A state holds the last ``cols`` spins added, the newest in bit 0
    and the oldest (the upper neighbour of the next site) in bit ``cols - 1``; after a whole
    row, bit ``k`` is column ``cols - 1 - k``."""
    rows, cols = field.shape
    first_row = _row_energies(horizontal[0], field[0], values)
    closes = bool(np.any(vertical[-1] != 0)) and rows >= 3
    if not closes:
        energy, count, choices = _sweep(
            horizontal, vertical, field, values, tolerance,
            first_row[None], np.ones((1, first_row.size)), record=True,
        )  # fmt: skip
        totals = energy[0]
        lowest = float(totals.min())
        degeneracy = float(count[0][totals <= lowest + tolerance].sum())
        return _trace_back(choices, int(np.argmin(totals)), rows, cols), degeneracy
    # Condition on the first row: one sweep per configuration ``a`` of it (the batch axis),
    # each starting from the one state ``a``; the last row then meets the first.
    states = np.arange(first_row.size)
    start = np.full((states.size, states.size), np.inf)
    start[states, states] = first_row
    energy, count, _ = _sweep(
        horizontal, vertical, field, values, tolerance, start, np.eye(states.size), record=False
    )
    closing = _closing_energies(vertical[-1], values)
    totals = energy + closing
    lowest = float(totals.min())
    degeneracy = float(count[totals <= lowest + tolerance].sum())
    first = int(np.argmin(totals)) // states.size
    # Again for the best first row alone, now keeping the choices to trace back.
    start = np.full((1, states.size), np.inf)
    start[0, first] = first_row[first]
    energy, _, choices = _sweep(
        horizontal, vertical, field, values, tolerance, start, np.eye(states.size)[first:first + 1],
        record=True,
    )  # fmt: skip
    last = int(np.argmin(energy[0] + closing[first]))
    return _trace_back(choices, last, rows, cols), degeneracy


def _column_spins(cols: int, values: np.ndarray) -> np.ndarray:
    """``[cols, 2^cols]``: the unit value of each column in each state of a complete row."""
    states = np.arange(2**cols)
    return values[(states[None] >> (cols - 1 - np.arange(cols))[:, None]) & 1]


def _row_energies(horizontal_row: np.ndarray, field_row: np.ndarray, values: np.ndarray):
    """The energy of every state of one row (its fields and the bonds along it)."""
    cols = field_row.size
    spins = _column_spins(cols, values)
    energy = -(field_row @ spins)
    energy -= np.sum(horizontal_row[:-1, None] * spins[:-1] * spins[1:], axis=0)
    if cols >= 3:
        energy -= horizontal_row[-1] * spins[-1] * spins[0]
    return energy


def _closing_energies(vertical_row: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``[first row, last row]``: the energy of the bonds from the last row to the first."""
    spins = _column_spins(vertical_row.size, values)
    return -np.einsum("c,ca,cb->ab", vertical_row, spins, spins)


def _sweep(horizontal, vertical, field, values, tolerance, energy, count, record):
    """Add rows ``1 .. rows - 1`` site by site to ``energy, count [batch, 2^cols]`` (the
    lowest energy and the number of configurations ending in each state); with ``record``,
    also which value the dropped spin took for each new state, packed 8 states to a byte."""
    rows, cols = field.shape
    batch, half = energy.shape[0], 2 ** (cols - 1)
    kept = np.arange(half)  # the kept spins: the new state is 2 * kept + new spin
    left_spin = values[kept & 1]  # the newest kept spin, the left neighbour
    first_spin = values[(kept >> max(cols - 2, 0)) & 1]  # the row's first spin, at its end
    choices = []
    for row in range(1, rows):
        for col in range(cols):
            local = np.full(half, field[row, col])
            if col > 0:
                local += horizontal[row, col - 1] * left_spin
            if col == cols - 1 and cols >= 3 and horizontal[row, col] != 0:
                local += horizontal[row, col] * first_spin
            was_down, was_up = energy[:, :half], energy[:, half:]  # the dropped spin
            with np.errstate(invalid="ignore"):  # inf - inf: unreachable either way, count 0
                up_minus_down = was_up - was_down
            new_energy = np.empty((batch, half, 2))
            new_count = np.empty((batch, half, 2))
            chose_up = np.empty((batch, half, 2), dtype=bool)
            for new in (0, 1):
                bond = -vertical[row - 1, col] * values[new]  # times the dropped spin
                # up - down with the bond is up_minus_down + shift; within the tolerance the
                # two tie and both configurations count
                shift = bond * (values[1] - values[0])
                new_energy[:, :, new] = (
                    np.minimum(was_down + bond * values[0], was_up + bond * values[1])
                    - values[new] * local
                )
                new_count[:, :, new] = count[:, :half] * (up_minus_down >= -shift - tolerance)
                new_count[:, :, new] += count[:, half:] * (up_minus_down <= -shift + tolerance)
                if record:
                    chose_up[:, :, new] = up_minus_down < -shift
            energy, count = new_energy.reshape(batch, -1), new_count.reshape(batch, -1)
            if record:
                choices.append(np.packbits(chose_up.reshape(-1)))
    return energy, count, choices


def _trace_back(choices: list[np.ndarray], state: int, rows: int, cols: int) -> np.ndarray:
    """The bits ``[rows, cols]`` of the configuration whose sweep ends in ``state``."""
    bits = np.zeros((rows, cols), dtype=np.int64)
    step = len(choices)
    for row in range(rows - 1, 0, -1):
        for col in range(cols - 1, -1, -1):
            step -= 1
            bits[row, col] = state & 1
            dropped = (int(choices[step][state >> 3]) >> (7 - (state & 7))) & 1
            state = (dropped << (cols - 1)) | (state >> 1)
    bits[0] = (state >> (cols - 1 - np.arange(cols))) & 1
    return bits
