"""fastnn.ops kernels against the NumPy a user would write and against PyTorch CPU.

    cd <repo> && PYTHONPATH=. python benchmarks/bench_kernels.py [--quick] [--no-torch]

One table: ratios first (> 1 means fastnn is faster), then time per call; then each
TARGET as PASS or MISS. Every contender gets the same arrays (one seed), shapes and
dtype. fastnn writes into preallocated outputs, as the engine calls it; the NumPy
expressions allocate, as a user writes them. fastnn is checked against NumPy before
anything is timed, torch after torch is timed; a disagreement aborts the run.

NOTE: PyTorch (OpenMP) is timed in a child process that runs no NumPy BLAS until it is
done, because OpenBLAS threads spin for ~0.1 s after a GEMM and fight other thread
pools for the cores (BENCHMARKING.md). For the same reason every warm-up outlasts that
spin, so that no contender pays for the threads of the one before.
"""

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from collections import namedtuple
from functools import partial
from pathlib import Path

import numpy as np
import scipy
from threadpoolctl import threadpool_info, threadpool_limits

from _machine import foreign_cpu_seconds

torch = F = ops = None  # each process imports only what it measures

F32, F64 = np.float32, np.float64
N, LOGITS, PARAM = 1_000_000, (100_000, 10), (784, 256)
LR, MU, B1, B2, EPS, T = 0.01, 0.9, 0.9, 0.999, 1e-7, 10  # optimizer settings
LR_T = LR * math.sqrt(1 - B2**T) / (1 - B1**T)  # Adam's step T, bias corrections folded
RHO, SCHEDULE = 0.9, 0.004  # RMSprop's and Adadelta's rho, Nadam's momentum schedule
MU_T = [B1 * (1 - 0.5 * 0.96 ** (t * SCHEDULE)) for t in range(1, T + 2)]  # Nadam
TOL = {F32: dict(rtol=1e-4, atol=1e-5), F64: dict(rtol=1e-10, atol=1e-12)}
# repeats, seconds per repeat (at least), seconds of warm-up
MODES = {"full": (7, 0.03, 0.25), "quick": (3, 0.005, 0.12)}
TORCH_CALLS = (
    "torch calls: sigmoid/tanh/relu/softmax/addmm(b, X, W), allocating; sigmoid bwd: "
    "torch.ops.aten.sigmoid_backward (autograd's kernel);\n  CE: F.cross_entropy("
    "reduction='none') + softmax minus 1 at the label (no autograd); optimizers: "
    "in-place tensor ops;\n  the 1M-parameter optimizers: torch.optim's step "
    "(foreach=True), its state set to the same arrays at step T - 1"
)


# ----------------------------------------------------------------------------- cases
# A setup maps a random generator to the case's arrays. A contender maps those arrays
# (NumPy arrays, or tensors sharing their memory) to a call without arguments that
# returns the result: the output(s), or the arrays that an in-place update changed.


def normal(r, shape, scale=1.0, dtype=F32):
    return (scale * r.standard_normal(shape)).astype(dtype)


def numpy_softmax(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def numpy_cross_entropy(Z, y, rows):
    P = numpy_softmax(Z)
    loss = -np.log(P[rows, y])
    P[rows, y] -= 1  # the gradient P - onehot(y)
    return loss, P


def torch_cross_entropy(Z, y, rows):
    P = torch.softmax(Z, 1)
    P[rows, y] -= 1
    return F.cross_entropy(Z, y, reduction="none"), P


def dense_gradients(X, W, dY):  # the same code for NumPy arrays and tensors
    return lambda: (X.T @ dY, dY.sum(0), dY @ W.T)


def numpy_momentum(W, G, V):
    V *= MU
    V -= LR * G
    W += V


def numpy_adam(W, G, M, S):
    M *= B1
    M += (1 - B1) * G
    S *= B2
    S += (1 - B2) * G * G
    W -= LR_T * M / (np.sqrt(S) + EPS)


def torch_adam(W, G, M, S):
    M.mul_(B1).add_(G, alpha=1 - B1)
    S.mul_(B2).addcmul_(G, G, value=1 - B2)
    W.addcdiv_(M, S.sqrt().add_(EPS), value=-LR_T)


def numpy_rmsprop(W, G, S):
    S *= RHO
    S += (1 - RHO) * G * G
    W -= LR * G / (np.sqrt(S) + EPS)


def numpy_adagrad(W, G, S):
    S += G * G
    W -= LR * G / (np.sqrt(S) + EPS)


def numpy_adadelta(W, G, S, D):
    S *= RHO
    S += (1 - RHO) * G * G
    step = np.sqrt(D + EPS) / np.sqrt(S + EPS) * G
    D *= RHO
    D += (1 - RHO) * step * step
    W -= step  # learning_rate 1


def numpy_adamax(W, G, M, U):
    M *= B1
    M += (1 - B1) * G
    np.maximum(B2 * U, np.abs(G) + EPS, out=U)
    W -= LR / (1 - B1**T) * M / U


def numpy_nadam(W, G, M, S):
    product = math.prod(MU_T[:T])
    M *= B1
    M += (1 - B1) * G
    S *= B2
    S += (1 - B2) * G * G
    denominator = np.sqrt(S / (1 - B2**T)) + EPS
    W -= LR * (1 - MU_T[T - 1]) / (1 - product) * G / denominator
    W -= LR * MU_T[T] / (1 - product * MU_T[T]) * M / denominator


def torch_optim(name, **hyper):
    """Contender: one ``torch.optim.<name>`` step (foreach) of the parameter W with
    gradient G, its state the case's other arrays (keyword: torch's name for each),
    at step T - 1 so that its step is T as ours."""
    def make(W, G, **slots):
        W.grad = G
        optimizer = getattr(torch.optim, name)([W], foreach=True, **hyper)
        state = {"step": torch.tensor(float(T - 1))}
        state.update(slots)
        if name == "NAdam":
            state["mu_product"] = torch.tensor(math.prod(MU_T[:T - 1]))
        optimizer.state[W] = state
        return lambda: (optimizer.step(), (W, G, *slots.values()))[1]
    return make


def vector_case(name, update, numpy_update, torch_update, *slots):
    """An optimizer on one 1M-parameter float32 vector W with gradient G."""
    def setup(r):
        arrays = dict(W=normal(r, N), G=normal(r, N))
        for slot in slots:  # a first moment, or a second moment / norm (>= 0)
            first = slot in ("M", "exp_avg")
            arrays[slot] = normal(r, N, 0.01) if first else normal(r, N, 0.1) ** 2
        return arrays
    return Case(f"{name} update 1M", None, setup, inplace(update),
                inplace(numpy_update), torch_update)


def inplace(update):
    """Contender for an in-place ``update(**arrays)``; the result is all the arrays."""
    return lambda **a: lambda: (update(**a), tuple(a.values()))[1]


def fast(name):
    """fastnn contender ``ops.<name>(*arrays, out=...)``, ``out`` preallocated."""
    def make(**a):
        first = next(iter(a.values()))
        return partial(getattr(ops, name), *a.values(), out=np.empty_like(first))
    return make


def dense_data(dtype, last, shape):  # X (200, 784), W (784, 256), then b or dY
    return lambda r: {"X": normal(r, (200, 784), 1, dtype),
                      "W": normal(r, PARAM, 0.05, dtype),
                      last: normal(r, shape, 1, dtype)}


Case = namedtuple("Case", "name target setup fastnn numpy torch")
CASES = [
    Case("sigmoid fwd 1M", ("torch", 1.0), lambda r: dict(X=normal(r, N)),
         fast("sigmoid"), lambda X: lambda: 1 / (1 + np.exp(-X)),
         lambda X: partial(torch.sigmoid, X)),
    Case("tanh fwd 1M", None, lambda r: dict(X=normal(r, N)), fast("tanh"),
         lambda X: partial(np.tanh, X), lambda X: partial(torch.tanh, X)),
    Case("relu fwd 1M", None, lambda r: dict(X=normal(r, N)), fast("relu"),
         lambda X: partial(np.maximum, X, 0), lambda X: partial(torch.relu, X)),
    Case("sigmoid bwd 1M", None, lambda r: dict(Y=r.random(N, F32), dY=normal(r, N)),
         fast("sigmoid_backward"), lambda Y, dY: lambda: dY * Y * (1 - Y),
         lambda Y, dY: partial(torch.ops.aten.sigmoid_backward, dY, Y)),
    Case("softmax fwd 100000x10", None, lambda r: dict(Z=normal(r, LOGITS)),
         fast("softmax"), lambda Z: partial(numpy_softmax, Z),
         lambda Z: partial(torch.softmax, Z, 1)),
    Case("softmax CE fwd+grad 100000x10", ("numpy", 5.0),
         lambda r: dict(Z=normal(r, LOGITS), y=r.integers(0, LOGITS[1], LOGITS[0])),
         lambda Z, y: partial(ops.softmax_cross_entropy, Z, y,
                              loss_out=np.empty(len(Z), F32),
                              grad_out=np.empty_like(Z)),
         lambda Z, y: partial(numpy_cross_entropy, Z, y, np.arange(len(y))),
         lambda Z, y: partial(torch_cross_entropy, Z, y, torch.arange(len(y)))),
    *(Case(f"dense fwd 200x784x256 {np.dtype(t)}", ("numpy", 0.9),
           dense_data(t, "b", 256),
           lambda X, W, b: partial(ops.dense_forward, X, W, b,
                                   out=np.empty((len(X), len(b)), X.dtype)),
           lambda X, W, b: lambda: X @ W + b,
           lambda X, W, b: partial(torch.addmm, b, X, W)) for t in (F32, F64)),
    *(Case(f"dense bwd 200x784x256 {np.dtype(t)}", None,
           dense_data(t, "dY", (200, 256)),
           lambda X, W, dY: partial(ops.dense_backward, X, W, dY, dW=np.empty_like(W),
                                    db=np.empty_like(dY[0]), dX=np.empty_like(X)),
           dense_gradients, dense_gradients) for t in (F32, F64)),
    Case("momentum update 784x256", ("numpy", 3.0),
         lambda r: dict(W=normal(r, PARAM), G=normal(r, PARAM),
                        V=normal(r, PARAM, 0.01)),
         inplace(lambda W, G, V: ops.momentum_update(W, G, V, LR, MU)),
         inplace(numpy_momentum),
         inplace(lambda W, G, V: W.add_(V.mul_(MU).sub_(G, alpha=LR)))),
    Case("adam update 784x256", None,
         lambda r: dict(W=normal(r, PARAM), G=normal(r, PARAM),
                        M=normal(r, PARAM, 0.01), S=normal(r, PARAM, 0.1) ** 2),
         inplace(lambda W, G, M, S: ops.adam_update(W, G, M, S, LR, T, B1, B2, EPS)),
         inplace(numpy_adam), inplace(torch_adam)),
    vector_case("rmsprop",
                lambda W, G, square_avg: ops.rmsprop_update(
                    W, G, square_avg, LR, RHO, EPS),
                lambda W, G, square_avg: numpy_rmsprop(W, G, square_avg),
                torch_optim("RMSprop", lr=LR, alpha=RHO, eps=EPS), "square_avg"),
    vector_case("adagrad",
                lambda W, G, sum: ops.adagrad_update(W, G, sum, LR, EPS),
                lambda W, G, sum: numpy_adagrad(W, G, sum),
                torch_optim("Adagrad", lr=LR, eps=EPS), "sum"),
    vector_case("adadelta",
                lambda W, G, square_avg, acc_delta: ops.adadelta_update(
                    W, G, square_avg, acc_delta, 1.0, RHO, EPS),
                lambda W, G, square_avg, acc_delta: numpy_adadelta(
                    W, G, square_avg, acc_delta),
                torch_optim("Adadelta", lr=1.0, rho=RHO, eps=EPS),
                "square_avg", "acc_delta"),
    vector_case("adamax",
                lambda W, G, exp_avg, exp_inf: ops.adamax_update(
                    W, G, exp_avg, exp_inf, LR, T, B1, B2, EPS),
                lambda W, G, exp_avg, exp_inf: numpy_adamax(W, G, exp_avg, exp_inf),
                torch_optim("Adamax", lr=LR, betas=(B1, B2), eps=EPS),
                "exp_avg", "exp_inf"),
    vector_case("nadam",
                lambda W, G, exp_avg, exp_avg_sq: ops.nadam_update(
                    W, G, exp_avg, exp_avg_sq, LR, T, B1, B2, EPS, SCHEDULE),
                lambda W, G, exp_avg, exp_avg_sq: numpy_nadam(
                    W, G, exp_avg, exp_avg_sq),
                torch_optim("NAdam", lr=LR, betas=(B1, B2), eps=EPS,
                            momentum_decay=SCHEDULE),
                "exp_avg", "exp_avg_sq"),
]


# ------------------------------------------------------------------------- machinery


def contender(case, who):
    """``who``'s call on fresh arrays, the same for every contender (one seed)."""
    data = case.setup(np.random.default_rng(0))
    if who == "torch":
        data = {k: torch.from_numpy(v) for k, v in data.items()}
    return getattr(case, who)(**data)


def measure(call, repeats, seconds, warmup):
    """Seconds per call, one figure per repeat; the warm-up also sizes the repeats."""
    calls, start = 0, time.perf_counter()
    while calls == 0 or time.perf_counter() - start < warmup:
        call()
        calls += 1
    number = math.ceil(seconds * calls / (time.perf_counter() - start))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            call()
        times.append((time.perf_counter() - start) / number)
    return times


def check(case, who):
    """Fail loudly unless one call of ``who`` gives what the NumPy expression gives."""
    got, want = contender(case, who)(), contender(case, "numpy")()
    got, want = ((x if isinstance(x, tuple) else (x,)) for x in (got, want))
    for g, w in zip(got, want, strict=True):  # strict: same shape and dtype too
        np.testing.assert_allclose(np.asarray(g), w, **TOL[w.dtype.type], strict=True,
                                   err_msg=f"{case.name}: {who} disagrees with NumPy")


def torch_worker(args, mode):
    global torch, F
    try:
        import torch
        import torch.nn.functional as F
    except ImportError as error:
        return print(json.dumps(dict(error=str(error))))
    if args.threads:
        torch.set_num_threads(args.threads)
    times = {c.name: measure(contender(c, "torch"), *mode) for c in CASES}
    for case in CASES:  # only now may NumPy's BLAS run in this process
        check(case, "torch")
    print(json.dumps(dict(version=torch.__version__, threads=torch.get_num_threads(),
                          interop=torch.get_num_interop_threads(), times=times)))


def run_torch_worker(args):
    if args.no_torch:
        return dict(error="--no-torch")
    flags = ["--quick"] * args.quick
    flags += ["--threads", f"{args.threads}"] if args.threads else []
    worker = subprocess.run([sys.executable, __file__, "--torch-worker", *flags],
                            capture_output=True, text=True)
    if worker.returncode:
        sys.exit(f"ABORT: the torch worker failed:\n{worker.stderr}")
    return json.loads(worker.stdout.splitlines()[-1])




def cell(times):
    """'median (min-max)' of ``times`` (seconds) in microseconds, or n/a."""
    if not times:
        return "n/a"
    us = 1e6 * np.array([np.median(times), min(times), max(times)])
    return "{} ({}-{})".format(*(f"{t:.3g}" if t < 100 else f"{t:.0f}" for t in us))


def report(args, times, peer, pools, other_cpus):
    repeats, seconds, warmup = MODES["quick" if args.quick else "full"]
    cpu = [line.split(":")[1].strip() for line in Path("/proc/cpuinfo").open()
           if line.startswith("model name")] if os.path.exists("/proc/cpuinfo") else []
    print("fastnn.ops vs NumPy vs PyTorch CPU. Microseconds per call: median (min-max) "
          f"of {repeats} repeats of >= {seconds * 1e3:g} ms of calls after "
          f"{warmup * 1e3:g} ms of warm-up.\nRatios of medians: > 1 means fastnn is "
          "faster. fastnn writes into preallocated out= arrays; NumPy allocates.")
    print(f"machine: {cpu[0] if cpu else platform.processor()}, {os.cpu_count()} "
          f"logical CPUs; other processes used {other_cpus:.2f} of them during the run")
    if other_cpus > 0.1:
        print("WARNING: the machine was busy; these figures measure the contention.")
    git = subprocess.run(["git", "-C", Path(__file__).parent, "describe", "--always",
                          "--dirty"], capture_output=True, text=True).stdout.strip()
    torch_version = peer.get("version", f"n/a ({peer.get('error')})")
    print(f"fastnn git {git or 'n/a'}, SIMD = {ops.SIMD}; numpy {np.__version__}, "
          f"scipy {scipy.__version__}, torch {torch_version}; "
          f"Python {platform.python_version()}")
    print(f"threads, fastnn + NumPy process (threadpoolctl): {pools}; NumPy ufuncs 1")
    if "threads" in peer:
        print(f"threads, torch process: torch.get_num_threads() = {peer['threads']} "
              f"(interop {peer['interop']})\n{TORCH_CALLS}")
    med = {who: {k: np.median(t) for k, t in by.items()} for who, by in times.items()}
    ratio = {(c.name, who): med[who][c.name] / med["fastnn"][c.name]
             for c in CASES for who in ("numpy", "torch") if c.name in med[who]}
    print(f"\n{'case':30}{'numpy/fastnn':>14}{'torch/fastnn':>14}"
          f"{'fastnn':>21}{'numpy':>21}{'torch':>21}")
    for c in CASES:
        ratios = (ratio.get((c.name, who)) for who in ("numpy", "torch"))
        ratios = (f"{r:.2f}" if r else "n/a" for r in ratios)
        cells = (cell(times[who].get(c.name)) for who in ("fastnn", "numpy", "torch"))
        print(f"{c.name:30}" + "".join(f"{r:>14}" for r in ratios)
              + "".join(f"{x:>21}" for x in cells))
    print("\nTARGETS")
    for c in CASES:
        if c.target:
            who, goal = c.target
            r = ratio.get((c.name, who))
            verdict = "n/a " if r is None else "PASS" if r >= goal else "MISS"
            print(f"  {verdict}  {c.name}: {who}/fastnn >= {goal:g}, measured "
                  f"{'n/a' if r is None else f'{r:.2f}'}")


def main():
    global ops
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run, for CI smoke")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    parser.add_argument("--threads", type=int, help="cap every thread pool at this")
    parser.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    mode = MODES["quick" if args.quick else "full"]
    if args.torch_worker:
        return torch_worker(args, mode)
    from fastnn import ops

    start, foreign = time.perf_counter(), foreign_cpu_seconds()
    for case in CASES:
        check(case, "fastnn")
    peer = run_torch_worker(args)
    times = dict(fastnn={}, numpy={}, torch=peer.get("times", {}))
    with threadpool_limits(limits=args.threads):
        for case in CASES:
            for who in ("fastnn", "numpy"):
                times[who][case.name] = measure(contender(case, who), *mode)
        pools = ", ".join(f"{p['prefix']} ({Path(p['filepath']).parent.name}) "
                          f"{p['num_threads']}" for p in threadpool_info())
    other_cpus = (foreign_cpu_seconds() - foreign) / (time.perf_counter() - start)
    report(args, times, peer, pools, other_cpus)


if __name__ == "__main__":
    main()
