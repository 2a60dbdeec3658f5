"""Which cores each CPU worker's OpenMP threads run on when the CPU engine runs several
workers (tensor, pipeline or data parallel ranks). vLLM's automatic binding gives every
worker a NUMA node of its own and refuses to start with fewer nodes than workers ("Not
enough allowed NUMA nodes to bind threads of 2 local CPUWorkers"): on a one-node machine,
any parallel run. Here the cores this process may use are split into one contiguous group
per worker, node by node, in the form vLLM takes (`VLLM_CPU_OMP_THREADS_BIND`, `|` between
ranks, ranks ordered data-parallel, pipeline, tensor)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

NODES = Path("/sys/devices/system/node")


def parse_cpu_list(text: str) -> list[int]:
    """'0-2,5' -> [0, 1, 2, 5] (the kernel's cpulist format)."""
    cpus: list[int] = []
    for part in text.strip().split(","):
        if not part:
            continue
        first, _, last = part.partition("-")
        cpus += range(int(first), int(last or first) + 1)
    return cpus


def format_cpu_list(cpus: Iterable[int]) -> str:
    """[0, 1, 2, 5] -> '0-2,5'."""
    ranges: list[list[int]] = []
    for cpu in sorted(cpus):
        if ranges and cpu == ranges[-1][1] + 1:
            ranges[-1][1] = cpu
        else:
            ranges.append([cpu, cpu])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


def cpus_by_node(allowed: Iterable[int], nodes: Path = NODES) -> dict[int, list[int]]:
    """The allowed cores of each NUMA node (one node holding them all where the machine
    does not say)."""
    allowed = set(allowed)
    found: dict[int, list[int]] = {}
    for node in sorted(nodes.glob("node[0-9]*")):
        cpus = [c for c in parse_cpu_list((node / "cpulist").read_text()) if c in allowed]
        if cpus:
            found[int(node.name.removeprefix("node"))] = cpus
    return found or {0: sorted(allowed)}


def omp_binding(nodes: dict[int, list[int]], workers: int) -> str | None:
    """None where vLLM's own binding works (one worker, or a NUMA node for each)."""
    if workers <= 1 or len(nodes) >= workers:
        return None
    cpus = [cpu for node in sorted(nodes) for cpu in nodes[node]]
    if len(cpus) < workers:
        raise ValueError(
            f"{workers} CPU workers need at least {workers} cores; this process may use "
            f"{len(cpus)} ({format_cpu_list(cpus)})"
        )
    size = len(cpus) // workers
    return "|".join(format_cpu_list(cpus[i * size : (i + 1) * size]) for i in range(workers))
