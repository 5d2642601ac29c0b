"""Keep OpenMP and OpenBLAS from fighting over the cores inside a training loop.

OpenBLAS's worker threads spin for a while after each GEMM, OpenMP's after each
parallel loop; when a loop alternates the two, each pool's spinning threads steal the
cores the other needs. Measured on a 2-core machine, a 60000x784->256->10 epoch took
3.3-3.6 s with both pools free and 0.84-0.93 s with OpenMP held to one thread. So the
loops of the engine run their element-wise kernels on the calling thread and leave the
cores to BLAS.
"""

import contextlib

_controller = None


def _openmp_controller():
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()  # NOTE: scans the loaded libraries once
    return _controller


@contextlib.contextmanager
def training_threads():
    """Within the block, OpenMP regions run on one thread; BLAS keeps its threads."""
    controller = _openmp_controller()
    if not controller.select(user_api="openmp"):
        yield
        return
    with controller.limit(limits=1, user_api="openmp"):
        yield
