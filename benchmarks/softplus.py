"""The cost per element of ``jax.nn.softplus`` against the form the RBM AIS increment uses,
``max(x, 0) + log1p(exp(-|x|))`` (``physsamp.kernels.ais.softplus``), on 20,480 float32
values inside a compiled loop, with the largest difference between the two.

Run: ``uv run python benchmarks/softplus.py``
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

from physsamp.kernels.ais import softplus

REPEATS = 1000


def per_element_ns(function, x) -> float:
    @jax.jit
    def loop(x):
        return jax.lax.fori_loop(
            0, REPEATS, lambda i, a: a + function(x * (1 + i * 1e-6)).sum(), 0.0
        )

    loop(x).block_until_ready()
    best = np.inf
    for _ in range(3):
        start = time.perf_counter()
        loop(x).block_until_ready()
        best = min(best, time.perf_counter() - start)
    return best / REPEATS / x.size * 1e9


def main() -> None:
    x = 5.0 * jax.random.normal(jax.random.key(0), (1024, 20), jnp.float32)
    library = per_element_ns(jax.nn.softplus, x)
    plain = per_element_ns(softplus, x)
    difference = float(jnp.abs(jax.nn.softplus(x) - softplus(x)).max())
    print(f"jax.nn.softplus      {library:6.2f} ns/element")
    print(f"max(x,0)+log1p(...)  {plain:6.2f} ns/element")
    print(f"ratio {library / plain:.1f}x; largest difference {difference:.1e}")


if __name__ == "__main__":
    main()
