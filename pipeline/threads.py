"""Intra-op threads for torch and ONNX Runtime, from one setting.

``resolve_threads(setting)``: a positive setting wins; 0 means "the cores this process may
use": ``CONTRADICT_THREADS`` if set, else ``OMP_NUM_THREADS`` (Ray sets it to an actor's
CPUs, so several actors on one machine do not each take every core), else the CPU affinity
mask (``os.sched_getaffinity``; a pinned process or a container limit counts, not the
machine's core count).

The model stages run one after another inside a process (the embedder, then the NLI
model), so each engine may use every core; what must not happen is two engines each
starting their own full pool at once, or a library default above the affinity mask.
``apply_torch_threads`` sets torch's pool once per process to the resolved number.

The one overlap is deliberate: with ``segment.prefetch`` the local engine parses the next
batch (spaCy, one thread) while the models work on this one. Their pools keep every core
and do not spin (``ort_session_options``), so a pool thread waiting for work yields the core
to the parse instead of busy-waiting on it. Measured on 300 generated articles, 2 cores:
6.30 articles/s without the prefetch, 7.98 with it and 2 model threads, 6.14 with it and
1 model thread: giving the parse a core of its own is slower than sharing both.
"""

from __future__ import annotations

import os
import threading

_APPLIED: dict[str, int] = {}
_LOCK = threading.Lock()


def available_cores() -> int:
    """Cores this process may run on (affinity mask), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def resolve_threads(setting: int = 0) -> int:
    """Threads for one intra-op pool: ``setting`` if positive, else from the environment or
    the affinity mask (see the module docstring)."""
    if setting and setting > 0:
        return int(setting)
    for var in ("CONTRADICT_THREADS", "OMP_NUM_THREADS"):
        raw = os.environ.get(var, "").strip()
        if raw.isdigit() and int(raw) > 0:
            return min(int(raw), available_cores())
    return available_cores()


def apply_torch_threads(setting: int = 0) -> int:
    """Set torch's intra-op threads to ``resolve_threads(setting)``; return the number."""
    n = resolve_threads(setting)
    with _LOCK:
        if _APPLIED.get("torch") != n:
            import torch

            torch.set_num_threads(n)
            _APPLIED["torch"] = n
    return n


def ort_session_options(setting: int = 0):
    """ONNX Runtime session options: ``resolve_threads(setting)`` intra-op threads, one
    inter-op thread (the graphs are sequential), no spinning, full graph optimisation, no
    CPU memory arena."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = resolve_threads(setting)
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # no busy-waiting between runs: the NLI and embedder sessions and spaCy share the cores,
    # and spinning pool threads took them from each other (24 articles, 2 loaded cores:
    # 21.4/27.7 s with spinning, 13.7/16.2 s without; results are the same)
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
    # no CPU memory arena: with it, each input shape larger than any before grew the arena
    # (by powers of two) and the arena never gave memory back, so a run's RSS climbed with
    # every longer batch it met (FNC-1 bodies, 320 articles: 744 -> 1,721 MB; without the
    # arena 744 -> 969 MB, outputs identical). Large buffers are then mmap'd and returned
    # to the system when freed.
    opts.enable_cpu_mem_arena = False
    return opts
