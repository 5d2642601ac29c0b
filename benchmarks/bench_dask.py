"""MLPClassifier trained block by block: dask_ml's Incremental on a local dask cluster
against an in-process partial_fit loop over the same blocks; and data-parallel L-BFGS
on a persisted dask array against the in-process fit, for LogisticRegression (``--case
lbfgs``; newton-cholesky: ``--case newton``) and MLPClassifier (``--case mlp-lbfgs``).

    cd <repo> && PYTHONPATH=. python benchmarks/bench_dask.py [--rounds N] [--quick]
    cd <repo> && PYTHONPATH=. python benchmarks/bench_dask.py --case lbfgs \
        [--rows 2000000] [--block 250000] [--rounds N]
    cd <repo> && PYTHONPATH=. python benchmarks/bench_dask.py --case newton \
        [--rows 2000000] [--block 250000] [--rounds N]
    cd <repo> && PYTHONPATH=. python benchmarks/bench_dask.py --case mlp-lbfgs \
        [--rows 500000] [--block 62500] [--rounds N]

``--case lbfgs``, ``newton`` and ``mlp-lbfgs`` share their data, contenders and report:
make_classification(rows x 100, 2 classes, 30 informative, random_state 0) as float64 in
a .npy under --data-dir, in --block row chunks (default rows / 8), one round unless
--rounds. Each contender runs in its own child process: ``in-process 1 thread``
(threadpoolctl holds OpenMP and BLAS to one thread), ``in-process 2 threads`` (the
machine's), and ``dask 2x1`` (LocalCluster(n_workers=2, threads_per_worker=1) on
loopback; the rows read by the workers from the memory-mapped .npy, each worker every
other chunk, and persisted before the clock starts, so they never pass through the
client). Printed: fit seconds (median over the rounds), the ratios to the 1-thread and
2-thread fits, iterations, the objective's difference from the 1-thread fit's, the
client process's peak RSS, and for dask the cost of one evaluation's round trip (a
fit's evaluations on the same cluster with 2-row chunks: messaging only), the bytes
each evaluation sends (the parameters, one call per worker) and receives (a loss and
gradient per chunk), and the fit's time waiting for the workers.

- ``--case lbfgs``: LogisticRegression(tol=1e-6, max_iter=300); default 400,000 rows
  (about a minute in all; the issue's size is --rows 2000000, 1.6 GB). The objective
  is recomputed in float64 on the whole data.
- ``--case newton``: LogisticRegression(solver='newton-cholesky', tol=1e-6,
  max_iter=100) on the same data: each chunk also sends its Hessian back (101 x 101
  float64 at 100 features).
- ``--case mlp-lbfgs``: MLPClassifier(hidden_layer_sizes=(64,), solver='lbfgs',
  max_iter=100, random_state=0) (6,529 parameters); default 500,000 rows (issue 17's
  size, 0.4 GB). The objective compared is each fit's ``loss_`` (loss plus penalty at
  its final weights); the fits stop at 100 iterations unless they converge first.

``--case incremental`` (the default):

Data: make_classification(1,100,000 x 100, 4 classes, 30 informative, 10 redundant,
flip_y 0.01, random_state 0) as float32, saved once as .npy under --data-dir; the
first 1,000,000 rows train in 50,000-row blocks (one pass, blocks in order), the last
100,000 are the held-out rows. MLPClassifier(hidden_layer_sizes=(100,),
solver='adam', random_state=0), batch_size 'auto' (200).

Contenders, each in its own child process, alternating for --rounds rounds:

- ``loop 1 thread``: ``for block: clf.partial_fit(block, classes=...)``, BLAS held to
  one thread (threadpoolctl): what one dask worker gets.
- ``loop 2 threads``: the same loop with the BLAS threads the machine gives.
- ``Incremental``: ``Incremental(clf, shuffle_blocks=False).fit(dX, dy, classes=...)``
  on ``LocalCluster(n_workers=2, threads_per_worker=1)`` (loopback), each block read
  from the .npy by a worker (``dask.delayed`` loaders: the data never passes through
  the client). The cluster starts, and a small warm-up fit runs, before the clock.

Every contender reads its blocks from the same memory-mapped .npy (page cache) and is
timed from its first block to its fitted model. Incremental trains one block at a time
(block i + 1 needs the model after block i), so the second worker only holds blocks:
expect at most the 1-thread loop's speed, minus what shipping the model costs. With
the blocks in order and the same random_state, Incremental must end with the 1-thread
loop's weights exactly (printed: the largest difference).

Measured 2026-11-26 (2 cores, load average 4.8-6.0 from other jobs, so noisy):
loop 1 thread 298,297 samples/s (3.35 s), Incremental 0.47x (139,728 samples/s,
7.16 s: 3.94 s of partial_fit on the workers, 0.19 s moving the model, 3.03 s
scheduling and waiting), same weights (difference 0) and held-out accuracy 0.9735;
loop 2 threads 0.09x (BLAS's two threads waiting for each other on a busy machine).
"""

import argparse
import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import numpy as np

CONTENDERS = ("loop 1 thread", "loop 2 threads", "Incremental")
PARAMS = dict(hidden_layer_sizes=(100,), solver="adam", random_state=0)


def make_data(data_dir, n_train, n_test, n_features):
    """(X path, y path): float32 features and int64 labels, generated once."""
    data_dir = Path(data_dir)
    stem = f"classification_{n_train + n_test}x{n_features}"
    X_path, y_path = data_dir / f"{stem}_X.npy", data_dir / f"{stem}_y.npy"
    if not (X_path.exists() and y_path.exists()):
        from sklearn.datasets import make_classification

        data_dir.mkdir(parents=True, exist_ok=True)
        X, y = make_classification(
            n_train + n_test, n_features, n_informative=30, n_redundant=10,
            n_classes=4, flip_y=0.01, random_state=0,
        )
        np.save(X_path, X.astype(np.float32))
        np.save(y_path, y.astype(np.int64))
    return str(X_path), str(y_path)


def load_block(path, start, stop):
    """Rows start:stop of the .npy at ``path``, as an array of its own."""
    return np.array(np.load(path, mmap_mode="r")[start:stop])


def held_out_accuracy(clf, X_path, y_path, n_train):
    X, y = np.load(X_path, mmap_mode="r"), np.load(y_path, mmap_mode="r")
    return float(clf.score(np.array(X[n_train:]), np.array(y[n_train:])))


def run_loop(args, X_path, y_path, blas_threads):
    from threadpoolctl import threadpool_limits

    from fastnn import MLPClassifier

    classes = np.unique(np.load(y_path, mmap_mode="r")[: args.block])
    starts = range(0, args.rows, args.block)
    MLPClassifier(**PARAMS).partial_fit(  # warm-up: imports, first allocations
        load_block(X_path, 0, 1000), load_block(y_path, 0, 1000), classes=classes
    )
    limit = threadpool_limits(1, user_api="blas") if blas_threads == 1 else None
    started = time.perf_counter()
    clf = MLPClassifier(**PARAMS)
    for start in starts:
        stop = min(start + args.block, args.rows)
        X_block = load_block(X_path, start, stop)
        clf.partial_fit(X_block, load_block(y_path, start, stop), classes=classes)
    seconds = time.perf_counter() - started
    if limit is not None:
        limit.restore_original_limits()
    return clf, seconds, {}


def dask_blocks(path, rows, block, width, dtype):
    import dask
    import dask.array as da

    load = dask.delayed(load_block, pure=True)
    parts = []
    for start in range(0, rows, block):
        stop = min(start + block, rows)
        shape = (stop - start, width) if width else (stop - start,)
        parts.append(da.from_delayed(load(path, start, stop), shape=shape, dtype=dtype))
    return da.concatenate(parts)


def run_incremental(args, X_path, y_path):
    from dask_ml.wrappers import Incremental
    from distributed import Client, LocalCluster, get_task_stream

    from fastnn import MLPClassifier

    classes = np.unique(np.load(y_path, mmap_mode="r")[: args.block])
    started = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address="127.0.0.1:0") as cluster, \
            Client(cluster) as client:
        startup = time.perf_counter() - started
        X_width = np.load(X_path, mmap_mode="r").shape[1]
        warm_X = dask_blocks(X_path, 2000, 1000, X_width, np.float32)
        warm_y = dask_blocks(y_path, 2000, 1000, None, np.int64)
        Incremental(MLPClassifier(**PARAMS)).fit(warm_X, warm_y, classes=classes)
        dX = dask_blocks(X_path, args.rows, args.block, X_width, np.float32)
        dy = dask_blocks(y_path, args.rows, args.block, None, np.int64)
        with get_task_stream(client) as stream:
            started = time.perf_counter()
            inc = Incremental(MLPClassifier(**PARAMS), shuffle_blocks=False)
            inc.fit(dX, dy, classes=classes)
            seconds = time.perf_counter() - started
    # Where the wall time went: the workers' partial_fit calls, and moving the model
    # (or a block) to the worker that runs the next call.
    spent = {"compute": 0.0, "transfer": 0.0}
    for task in stream.data:
        if isinstance(task["key"], tuple) and str(task["key"][0]).startswith("fit-"):
            for part in task["startstops"]:
                if part["action"] in spent:
                    spent[part["action"]] += part["stop"] - part["start"]
    return inc.estimator_, seconds, {"startup_s": startup,
                                     "fit_compute_s": spent["compute"],
                                     "fit_transfer_s": spent["transfer"]}


LBFGS_CONTENDERS = ("in-process 1 thread", "in-process 2 threads", "dask 2x1")
LBFGS_PARAMS = dict(tol=1e-6, max_iter=300)
NEWTON_PARAMS = dict(solver="newton-cholesky", tol=1e-6, max_iter=100)
MLP_LBFGS_PARAMS = dict(hidden_layer_sizes=(64,), solver="lbfgs", max_iter=100,
                        random_state=0)


class LogisticLbfgs:
    """``--case lbfgs``: what differs from the MLP's case (``MlpLbfgs``)."""

    default_rows = 400_000
    quality = "objective"  # the column compared with the 1-thread fit's
    params = LBFGS_PARAMS
    returned = "a (loss, gradient)"  # what each chunk sends back

    def title(self):
        return f"LogisticRegression {self.params}"

    def estimator(self, **params):
        from fastnn import LogisticRegression

        return LogisticRegression(**{**self.params, **params})

    def returned_sample(self, params):
        """One chunk's result, for its pickled size."""
        return (0.0, params)

    def n_iter(self, clf):
        return int(clf.n_iter_[0])

    def n_params(self, clf):
        return clf.coef_.size + clf.intercept_.size

    def tasks_per_evaluation(self, n_workers, n_chunks):
        """One call per worker up to GATHERED chunks, else one task per chunk."""
        from fastnn.estimators._logistic_dask import GATHERED

        return n_workers if n_chunks <= GATHERED else n_chunks

    def fitted_quality(self, clf, X_path, y_path):
        """The fitted weights' objective, in float64 on the whole data
        (LogisticProblem's reference, as the tests use)."""
        from fastnn.estimators._logistic_problem import LogisticProblem

        X, y = np.load(X_path, mmap_mode="r"), np.load(y_path)
        problem = LogisticProblem(X, y, None, len(y), 1, C=clf.C)
        return problem.objective(clf.coef_.T, clf.intercept_)


class MlpLbfgs:
    """``--case mlp-lbfgs``: what differs from LogisticRegression's case."""

    default_rows = 500_000
    quality = "loss_"
    returned = "a (loss, gradient)"

    def returned_sample(self, params):
        return (0.0, params)

    def title(self):
        return f"MLPClassifier {MLP_LBFGS_PARAMS}"

    def estimator(self, **params):
        from fastnn import MLPClassifier

        return MLPClassifier(**{**MLP_LBFGS_PARAMS, **params})

    def n_iter(self, clf):
        return int(clf.n_iter_)

    def n_params(self, clf):
        return sum(array.size for array in clf.coefs_ + clf.intercepts_)

    def tasks_per_evaluation(self, n_workers, n_chunks):
        """One call per worker, whatever the number of chunks."""
        return n_workers

    def fitted_quality(self, clf, X_path, y_path):
        """The fit's own final objective (loss plus penalty), computed the same way
        in process and on dask."""
        return float(clf.loss_)


class LogisticNewton(LogisticLbfgs):
    """``--case newton``: LogisticRegression(solver='newton-cholesky'), whose chunks
    also send their Hessian back."""

    params = NEWTON_PARAMS
    returned = "a (loss, gradient, Hessian)"

    def returned_sample(self, params):
        return (0.0, params, np.zeros((params.size, params.size)))


LBFGS_CASES = {"lbfgs": LogisticLbfgs(), "newton": LogisticNewton(),
               "mlp-lbfgs": MlpLbfgs()}


def make_lbfgs_data(data_dir, n_rows, n_features):
    """(X path, y path): float64 features, int64 labels in {0, 1}, generated once."""
    data_dir = Path(data_dir)
    stem = f"logistic_{n_rows}x{n_features}"
    X_path, y_path = data_dir / f"{stem}_X.npy", data_dir / f"{stem}_y.npy"
    if not (X_path.exists() and y_path.exists()):
        from sklearn.datasets import make_classification

        data_dir.mkdir(parents=True, exist_ok=True)
        X, y = make_classification(n_rows, n_features, n_informative=30,
                                   n_redundant=10, flip_y=0.01, random_state=0)
        np.save(X_path, X)
        np.save(y_path, y.astype(np.int64))
    return str(X_path), str(y_path)


def peak_rss_mb():
    """This process's peak resident memory since its exec (VmHWM: getrusage's
    ru_maxrss would carry over the parent's peak, which made the data)."""
    import resource

    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_lbfgs_in_process(case, X_path, y_path, threads):
    """``case``'s fit on the whole data in this process, OpenMP and BLAS held to
    ``threads`` (None: the machine's)."""
    from threadpoolctl import threadpool_limits

    X, y = np.load(X_path), np.load(y_path)
    case.estimator(max_iter=5).fit(X[:2000], y[:2000])  # warm-up: imports
    limit = threadpool_limits(threads) if threads else None
    started = time.perf_counter()
    clf = case.estimator().fit(X, y)
    seconds = time.perf_counter() - started
    if limit is not None:
        limit.restore_original_limits()
    return clf, seconds, {}


def persisted_evenly(client, X_path, y_path, rows, block):
    """X and y as dask arrays of ``block``-row chunks, each worker reading every
    other chunk of X from the .npy (nothing passes through the client), persisted;
    returns (dX, dy, the number of chunks each worker holds)."""
    import dask.array as da
    from distributed import wait

    width = np.load(X_path, mmap_mode="r").shape[1]
    # NOTE: the fit's tasks stay with their chunks, so its time is the busiest
    # worker's: each worker reads every other chunk (dask alone placed 5 and 3
    # of 8, and its rebalance kept them so). Loose restrictions: a lost chunk is
    # read again anywhere.
    workers = sorted(client.scheduler_info()["workers"])
    parts = []
    for index, start in enumerate(range(0, rows, block)):
        stop = min(start + block, rows)
        future = client.submit(load_block, X_path, start, stop, pure=False,
                               workers=[workers[index % len(workers)]],
                               allow_other_workers=True)
        parts.append(da.from_delayed(future, shape=(stop - start, width),
                                     dtype=np.float64))
    dX = da.concatenate(parts)
    dy = client.persist(dask_blocks(y_path, rows, block, None, np.int64))
    wait([dX, dy], timeout=600)
    holders = client.who_has(dX).values()
    spread = sorted(sum(1 for held in holders if address in held)
                    for address in client.scheduler_info()["workers"])
    return dX, dy, spread


@contextmanager
def timed_evaluation_waits():
    """Within the block, the dask fits' waits for an evaluation's results (through
    dask's tasks or a direct call) are counted and timed: yields ``{"evaluations":
    n, "seconds": s}``, updated as fits run."""
    from fastnn.estimators import _dask_chunks, _logistic_dask, _mlp_dask

    timed = {"evaluations": 0, "seconds": 0.0}

    def timing(real):
        def timed_wait(first, what, *rest, **relocate):
            started = time.perf_counter()
            try:
                return real(first, what, *rest, **relocate)
            finally:
                if "gradient" in what:
                    timed["evaluations"] += 1
                    timed["seconds"] += time.perf_counter() - started
        return timed_wait

    # NOTE: each module calls the wait_for it imported (the per-worker tasks wait in
    # _dask_chunks, LogisticRegression's tree of sums in _logistic_dask), and the
    # direct calls wait in _dask_chunks._within_timeout: all are replaced, and each
    # evaluation waits once.
    replaced = [(module, "wait_for") for module in (_dask_chunks, _logistic_dask,
                                                     _mlp_dask)]
    replaced.append((_dask_chunks, "_within_timeout"))
    real = {(module, name): getattr(module, name) for module, name in replaced}
    for (module, name), function in real.items():
        setattr(module, name, timing(function))
    try:
        yield timed
    finally:
        for (module, name), function in real.items():
            setattr(module, name, function)


def run_lbfgs_dask(case, args, X_path, y_path):
    """``case``'s fit on a 2-worker LocalCluster, the data persisted evenly before
    the clock; also one evaluation's round trip with 2-row chunks (messaging only)
    and what each evaluation sends and receives."""
    import pickle

    import dask.array as da
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address="127.0.0.1:0") as cluster, \
            Client(cluster) as client, timed_evaluation_waits() as timed:
        dX, dy, spread = persisted_evenly(client, X_path, y_path, args.rows,
                                          args.block)
        rss_before_fit = peak_rss_mb()
        # messaging only: the same number of chunks of 2 rows each
        tiny_X = da.from_array(np.load(X_path, mmap_mode="r")[:2 * dX.numblocks[0]],
                               chunks=(2, dX.shape[1]))
        tiny_y = da.from_array(np.arange(tiny_X.shape[0]) % 2, chunks=2)
        case.estimator(max_iter=3).fit(tiny_X, tiny_y)  # warm-up
        timed.update(evaluations=0, seconds=0.0)
        started = time.perf_counter()
        case.estimator(tol=0, max_iter=30).fit(tiny_X, tiny_y)
        messaging = time.perf_counter() - started
        evaluations = max(timed["evaluations"], 1)
        timed.update(evaluations=0, seconds=0.0)
        # the workers' CPU time over the fit (the busiest one bounds it)
        cpu_before = client.run(time.process_time)
        started = time.perf_counter()
        clf = case.estimator().fit(dX, dy)
        seconds = time.perf_counter() - started
        cpu_after = client.run(time.process_time)
    busy = {worker: cpu_after[worker] - cpu_before[worker] for worker in cpu_after}
    params = np.zeros(case.n_params(clf))
    tasks = case.tasks_per_evaluation(len(spread), dX.numblocks[0])
    return clf, seconds, {"round_trip_ms": 1000 * messaging / evaluations,
                          "chunks_per_worker": spread, "tasks": tasks,
                          "fit_evaluations": timed["evaluations"],
                          "busiest_worker_cpu_s": max(busy.values(), default=0.0),
                          "fit_evaluation_wait_s": timed["seconds"],
                          "client_rss_before_fit_mb": rss_before_fit,
                          "chunks": dX.numblocks[0], "n_params": params.size,
                          "params_bytes_out": len(pickle.dumps(params)) * tasks,
                          "result_bytes_back": len(pickle.dumps(
                              case.returned_sample(params)))}


def run_children(contenders, rounds, arguments):
    """Run each contender in a process of its own (this script with
    ``arguments(name)``), ``rounds`` times in turn; returns ``{name: [what each run
    printed (its last line, JSON)]}``."""
    results = {name: [] for name in contenders}
    for _ in range(rounds):
        for name in contenders:
            command = [sys.executable, __file__, *arguments(name)]
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode:
                sys.exit(f"{name} failed:\n{done.stderr}")
            results[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
    return results


def median_of(results, name, key):
    """The median over ``results[name]``'s runs of their ``key``."""
    return float(np.median([run[key] for run in results[name]]))


def lbfgs_child(args):
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed max_iter
    case = LBFGS_CASES[args.case]
    X_path, y_path = make_lbfgs_data(args.data_dir, args.rows, args.features)
    if args.child == "dask 2x1":
        clf, seconds, extra = run_lbfgs_dask(case, args, X_path, y_path)
    else:
        threads = 1 if args.child == "in-process 1 thread" else None
        clf, seconds, extra = run_lbfgs_in_process(case, X_path, y_path, threads)
    rss = peak_rss_mb()  # before the objective's check reads the whole .npy
    print(json.dumps({"seconds": seconds, "n_iter": case.n_iter(clf),
                      "quality": case.fitted_quality(clf, X_path, y_path),
                      "client_peak_rss_mb": rss, **extra}))


def lbfgs_main(args):
    case = LBFGS_CASES[args.case]
    make_lbfgs_data(args.data_dir, args.rows, args.features)
    load_before = os.getloadavg()[0]
    results = run_children(LBFGS_CONTENDERS, args.rounds, lambda name: [
        "--case", args.case, "--child", name, "--rows", str(args.rows), "--features",
        str(args.features), "--block", str(args.block), "--data-dir", args.data_dir])
    median = partial(median_of, results)

    one, two = median(LBFGS_CONTENDERS[0], "seconds"), median(LBFGS_CONTENDERS[1],
                                                              "seconds")
    reference = median(LBFGS_CONTENDERS[0], "quality")
    print(f"{case.title()}, {args.rows:,} x {args.features} "
          f"float64 ({args.rows * args.features * 8 / 1e9:.2f} GB), dask chunks of "
          f"{args.block:,} rows; median of {args.rounds} rounds, each contender in its "
          f"own process; {os.cpu_count()} cores, load {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after")
    difference = f"{case.quality} - 1-thread"
    print(f"{'contender':<22} | {'fit s':>7} | {'vs 1 thread':>11} | "
          f"{'vs 2 threads':>12} | {'iters':>5} | {difference:>20} | client peak RSS")
    for name in LBFGS_CONTENDERS:
        seconds = median(name, "seconds")
        print(f"{name:<22} | {seconds:>7.2f} | {one / seconds:>10.2f}x | "
              f"{two / seconds:>11.2f}x | {median(name, 'n_iter'):>5.0f} | "
              f"{median(name, 'quality') - reference:>+20.3g} | "
              f"{median(name, 'client_peak_rss_mb'):,.0f} MB")
    dask_run = results["dask 2x1"][-1]
    print(f"dask, per evaluation: {dask_run['tasks']} calls (one per worker up to "
          f"32 chunks) carrying the "
          f"{dask_run['n_params']:,} parameters "
          f"({dask_run['params_bytes_out']:,} bytes pickled in all), "
          f"{case.returned} back for each of the "
          f"{dask_run['chunks']} chunks ({dask_run['result_bytes_back']:,} bytes "
          f"pickled, each); round trip with 2-row chunks (messaging only): "
          f"{median('dask 2x1', 'round_trip_ms'):.1f} ms; chunks per worker "
          f"{dask_run['chunks_per_worker']}; client peak RSS before the fit "
          f"{dask_run['client_rss_before_fit_mb']:,.0f} MB (the scheduler runs in the "
          "client's process)")
    waiting = dask_run["fit_evaluation_wait_s"]
    print(f"dask fit: {dask_run['fit_evaluations']} evaluations, {waiting:.2f} s "
          "waiting for the workers' results, "
          f"{dask_run['seconds'] - waiting:.2f} s else (the checks and targets pass, "
          "submitting, the optimizer on the client); the busiest worker's CPU time "
          f"{dask_run['busiest_worker_cpu_s']:.2f} s")


def child(args):
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    warnings.simplefilter("ignore", ConvergenceWarning)
    X_path, y_path = make_data(args.data_dir, args.rows, args.test, args.features)
    if args.child == "Incremental":
        clf, seconds, extra = run_incremental(args, X_path, y_path)
    else:
        threads = 1 if args.child == "loop 1 thread" else None
        clf, seconds, extra = run_loop(args, X_path, y_path, threads)
    weights = np.concatenate([W.ravel() for W in clf.coefs_ + clf.intercepts_])
    out = Path(args.data_dir) / f"weights_{args.child.replace(' ', '_')}.npy"
    np.save(out, weights)
    accuracy = held_out_accuracy(clf, X_path, y_path, args.rows)
    print(json.dumps({"seconds": seconds, "accuracy": accuracy,
                      "loss": float(clf.loss_), "weights": str(out), **extra}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--test", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=100)
    parser.add_argument("--block", type=int, default=50_000)
    parser.add_argument("--data-dir", default="/tmp/fastnn_bench_dask")
    parser.add_argument("--quick", action="store_true",
                        help="100,000 rows in 10,000-row blocks, 1 round")
    parser.add_argument("--case", choices=("incremental", *LBFGS_CASES),
                        default="incremental")
    parser.add_argument("--child", choices=CONTENDERS + LBFGS_CONTENDERS,
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case in LBFGS_CASES:
        if "--rows" not in sys.argv:
            args.rows = LBFGS_CASES[args.case].default_rows
        if "--rounds" not in sys.argv:
            args.rounds = 1
        if "--block" not in sys.argv:
            args.block = max(1, args.rows // 8)
        return lbfgs_child(args) if args.child else lbfgs_main(args)
    if args.quick:
        args.rows, args.test, args.block, args.rounds = 100_000, 20_000, 10_000, 1
    if args.child:
        return child(args)

    make_data(args.data_dir, args.rows, args.test, args.features)
    load_before = os.getloadavg()[0]
    results = run_children(CONTENDERS, args.rounds, lambda name: [
        "--child", name, "--rows", str(args.rows), "--test", str(args.test),
        "--features", str(args.features), "--block", str(args.block), "--data-dir",
        args.data_dir])
    median = partial(median_of, results)

    reference = median("loop 1 thread", "seconds")
    print(f"MLPClassifier (100,) adam, {args.rows:,} x {args.features} float32 in "
          f"{args.block:,}-row blocks, one pass; {args.test:,} held-out rows; "
          f"median (min-max) of {args.rounds} rounds, each contender in its own "
          f"process; {os.cpu_count()} cores, 1-minute load average "
          f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    print(f"{'speed vs loop 1 thread':>24} | {'contender':<15} | {'samples/s':>26} | "
          f"{'fit seconds':>22} | held-out accuracy | final block loss")
    for name in CONTENDERS:
        seconds = [run["seconds"] for run in results[name]]
        rates = [args.rows / s for s in seconds]
        accuracy = [run["accuracy"] for run in results[name]]
        print(f"{reference / median(name, 'seconds'):>23.2f}x | {name:<15} | "
              f"{np.median(rates):>10,.0f} ({min(rates):,.0f}-{max(rates):,.0f}) | "
              f"{np.median(seconds):>6.2f} ({min(seconds):.2f}-{max(seconds):.2f}) | "
              f"{np.median(accuracy):>17.4f} | {median(name, 'loss'):.4f}")
    startup = [run["startup_s"] for run in results["Incremental"]]
    print(f"LocalCluster start (not timed above): median {np.median(startup):.1f} s")
    compute = median("Incremental", "fit_compute_s")
    transfer = median("Incremental", "fit_transfer_s")
    rest = median("Incremental", "seconds") - compute - transfer
    print(f"Incremental's wall time, median: partial_fit on the workers "
          f"{compute:.2f} s, moving the model between workers {transfer:.2f} s, the "
          f"rest (scheduling, waiting for blocks and for the cores) {rest:.2f} s")
    loop, incremental = (np.load(results[name][-1]["weights"])
                         for name in ("loop 1 thread", "Incremental"))
    print("weights, Incremental vs loop 1 thread (last round): max |difference| "
          f"{np.abs(loop - incremental).max():.3g}")
    gap = abs(median("Incremental", "accuracy") - median("loop 1 thread", "accuracy"))
    print(f"accuracy gap {gap:.4f}: {'within' if gap <= 0.01 else 'NOT within'} 1%")


if __name__ == "__main__":
    main()
