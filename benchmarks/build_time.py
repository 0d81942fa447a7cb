"""Time to build models: a 1024 x 1024 periodic lattice and a networkx graph with 10^6 edges.

uv run python benchmarks/build_time.py
"""

from __future__ import annotations

import time

import networkx as nx

import physsamp as ps


def main() -> None:
    start = time.perf_counter()
    lattice = ps.Ising.lattice((1024, 1024), beta=0.44)
    print(f"Ising.lattice((1024, 1024)): {time.perf_counter() - start:.2f} s, "
          f"{lattice.num_sites} sites")  # fmt: skip
    graph = nx.random_regular_graph(4, 500_000, seed=0)
    start = time.perf_counter()
    model = ps.Ising(graph, beta=0.3)
    print(f"Ising(networkx graph, 10^6 edges): {time.perf_counter() - start:.2f} s, "
          f"{model.edges.shape[0]} edges, {model.num_colors} colours")  # fmt: skip


if __name__ == "__main__":
    main()
