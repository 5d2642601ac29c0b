"""fastnn.Sequential training against PyTorch CPU and scikit-learn's MLPClassifier.

    cd <repo> && PYTHONPATH=. python benchmarks/bench_sequential.py [--quick]
        [--threads N] [--epochs N] [--case a|b]
        [--no-torch|--no-sklearn|--no-fastnn|--no-floor] [--save results.json]

Two cases, one table each, ratios first (> 1 means fastnn is faster):
(a) scikit-learn's digits (scaled by 1/16), 64 -> Dense(100, relu) -> Dense(10,
    softmax), batch 32: per-batch overhead is the whole cost;
(b) synthetic, 60000 x 784 -> Dense(256, relu) -> Dense(10, softmax), batch 200:
    GEMM-bound.
Every contender trains a fresh network on the same float32 arrays with the same
hyperparameters (SGD with momentum 0.9, one learning rate per case, a new shuffle
every epoch) for the same number of epochs, one epoch per call. Each epoch is timed;
the first is the warm-up, seconds per epoch is the median (min-max) of the others.
In the GEMM-bound case a control row trains fastnn again with BLAS held to one
thread. Where the second thread gains under a quarter, the host is running the two
vCPUs far apart (one cache line between them takes 4-8x as long; every step that
reads what the other thread just wrote slows, an epoch up to 2x, scikit-learn's too):
that case's speed ratios are then printed but not judged.
The GEMM floor row is what the matrix products alone cost: NumPy's matmul on the same
shapes, the five GEMMs of one training step (two forward, three backward) for every
batch of an epoch and nothing else; fastnn's time over it says how close to the
machine's limit its training runs.
Quality beside speed: each library's own mean training loss over its last epoch, then
held-out log-loss and accuracy, computed by one NumPy function from each contender's
predicted probabilities. Then, in plain words, each speed ratio against its goal
(met or missed) and fastnn's accuracy against the best peer's.
--save writes the run's figures as JSON (the machine, the versions, each case's
median ms per epoch and held-out accuracy per contender, null where one did not run);
benchmarks/results/bench_sequential.json is the copy the docs' bar chart reads.

NOTE: PyTorch (OpenMP) trains in a child process that runs no NumPy BLAS, because
OpenBLAS's threads spin for ~0.1 s after a GEMM and fight other thread pools for the
cores (BENCHMARKING.md: a digits epoch went from 19 to 244 ms). For the same reason
the parent rests between contenders, and every thread pool is capped at --threads.
"""

import argparse
import inspect
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections import namedtuple
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from _machine import foreign_cpu_seconds

F32 = np.float32
MOMENTUM, SEED, REST = 0.9, 0, 0.3  # REST: seconds for spinning threads to go idle
# goals (issue 14): how many times as long per epoch each peer should take as fastnn,
# and the share of the GEMM floor fastnn should reach
Case = namedtuple("Case", "key title hidden batch_size lr goals")
CASES = {
    "a": Case("a", "digits", 100, 32, 0.01, dict(torch=20.0, sklearn=10.0, floor=None)),
    # 0.05 diverged on some data
    "b": Case("b", "synthetic", 256, 200, 0.01, dict(torch=2.2, sklearn=3.0, floor=0.85)),
}
# epochs per case (the first is the warm-up), training rows of (b)
MODES = {"full": (dict(a=21, b=8), 60_000), "quick": (dict(a=6, b=4), 20_000)}
QUALITY_SLACK = 0.02  # held-out accuracy fastnn may trail the best peer by
BUSY = 0.25  # CPUs other processes took from a contender: past this, no verdict
# NOTE: fastnn with BLAS on one thread over fastnn on two: about 1.6 when the two vCPUs
# share a cache (330 against 543 ms per epoch in case b here), about 0.9 when the host
# runs them far apart (651 against 559). Below this, no verdict on that case's ratios.
TWO_THREAD_GAIN = 1.25


# -------------------------------------------------------------------------- the data


def digits_data():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X, X_test, y, y_test = train_test_split((X / 16).astype(F32), y.astype(np.int64),
                                            test_size=0.2, stratify=y,
                                            random_state=SEED)
    return dict(X=X, y=y, X_test=X_test, y_test=y_test)


def synthetic_data(n_train, n_test=10_000):
    """Ten Gaussian classes, 2 clusters each, in 40 of 784 standard-normal features
    (class_sep 2: PyTorch gets ~95 % held out after 3 epochs, not all of it)."""
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=60_000 + n_test, n_features=784,
                               n_informative=40, n_redundant=0, n_classes=10,
                               n_clusters_per_class=2, flip_y=0.01, class_sep=2.0,
                               random_state=SEED)
    X, y = X.astype(F32), y.astype(np.int64)
    # the held-out rows are the last ones, the same in --quick
    return dict(X=X[:n_train], y=y[:n_train], X_test=X[-n_test:], y_test=y[-n_test:])


def held_out(proba, y):
    """Log-loss (probabilities clipped at 1e-7, as Keras) and accuracy, in NumPy."""
    proba = np.asarray(proba, dtype=np.float64)
    p = np.clip(proba[np.arange(len(y)), y], 1e-7, 1.0)
    return dict(test_loss=float(-np.log(p).mean()),
                test_acc=float((proba.argmax(axis=1) == y).mean()))


# ------------------------------------------------------------------- the contenders
# Each trains a fresh network for `epochs` epochs, one call per epoch, and returns
# dict(times=[seconds per epoch], train_loss=..., test_loss=..., test_acc=..., note=...)
# or dict(error=...).


def accepted(function, **kwargs):
    """The keyword arguments among ``kwargs`` that ``function`` takes."""
    params = inspect.signature(function).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return kwargs
    return {k: v for k, v in kwargs.items() if k in params}


def train_fastnn(case, data, epochs):
    """fastnn.Sequential, Keras-style: fit(epochs=1) again and again on one model."""
    try:
        import fastnn
        from fastnn.layers import Dense
        from fastnn.optimizers import SGD

        fastnn.Sequential  # noqa: B018
    except (ImportError, AttributeError) as error:
        return dict(error=f"fastnn.Sequential is not available ({error})")
    X, y, n_classes = data["X"], data["y"], int(data["y"].max()) + 1
    model = fastnn.Sequential([Dense(case.hidden, activation="relu",
                                     input_dim=X.shape[1]),
                               Dense(n_classes, activation="softmax")], seed=SEED)
    model.compile(optimizer=SGD(learning_rate=case.lr, momentum=MOMENTUM),
                  loss="sparse_categorical_crossentropy")  # the peers count no accuracy
    fit_kw = accepted(model.fit, verbose=0, shuffle=True)
    times, losses = [], []
    for _ in range(epochs):
        start = time.perf_counter()
        history = model.fit(X, y, batch_size=case.batch_size, epochs=1, **fit_kw)
        times.append(time.perf_counter() - start)
        losses.append(float(history.history["loss"][-1]))
    proba = model.predict(data["X_test"], batch_size=1000)
    result = dict(times=times, train_loss=losses[-1], **held_out(proba, data["y_test"]))
    scores = model.evaluate(data["X_test"], data["y_test"], batch_size=1000,
                            **accepted(model.evaluate, verbose=0, show_accuracy=True))
    loss, acc = (list(np.ravel(scores)) + [math.nan])[:2]
    init = {name: p.default for name, p in inspect.signature(Dense).parameters.items()
            if name.endswith("initializer")}
    result["note"] = (f"weights {model.get_weights()[0].dtype}, init "
                      f"{'/'.join(map(str, init.values())) or '?'}; evaluate() = "
                      f"({loss:.4g}, {acc:.4g})")
    # NOTE: evaluate() may take the loss from the logits, unclipped: a few rows with
    # p < 1e-7 then move it by a little against held_out's clipped figure
    if not (math.isclose(loss, result["test_loss"], rel_tol=0.02)
            and math.isclose(acc, result["test_acc"], abs_tol=1e-9)):
        result["note"] += " DISAGREES with predict()"
    return result


def train_fastnn_one_blas_thread(case, data, epochs):
    """The control row: fastnn with BLAS held to one thread (see TWO_THREAD_GAIN)."""
    with threadpool_limits(limits=1, user_api="blas"):
        return train_fastnn(case, data, epochs)


def train_floor(case, data, epochs):
    """The GEMM floor: every batch's five matrix products (X W1, H W2; dW2 = H^T dZ,
    dH = dZ W2^T, dW1 = X^T dH) through NumPy's matmul into buffers made once."""
    X, n_classes = data["X"], int(data["y"].max()) + 1
    rng = np.random.default_rng(SEED)
    W1 = rng.standard_normal((X.shape[1], case.hidden)).astype(F32)
    W2 = rng.standard_normal((case.hidden, n_classes)).astype(F32)
    H = np.empty((case.batch_size, case.hidden), F32)
    dZ = np.empty((case.batch_size, n_classes), F32)
    dH, dW1, dW2 = np.empty_like(H), np.empty_like(W1), np.empty_like(W2)
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        for first in range(0, len(X), case.batch_size):
            batch = X[first:first + case.batch_size]
            n = len(batch)
            np.matmul(batch, W1, out=H[:n])
            np.matmul(H[:n], W2, out=dZ[:n])
            np.matmul(H[:n].T, dZ[:n], out=dW2)
            np.matmul(dZ[:n], W2.T, out=dH[:n])
            np.matmul(batch.T, dH[:n], out=dW1)
        times.append(time.perf_counter() - start)
    return dict(times=times, note="NumPy matmul, the 5 GEMMs of each batch only")


def train_sklearn(case, data, epochs):
    """MLPClassifier, solver='sgd': partial_fit runs one epoch, keeps the momentum."""
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(hidden_layer_sizes=(case.hidden,), activation="relu",
                          solver="sgd", alpha=0.0, batch_size=case.batch_size,
                          learning_rate="constant", learning_rate_init=case.lr,
                          momentum=MOMENTUM, nesterovs_momentum=False, shuffle=True,
                          random_state=SEED)
    classes, times = np.unique(data["y"]), []
    for _ in range(epochs):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.partial_fit(data["X"], data["y"], classes=classes)
        times.append(time.perf_counter() - start)
    proba = model.predict_proba(data["X_test"])
    return dict(times=times, train_loss=float(model.loss_curve_[-1]),
                note=f"weights {model.coefs_[0].dtype}",
                **held_out(proba, data["y_test"]))


def train_torch(case, data, epochs):
    """The usual PyTorch loop: randperm, index a batch, zero_grad, backward, step."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    torch.manual_seed(SEED)
    X, y = torch.from_numpy(data["X"]), torch.from_numpy(data["y"])
    n, n_classes = len(X), int(y.max()) + 1
    model = nn.Sequential(nn.Linear(X.shape[1], case.hidden), nn.ReLU(),
                          nn.Linear(case.hidden, n_classes))
    for layer in model[::2]:  # Keras' glorot_uniform and zeros, not torch's default
        nn.init.xavier_uniform_(layer.weight)
        nn.init.zeros_(layer.bias)
    optimizer = torch.optim.SGD(model.parameters(), lr=case.lr, momentum=MOMENTUM)
    times, losses = [], []
    for _ in range(epochs):
        start, total = time.perf_counter(), 0.0
        order = torch.randperm(n)
        for i in range(0, n, case.batch_size):
            batch = order[i:i + case.batch_size]
            loss = F.cross_entropy(model(X[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        times.append(time.perf_counter() - start)
        losses.append(total / n)
    with torch.inference_mode():
        proba = torch.softmax(model(torch.from_numpy(data["X_test"])), dim=1).numpy()
    return dict(times=times, train_loss=losses[-1], note=f"weights {proba.dtype}",
                **held_out(proba, data["y_test"]))


# ------------------------------------------------------------------------- machinery


def torch_worker(args):
    """Child process: train every case with PyTorch, print one JSON line."""
    try:
        import torch
    except ImportError as error:
        return print(json.dumps(dict(error=str(error))))
    torch.set_num_threads(args.threads)
    spec = json.loads((Path(args.data) / "spec.json").read_text())
    results = {}
    for key, epochs in spec.items():  # np.load runs no BLAS
        data = {k: np.load(Path(args.data) / f"{key}_{k}.npy")
                for k in ("X", "y", "X_test", "y_test")}
        results[key] = watched(train_torch, CASES[key], data, epochs)
    print(json.dumps(dict(version=torch.__version__, threads=torch.get_num_threads(),
                          interop=torch.get_num_interop_threads(), results=results)))


def run_torch_worker(args, datasets, epochs):
    if args.no_torch:
        return dict(error="--no-torch")
    with tempfile.TemporaryDirectory(prefix="bench_sequential_") as folder:
        for key, data in datasets.items():
            for name, array in data.items():
                np.save(Path(folder) / f"{key}_{name}.npy", array)
        spec = {key: epochs[key] for key in datasets}
        (Path(folder) / "spec.json").write_text(json.dumps(spec))
        time.sleep(REST)  # this process's BLAS threads made the data: let them sleep
        worker = subprocess.run([sys.executable, __file__, "--torch-worker", "--data",
                                 folder, "--threads", f"{args.threads}"],
                                capture_output=True, text=True)
    if worker.returncode:
        sys.exit(f"ABORT: the torch worker failed:\n{worker.stderr}")
    return json.loads(worker.stdout.splitlines()[-1])


def watched(train, case, data, epochs):
    """``train``'s result, plus how many CPUs other processes used meanwhile."""
    start, foreign = time.perf_counter(), foreign_cpu_seconds()
    result = train(case, data, epochs)
    seconds = time.perf_counter() - start
    busy = (foreign_cpu_seconds() - foreign) / seconds  # NOTE: in 10 ms clock ticks
    return dict(result, busy=max(busy, 0.0))


def run_in_process(who, train, case, data, epochs):
    time.sleep(REST)
    try:
        return watched(train, case, data, epochs)
    except Exception as error:  # a half-written contender must not hide the others
        traceback.print_exc()
        return dict(error=f"{who} failed: {type(error).__name__}: {error}")




def seconds_per_epoch(result):
    """Median, min, max of the timed epochs (all but the warm-up), or None."""
    times = result.get("times", [])[1:]
    return (np.median(times), min(times), max(times)) if times else None


def cell(stats):
    """'median (min-max)' in milliseconds, or n/a."""
    if stats is None:
        return "n/a"
    ms = (1e3 * t for t in stats)
    return "{} ({}-{})".format(*(f"{t:.3g}" if t < 100 else f"{t:.0f}" for t in ms))


def cpu_model():
    cpu = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").open()
           if line.startswith("model name")] if os.path.exists("/proc/cpuinfo") else []
    return cpu[0] if cpu else platform.processor()


def header(args, pools, peer, versions, other_cpus):
    print("fastnn.Sequential vs PyTorch CPU vs scikit-learn MLPClassifier, training.\n"
          "Each contender trains a fresh network on the same float32 arrays with the "
          "same hyperparameters for the same\nnumber of epochs, one epoch per call; "
          "ms per epoch: median (min-max) of every epoch but the first (warm-up).\n"
          "Ratios of medians: > 1 means fastnn is faster.")
    print(f"machine: {cpu_model()}, {os.cpu_count()} "
          f"logical CPUs; other processes used {other_cpus:.2f} of them during the run")
    if other_cpus > 0.1:
        print("WARNING: the machine was busy while this ran, so the timings below are "
              "not reliable; rerun on an idle machine.")
    git = subprocess.run(["git", "-C", Path(__file__).parent, "describe", "--always",
                          "--dirty"], capture_output=True, text=True).stdout.strip()
    print(f"fastnn git {git or 'n/a'}; " + ", ".join(versions)
          + f"; Python {platform.python_version()}")
    print(f"threads: --threads {args.threads} for every contender. fastnn + sklearn "
          f"process (threadpoolctl): {pools}; fastnn's fit may lower its own pools")
    if "threads" in peer:
        print(f"  torch process: torch.get_num_threads() = {peer['threads']} "
              f"(interop {peer['interop']})")
    print("fastnn: Sequential.fit(epochs=1) per epoch, no metrics compiled (the peers "
          "count no training accuracy either);\n  sklearn: partial_fit per epoch; "
          "torch: randperm, X[batch], zero_grad, backward, step.")
    print("init: fastnn Dense's default; torch xavier_uniform_ weights, zero biases "
          "(Keras' glorot_uniform/zeros; torch's own\n  default is U(+-1/sqrt(fan_in)) "
          "for both); sklearn its own U(+-sqrt(6/(fan_in+fan_out))) for weights and "
          "biases.\nloss: softmax + cross-entropy (torch: F.cross_entropy on the "
          "logits), no L2 (sklearn alpha=0). SGD momentum 0.9,\n  not Nesterov: "
          "v = 0.9 v - lr g, w += v (torch's v = 0.9 v + g, w -= lr v is the same "
          "for a constant lr).\ntrain loss: each library's mean over its last epoch; "
          "held-out loss (clipped at 1e-7) and accuracy: one NumPy\n  function on each "
          "contender's predicted probabilities.\nbusy: CPUs other processes used "
          "while that contender trained (of the machine's "
          f"{os.cpu_count()}); above 0.1 that row's timing is not reliable.")


def table(case, data, epochs, results, names):
    rows, n_in = len(data["X"]), data["X"].shape[1]
    print(f"\n({case.key}) {case.title}: {rows}x{n_in} float32 -> Dense({case.hidden}, "
          f"relu) -> Dense(10, softmax), batch {case.batch_size}, SGD lr {case.lr:g} "
          f"momentum {MOMENTUM:g},\n    {epochs} epochs (1 warm-up + {epochs - 1} "
          f"timed); held out: {len(data['X_test'])} rows")
    print(f"{'contender':14}{'time/fastnn':>12}{'ms per epoch':>24}{'train loss':>12}"
          f"{'held-out loss':>15}{'held-out acc':>14}{'busy':>6}  notes")
    for who in (who for who in names if who in results):  # fastnn, then the peers
        result, r = results[who], ratio(results, who)
        quality = (f"{result[k]:.4f}" if k in result else "n/a"
                   for k in ("train_loss", "test_loss", "test_acc"))
        r = "n/a" if r is None else f"{r:.2f}"
        busy = f"{result['busy']:.2f}" if "times" in result else "n/a"
        print(f"{names[who]:14}{r:>12}{cell(seconds_per_epoch(result)):>24}"
              + "".join(f"{q:>{w}}" for q, w in zip(quality, (12, 15, 14)))
              + f"{busy:>6}"
              + f"  {result.get('note') or result.get('error', '')}")


def ratio(by, who):
    """``who``'s median seconds per epoch over fastnn's, or None."""
    stats, base = seconds_per_epoch(by[who]), seconds_per_epoch(by["fastnn"])
    return stats[0] / base[0] if stats and base else None


def verdict(by, who, goal):
    """One plain sentence: how many times longer ``who`` took per epoch than fastnn,
    against ``goal``; no judgement when other processes disturbed the timing."""
    r = ratio(by, who)
    if r is None:
        return "not measured (it or fastnn did not run)"
    measured = f"took {r:.2f} times as long as fastnn per epoch (goal: {goal:g} times)"
    busy = max(by[w].get("busy", 0.0) for w in ("fastnn", who))
    if busy > BUSY:  # contention, not the libraries, would decide it
        return (f"{measured}; not judged: the machine was busy (other processes used "
                f"{busy:.2f} CPUs), so the timings are not reliable; rerun on an "
                "idle machine")
    gain = ratio(by, "fastnn_1blas") if "fastnn_1blas" in by else None
    if gain is not None and gain < TWO_THREAD_GAIN:  # the host, not the libraries
        return (f"{measured}; not judged: BLAS's second thread made fastnn only "
                f"{gain:.2f} times as fast, so the host ran the two vCPUs far apart "
                "(every contender slows, fastnn most); rerun")
    return f"{measured}: {'goal missed' if r < goal else 'goal met'}"


def verdicts(results):
    names = dict(torch="PyTorch", sklearn="scikit-learn")
    print("\nSPEED: the peer's time per epoch divided by fastnn's (more is better for "
          "fastnn)")
    for who in ("torch", "sklearn"):
        for key, by in results.items():
            print(f"  ({key}) {CASES[key].title}: {names[who]} "
                  + verdict(by, who, CASES[key].goals[who]))
    print("THE LIMIT: the GEMM floor's time per epoch over fastnn's (100 % would be "
          "nothing but matrix products)")
    for key, by in results.items():
        r = ratio(by, "floor") if "floor" in by else None
        share = "not measured" if r is None else f"fastnn runs at {100 * r:.0f} %"
        goal = CASES[key].goals["floor"]
        aim = "" if goal is None or r is None else (
            f" (goal: {100 * goal:.0f} %: {'goal met' if r >= goal else 'goal missed'})")
        gain = ratio(by, "fastnn_1blas") if "fastnn_1blas" in by else None
        if aim and gain is not None and gain < TWO_THREAD_GAIN:
            aim = (f" (goal: {100 * goal:.0f} %; not judged: the host ran the two "
                   "vCPUs far apart)")
        print(f"  ({key}) {CASES[key].title}: {share} of the GEMM floor{aim}")
    print(f"ACCURACY: fastnn's held-out accuracy should be at most {QUALITY_SLACK:g} "
          "below the best peer's")
    for key, by in results.items():
        peers = [r["test_acc"] for who, r in by.items()
                 if who != "fastnn" and "test_acc" in r]
        if "test_acc" not in by["fastnn"] or not peers:
            print(f"  ({key}) {CASES[key].title}: not measured (a contender did not "
                  "run)")
            continue
        ok = by["fastnn"]["test_acc"] >= max(peers) - QUALITY_SLACK
        print(f"  ({key}) {CASES[key].title}: fastnn {by['fastnn']['test_acc']:.4f}, "
              f"best peer {max(peers):.4f}: {'good' if ok else 'too low'}")


def save(path, args, results, datasets, machine, versions, other_cpus):
    """The run's figures as JSON, for the docs' bar chart (keys: see the docstring)."""
    names = dict(fastnn="fastnn", torch="PyTorch", sklearn="scikit-learn")

    def median_ms(result):
        stats = seconds_per_epoch(result)
        return None if stats is None else round(1e3 * float(stats[0]), 3)

    cases = []
    for key, by in results.items():
        case, data = CASES[key], datasets[key]
        title = (f"{case.title} {len(data['X'])}x{data['X'].shape[1]} -> "
                 f"Dense({case.hidden}, relu) -> Dense(10, softmax), "
                 f"batch {case.batch_size}")
        cases.append(dict(
            key=key, title=title,
            ms_per_epoch={names[w]: median_ms(by[w]) for w in names},
            test_accuracy={names[w]: by[w].get("test_acc") for w in names},
            gemm_floor_ms_per_epoch=median_ms(by["floor"]) if "floor" in by else None,
            fastnn_one_blas_thread_ms_per_epoch=(median_ms(by["fastnn_1blas"])
                                                 if "fastnn_1blas" in by else None)))
    command = "python benchmarks/bench_sequential.py " + " ".join(sys.argv[1:])
    record = dict(benchmark="benchmarks/bench_sequential.py", command=command.strip(),
                  date=time.strftime("%Y-%m-%d"), machine=machine,
                  threads=args.threads, busy_share=round(other_cpus, 3),
                  versions=versions, cases=cases)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(record, indent=1) + "\n")
    print(f"\nsaved to {path}")


def machine_name(pools):
    """'CPU model (N cores), fastnn SIMD x, OpenBLAS v' for the saved results; the
    OpenBLAS named is the one fastnn's kernels call (scipy-openblas32's)."""
    name = f"{cpu_model()} ({os.cpu_count()} cores)"
    try:
        from fastnn import ops
        name += f", fastnn SIMD {ops.SIMD}"
    except Exception:  # noqa: BLE001  (fastnn absent: the machine is still named)
        pass
    blas = sorted({p["version"] for p in pools
                   if "scipy_openblas32" in p["filepath"] and p.get("version")})
    return name + (f", OpenBLAS {' / '.join(blas)}" if blas else "")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer epochs, 20000 rows in (b); for CI smoke")
    parser.add_argument("--threads", type=int, default=2,
                        help="cap every thread pool of every contender at this")
    parser.add_argument("--epochs", type=int,
                        help="epochs per case, the first a warm-up (>= 2)")
    parser.add_argument("--case", choices=sorted(CASES), help="run only this case")
    for who in ("torch", "sklearn", "fastnn", "floor"):
        parser.add_argument(f"--no-{who}", action="store_true", help=f"leave {who} out")
    parser.add_argument("--save", metavar="PATH",
                        help="also write the figures as JSON to PATH")
    parser.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.torch_worker:
        return torch_worker(args)
    if args.epochs is not None and args.epochs < 2:
        parser.error("--epochs must be at least 2 (a warm-up and one timed epoch)")
    epochs, n_train = MODES["quick" if args.quick else "full"]
    keys = [args.case] if args.case else list(CASES)
    epochs = {key: args.epochs or epochs[key] for key in keys}

    import scipy
    import sklearn
    import sklearn.neural_network  # noqa: F401  (load every pool before capping them)

    versions = [f"numpy {np.__version__}", f"scipy {scipy.__version__}",
                f"scikit-learn {sklearn.__version__}"]
    try:
        import fastnn
        from fastnn import ops
        versions.insert(0, f"fastnn {fastnn.__version__} SIMD {ops.SIMD}")
    except Exception as error:  # noqa: BLE001  (absent or half-written: say so)
        versions.insert(0, f"fastnn n/a ({type(error).__name__}: {error})")

    start, foreign = time.perf_counter(), foreign_cpu_seconds()
    with threadpool_limits(limits=args.threads):
        makers = dict(a=digits_data, b=lambda: synthetic_data(n_train))
        datasets = {key: makers[key]() for key in keys}
        peer = run_torch_worker(args, datasets, epochs)
        results = {}
        for key in keys:
            results[key] = by = {}
            contenders = [("fastnn", train_fastnn), ("sklearn", train_sklearn),
                          ("floor", train_floor)]
            if CASES[key].goals["floor"] is not None and not args.no_fastnn:
                contenders.insert(1, ("fastnn_1blas", train_fastnn_one_blas_thread))
            for who, train in contenders:
                if getattr(args, f"no_{who}", False):
                    by[who] = dict(error=f"--no-{who}")
                else:
                    by[who] = run_in_process(who, train, CASES[key], datasets[key],
                                             epochs[key])
            by["torch"] = peer.get("results", {}).get(key,
                                                      dict(error=peer.get("error")))
        pool_info = threadpool_info()
        pools = ", ".join(f"{p['prefix']} ({Path(p['filepath']).parent.name}) "
                          f"{p['num_threads']}" for p in pool_info)
    other_cpus = (foreign_cpu_seconds() - foreign) / (time.perf_counter() - start)
    versions.append(f"torch {peer.get('version', 'n/a')}")
    header(args, pools, peer, versions, other_cpus)
    names = dict(fastnn="fastnn", fastnn_1blas="fastnn 1-BLAS", torch="PyTorch",
                 sklearn="scikit-learn", floor="GEMM floor")  # row order
    for key in keys:
        table(CASES[key], datasets[key], epochs[key], results[key], names)
    verdicts(results)
    if args.save:
        version_of = {name: None if version == "n/a" else version
                      for name, version in (v.split(" ")[:2] for v in versions)}
        save(args.save, args, results, datasets, machine_name(pool_info), version_of,
             other_cpus)


if __name__ == "__main__":
    main()
