"""The command line, called in process through ``physsamp.cli.main``."""

import arviz as az
import networkx as nx
import numpy as np
import pytest

import physsamp as ps
from physsamp.cli import main
from physsamp.lattice_exact import ising2d_log_partition


def test_help_lists_the_commands_with_their_defaults(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    printed = capsys.readouterr().out
    for line in ("demo    --out physsamp-demo --size 32", "sample  --lattice 32x32",
                 "logz    --lattice 32x32"):  # fmt: skip
        assert line in printed
    assert "--kernel gibbs" in printed and "--method auto" in printed


def test_command_help_shows_every_default(capsys):
    with pytest.raises(SystemExit):
        main(["sample", "--help"])
    printed = " ".join(capsys.readouterr().out.split())
    assert "(default: gibbs)" in printed and "(default: 1000)" in printed
    assert "(default: 0.4406868, the 2D critical point)" in printed
    assert "(default: None)" not in printed


def _log_z(printed: str) -> float:
    line = next(line for line in printed.splitlines() if line.startswith("log Z = "))
    return float(line.split()[3])


def test_logz_exact_and_kaufman_agree_on_a_small_periodic_lattice(capsys):
    values = {}
    for method in ("exact", "kaufman", "auto"):
        assert main(["logz", "--lattice", "4x4", "--beta", "0.4", "--method", method]) == 0
        printed = capsys.readouterr().out
        values[method] = _log_z(printed)
    assert "Kaufman" in printed  # auto picks Kaufman's formula where it applies
    assert values["exact"] == pytest.approx(values["kaufman"], abs=2e-6)
    assert values["kaufman"] == pytest.approx(ising2d_log_partition(4, 4, 0.4), abs=1e-6)


def test_logz_refuses_methods_that_do_not_apply(capsys):
    assert main(["logz", "--lattice", "4x4", "--open", "--method", "kaufman"]) == 2
    assert "periodic 2D lattice" in capsys.readouterr().err
    assert main(["logz", "--lattice", "5x5", "--method", "exact"]) == 2
    assert "use --method ais" in capsys.readouterr().err


@pytest.mark.slow
def test_sample_on_a_small_lattice_writes_readable_netcdf(tmp_path, capsys):
    out = tmp_path / "lattice.nc"
    argv = ["sample", "--lattice", "4x4", "--beta", "0.3", "--draws", "60", "--warmup", "10",
            "--chains", "2", "--configurations", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "abs_magnetization" in printed and "r_hat" in printed
    assert "exact energy per site (Kaufman 1949)" in printed and "MCSE" in printed
    idata = az.from_netcdf(out)
    assert idata.posterior["energy"].shape == (2, 60)
    spins = idata.configurations["spins"].values
    assert spins.shape == (2, 60, 16) and set(np.unique(spins)) <= {-1, 1}
    model = ps.Ising.lattice((4, 4))
    np.testing.assert_allclose(idata.posterior["energy"].values,
                               np.asarray(model.energy(spins)) / 16, rtol=1e-6)  # fmt: skip


@pytest.mark.slow
def test_sample_with_an_automatic_tempering_ladder(tmp_path, capsys):
    out = tmp_path / "tempering.nc"
    argv = ["sample", "--lattice", "4x4", "--beta", "0.6", "--kernel", "pt", "--draws", "400",
            "--warmup", "200", "--chains", "2", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "parallel tempering: 2 chains x 400 draws" in printed
    assert "ladder: " in printed and "chain 1: after sampling: barrier " in printed
    idata = az.from_netcdf(out)
    assert "tempering_health" in idata.sample_stats.attrs
    with pytest.raises(SystemExit):
        main(["sample", "--kernel", "pt", "--replicas", "1"])
    assert "'auto' or an integer >= 2" in capsys.readouterr().err


@pytest.mark.slow
def test_sample_reads_couplings_from_an_edge_list(tmp_path, capsys):
    graph = nx.cycle_graph(5)
    nx.set_edge_attributes(graph, {edge: 0.3 + 0.2 * i for i, edge in enumerate(graph.edges)},
                           "coupling")  # fmt: skip
    path = tmp_path / "ring.edgelist"
    nx.write_edgelist(graph, path, data=["coupling"])  # "u v 0.3" per line
    out = tmp_path / "ring.nc"
    argv = ["sample", "--graph", str(path), "--kernel", "sw", "--beta", "0.5", "--draws", "40",
            "--warmup", "5", "--chains", "2", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    assert "from the 'coupling' edge attribute" in capsys.readouterr().out
    energies = az.from_netcdf(out).posterior["energy"].values.ravel() * 5
    # every draw's energy is an energy of the model with the file's couplings
    model = ps.Ising(graph, coupling="coupling")
    possible = np.asarray(model.energy(ps.exact.states(model)))
    assert np.abs(energies[:, None] - possible[None, :]).min(axis=1).max() < 1e-4


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("broken.graphml", b"<graphml><graph><node id='0'/><edge source='0'"),
        ("binary.edgelist", b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe"),
        ("words.edgelist", b"0 1 strong\n1 2 weak\n"),
        ("dict.edgelist", b"0 1 {'coupling': 0.5\n"),
        ("partial.edgelist", b"0 1 0.5\n1 2\n"),
        ("empty.adjlist", b"# nothing here\n"),
        ("graph.json", b"{}"),
    ],
)
def test_an_unreadable_graph_file_is_a_clean_error(tmp_path, capsys, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    out = tmp_path / "never.nc"
    for argv in (["logz", "--graph", str(path)],
                 ["sample", "--graph", str(path), "--out", str(out)]):  # fmt: skip
        assert main(argv) == 2
        error = capsys.readouterr().err
        assert error.startswith(f"physsamp {argv[0]}: error: ") and str(path) in error
        assert "Traceback" not in error
    assert not out.exists()


def test_a_missing_graph_file_and_a_bad_lattice_are_clean_errors(tmp_path, capsys):
    missing = tmp_path / "missing.edgelist"
    assert main(["logz", "--graph", str(missing)]) == 2
    assert f"cannot read graph file {missing}" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["logz", "--lattice", "32by32"])
    assert exit_info.value.code == 2
    assert "such as 32x32" in capsys.readouterr().err
    assert main(["logz", "--lattice", "4x4", "--beta", "-1"]) == 2
    assert "--beta must be a finite non-negative number" in capsys.readouterr().err


# annealed importance sampling through the command line (compiles a chunked AIS run: 10 s)
@pytest.mark.slow
def test_logz_by_ais_agrees_with_kaufman(capsys):
    argv = ["logz", "--lattice", "4x4", "--beta", "0.4", "--method", "ais", "--num-betas", "200",
            "--runs", "64"]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    line = next(line for line in printed.splitlines() if line.startswith("log Z = "))
    estimate, error = float(line.split()[3]), float(line.split()[5])
    assert abs(estimate - ising2d_log_partition(4, 4, 0.4)) < 4 * error
