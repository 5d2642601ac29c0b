"""Keep OpenMP and OpenBLAS from fighting over the cores inside a training loop.

OpenBLAS's worker threads spin for a while after each GEMM, OpenMP's after each
parallel loop; when a loop alternates the two, each pool's spinning threads steal the
cores the other needs. Measured on a 2-core machine, a 60000x784->256->10 epoch took
3.3-3.6 s with both pools free and 0.84-0.93 s with OpenMP held to one thread. So the
loops of the engine run their element-wise kernels on the calling thread and leave the
cores to BLAS.

The two limits differ in scope, and so do the two contexts:

- :func:`training_threads` holds OpenMP to one thread. OpenMP's thread count is an
  ICV of the *calling* thread (``omp_set_num_threads`` changes only its own data
  environment; checked for libgomp in ``tests/system/test_threads.py``), so the limit is kept
  per Python thread: nested blocks of one thread set it once and restore it once, and
  a model training in another thread is neither limited nor released by this one.
- :func:`single_thread_blas` holds BLAS to one thread. OpenBLAS's count is
  process-wide, so the limit is reference-counted under a lock: the first thread in
  sets it, the last one out restores what the first one found. (Two plain
  ``threadpool_limits`` blocks overlapping in two threads restore in the wrong order
  and can leave BLAS on one thread for good.)
"""

import contextlib
import threading

# NOTE: OpenBLAS's threads spin-wait for one another inside every GEMM. When another
# process holds a core, a two-thread GEMM waits for a thread that is not running, and a
# mini-batch loop of small GEMMs slows 20-30x (2 cores beside one busy process: a
# 200x64x100 batch loop took 2.4 s per epoch with BLAS on 2 threads, 73 ms on one). On
# an idle machine the second thread gains 10-30 % for GEMMs of 1-2M multiply-adds and
# 30-45 % from about 8M. Below this size the training loops keep BLAS to one thread.
BLAS_THREADING_MIN_MACS = 4_000_000

_controller = None
_controller_lock = threading.Lock()
_local = threading.local()  # .depth, .saved: this thread's OpenMP limit
_blas_lock = threading.Lock()
_blas_depth = 0
_blas_saved = None


def _openmp_controller():
    """The cached threadpoolctl controller (a new one rescans the loaded libraries,
    about 4 ms)."""
    global _controller
    if _controller is None:
        with _controller_lock:
            if _controller is None:
                from threadpoolctl import ThreadpoolController

                _controller = ThreadpoolController()
    return _controller


_libraries = {}


def _libs(user_api):
    """threadpoolctl's controllers of the loaded ``user_api`` libraries (cached)."""
    libs = _libraries.get(user_api)
    if libs is None:
        libs = _libraries[user_api] = list(
            _openmp_controller().select(user_api=user_api).lib_controllers
        )
    return libs


@contextlib.contextmanager
def training_threads():
    """Within the block, OpenMP regions started by this thread run on one thread;
    BLAS keeps its threads. Re-entrant; other threads are not affected."""
    depth = getattr(_local, "depth", 0)
    if depth == 0:
        libs = _libs("openmp")
        # NOTE: get and set through the libraries' own calls (about 1 us each) rather
        # than a threadpoolctl limiter (about 27 us), as predict enters this per call.
        _local.saved = [(lib, lib.get_num_threads()) for lib in libs]
        for lib, _ in _local.saved:
            lib.set_num_threads(1)
    _local.depth = depth + 1
    try:
        yield
    finally:
        _local.depth = depth
        if depth == 0:
            saved, _local.saved = _local.saved, None
            for lib, count in saved:
                lib.set_num_threads(count)


@contextlib.contextmanager
def fit_threads(gemm_macs):
    """The thread limits of a training loop whose largest GEMM does ``gemm_macs``
    multiply-adds: OpenMP on one thread (:func:`training_threads`) and, for GEMMs too
    small to gain from a second thread, BLAS on one thread too."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(training_threads())
        if gemm_macs < BLAS_THREADING_MIN_MACS:
            stack.enter_context(single_thread_blas())
        yield


def _set_blas_threads(lib, count):
    # NOTE: threadpoolctl >= 3.8 lets one "controlling" thread set OpenBLAS's count
    # and silently ignores every other thread's calls (its own limiters track that
    # thread). The lock and the reference count here already serialise the changes,
    # so the library's own setter is called, whichever thread leaves last.
    setter = getattr(lib, "_real_set_num_threads", None) or lib.set_num_threads
    setter(count)


@contextlib.contextmanager
def single_thread_blas():
    """Within the block, BLAS runs on one thread, process-wide (reference-counted
    across threads: the last thread to leave restores the original count)."""
    global _blas_depth, _blas_saved
    with _blas_lock:
        if _blas_depth == 0:
            libs = _libs("blas")
            _blas_saved = [(lib, lib.get_num_threads()) for lib in libs]
            for lib, _ in _blas_saved:
                _set_blas_threads(lib, 1)
        _blas_depth += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_depth -= 1
            if _blas_depth == 0:
                saved, _blas_saved = _blas_saved, None
                for lib, count in saved:
                    _set_blas_threads(lib, count)
