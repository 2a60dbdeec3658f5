from pathlib import Path

import pytest

from server.engine.cpu_binding import cpus_by_node, format_cpu_list, omp_binding, parse_cpu_list


def test_cpu_lists_round_trip():
    assert parse_cpu_list("0-2,5\n") == [0, 1, 2, 5]
    assert format_cpu_list([5, 0, 2, 1]) == "0-2,5"
    assert format_cpu_list([3]) == "3"


def test_nodes_are_read_from_sysfs_and_cut_to_the_allowed_cores(tmp_path: Path):
    for node, cpus in (("node0", "0-3"), ("node1", "4-7")):
        (tmp_path / node).mkdir()
        (tmp_path / node / "cpulist").write_text(cpus + "\n")
    assert cpus_by_node({1, 2, 5}, tmp_path) == {0: [1, 2], 1: [5]}
    assert cpus_by_node({1, 2}, tmp_path) == {0: [1, 2]}
    assert cpus_by_node({0, 1}, tmp_path / "missing") == {0: [0, 1]}


def test_workers_split_the_cores_node_by_node():
    assert omp_binding({0: [0, 1]}, 1) is None
    assert omp_binding({0: [0, 1]}, 2) == "0|1"
    assert omp_binding({0: list(range(8))}, 2) == "0-3|4-7"
    assert omp_binding({0: [0, 1, 2, 3], 1: [4, 5, 6, 7]}, 4) == "0-1|2-3|4-5|6-7"
    assert omp_binding({0: [0, 1, 2]}, 2) == "0|1"  # the odd core is left to the rest
    assert omp_binding({0: [0, 1], 1: [2, 3]}, 2) is None  # vLLM's own: a node each
    with pytest.raises(ValueError, match="at least 4 cores"):
        omp_binding({0: [0, 1]}, 4)
