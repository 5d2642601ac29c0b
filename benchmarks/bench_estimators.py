"""fastnn's estimators against scikit-learn's (and PyTorch CPU for the MLPs).

    cd <repo> && PYTHONPATH=. python benchmarks/bench_estimators.py [--quick]
        [--only CASE] [--threads N] [--no-torch]

Six cases, one table each, ratios first (time/fastnn: > 1 means fastnn is faster):
  mlp-mnist           60000x784 float32 -> 256 relu -> 10, sgd momentum 0.9, batch 200
  mlp-digits          digits/16 float64, 1437 rows -> 100 relu -> 10, batch 32
  logreg-binary       200000x100 float64, two classes, lbfgs
  logreg-multinomial  100000x200 float32, ten classes, lbfgs
  predict-one-row     predict_proba of one digits row, models fitted on digits
  fit-no-copy         tracemalloc peak of fit on a 200 MB float32 C-contiguous X
Every contender gets the same arrays (made once, fixed seeds, passed as .npy files)
and the same hyperparameters; the MLPs run scikit-learn's parameters (tol=0 and
n_iter_no_change=10**9, so no fit stops early) and time per epoch is fit time divided
by n_iter_. Quality beside speed: each library's own final training loss, then
log-loss and accuracy from one NumPy function on each model's predict_proba (held
out for the MLPs, on the training rows for LogisticRegression). Then each TARGET of
issues 4 and 14 as PASS, MISS or BUSY (other processes took the cores: no verdict).

NOTE: each contender runs in its own child process, one after the other, the parent
resting between them: OpenBLAS's threads spin for ~0.1 s after a GEMM and fight
OpenMP (PyTorch's, fastnn's) for the 2 cores (BENCHMARKING.md: a digits epoch went
from 19 to 244 ms). Each child counts the CPU time other processes took meanwhile.
"""

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

from _machine import foreign_cpu_seconds

SEED, REST, BUSY = 0, 0.3, 0.25  # REST: seconds for spinning threads to go idle
ALPHA, MOMENTUM = 1e-4, 0.9  # scikit-learn's default L2 and momentum (Nesterov)
LOSS_GAP, ONE_ROW_US, COPY_SHARE, ACC_SLACK = 1e-4, 5.0, 0.25, 0.02  # one row: issue 14
MLP = {"mlp-mnist": dict(hidden=256, batch=200, lr=0.01, dtype="float32"),
       "mlp-digits": dict(hidden=100, batch=32, lr=0.01, dtype="float64")}
# per mode: rounds of children per contender, timed fits per child, sizes
MODES = {
    "full": dict(rounds={"mlp-mnist": 1}, default_rounds=2, repeats=3,
                 epochs={"mlp-mnist": 2, "mlp-digits": 20}, mnist_rows=60_000,
                 binary=(200_000, 100), multinomial=(100_000, 200), calls=2000,
                 blocks=7, no_copy_rows=500_000),
    "quick": dict(rounds={}, default_rounds=1, repeats=2,
                  epochs={"mlp-mnist": 2, "mlp-digits": 5}, mnist_rows=10_000,
                  binary=(20_000, 100), multinomial=(10_000, 200), calls=500,
                  blocks=3, no_copy_rows=50_000),
}
CONTENDERS = {"mlp-mnist": ("fastnn", "sklearn", "torch"),
              "mlp-digits": ("fastnn", "sklearn", "torch"),
              "logreg-binary": ("fastnn", "sklearn"),
              "logreg-multinomial": ("fastnn", "sklearn"),
              "predict-one-row": ("fastnn", "sklearn", "torch"),
              "fit-no-copy": ("fastnn", "sklearn")}
NAMES = dict(fastnn="fastnn", sklearn="scikit-learn", torch="PyTorch")
KINDS = ("LogisticRegression", "MLPClassifier")
ONE_ROW_KINDS = ("LogisticRegression", "OneVsAllClassifier", "MLPClassifier")
UNITS = {"mlp-mnist": ("ms/epoch", 1e3), "mlp-digits": ("ms/epoch", 1e3),
         "logreg-binary": ("s/fit", 1.0), "logreg-multinomial": ("s/fit", 1.0),
         "predict-one-row": ("us/call", 1e6), "fit-no-copy": ("s/fit", 1.0)}


# -------------------------------------------------------------------------- the data


def make_data(case, mode, folder):
    """Write the case's arrays to ``folder`` as .npy (children load them: no BLAS)."""
    from sklearn.datasets import load_digits, make_classification
    from sklearn.model_selection import train_test_split

    if case in ("mlp-digits", "predict-one-row"):
        X, y = load_digits(return_X_y=True)
        X, X_test, y, y_test = train_test_split(X / 16.0, y, test_size=0.2,
                                                stratify=y, random_state=SEED)
        arrays = dict(X=X, y=y, X_test=X_test, y_test=y_test)
    elif case == "mlp-mnist":  # ten classes, 2 clusters each, in 40 of 784 features
        n_test = 10_000
        X, y = make_classification(n_samples=60_000 + n_test, n_features=784,
                                   n_informative=40, n_redundant=0, n_classes=10,
                                   n_clusters_per_class=2, flip_y=0.01, class_sep=2.0,
                                   random_state=SEED)
        X = X.astype(np.float32)
        arrays = dict(X=X[:mode["mnist_rows"]], y=y[:mode["mnist_rows"]],
                      X_test=X[-n_test:], y_test=y[-n_test:])
    elif case.startswith("logreg"):
        (n, d), k = mode[case.split("-")[1]], 2 if case.endswith("binary") else 10
        X, y = make_classification(n_samples=n, n_features=d, n_informative=d // 5,
                                   n_redundant=d // 10, n_classes=k, random_state=SEED)
        arrays = dict(X=X.astype(np.float64 if k == 2 else np.float32), y=y)
    else:  # fit-no-copy makes its X in the child, inside no trace
        arrays = {}
    for name, array in arrays.items():
        np.save(Path(folder) / f"{name}.npy", np.ascontiguousarray(array))


def log_loss(proba, y):
    """The one NumPy function for every contender: mean -log p(true class) in
    float64 (clipped at 1e-15) and accuracy; ``y`` holds class indices 0..k-1."""
    proba = np.asarray(proba, dtype=np.float64)
    p = np.clip(proba[np.arange(len(y)), y], 1e-15, 1.0)
    return float(-np.log(p).mean()), float((proba.argmax(axis=1) == y).mean())


# ------------------------------------------------------------- contenders (children)


def estimator(who, kind):
    if who == "fastnn":
        import fastnn
        return getattr(fastnn, kind)
    if kind == "MLPClassifier":
        from sklearn.neural_network import MLPClassifier
        return MLPClassifier
    if kind == "OneVsAllClassifier":
        from sklearn.multiclass import OneVsRestClassifier
        return OneVsRestClassifier
    from sklearn.linear_model import LogisticRegression
    return LogisticRegression


def mlp_params(case, epochs):
    spec = MLP[case]
    return dict(hidden_layer_sizes=(spec["hidden"],), activation="relu", solver="sgd",
                alpha=ALPHA, batch_size=spec["batch"], learning_rate="constant",
                learning_rate_init=spec["lr"], momentum=MOMENTUM,
                nesterovs_momentum=True, shuffle=True, random_state=SEED, tol=0.0,
                n_iter_no_change=10**9, max_iter=epochs)


def torch_mlp(case, X, y, epochs):
    """scikit-learn's network and solver in PyTorch: uniform(+-sqrt(6/(in+out)))
    weights and biases, L2 alpha/batch on the weights only, SGD Nesterov momentum."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    spec, X, y = MLP[case], torch.from_numpy(X), torch.from_numpy(y)
    torch.manual_seed(SEED)
    model = nn.Sequential(nn.Linear(X.shape[1], spec["hidden"]), nn.ReLU(),
                          nn.Linear(spec["hidden"], int(y.max()) + 1)).to(X.dtype)
    layers = list(model[::2])
    for layer in layers:
        bound = math.sqrt(6 / (layer.in_features + layer.out_features))
        nn.init.uniform_(layer.weight, -bound, bound)
        nn.init.uniform_(layer.bias, -bound, bound)
    decay = ALPHA / spec["batch"]
    optimizer = torch.optim.SGD(
        [dict(params=[la.weight for la in layers], weight_decay=decay),
         dict(params=[la.bias for la in layers], weight_decay=0.0)],
        lr=spec["lr"], momentum=MOMENTUM, nesterov=True)
    n, batch = len(X), spec["batch"]
    for _ in range(epochs):
        total, order = 0.0, torch.randperm(n)
        for start in range(0, n, batch):
            rows = order[start:start + batch]
            loss = F.cross_entropy(model(X[rows]), y[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(rows)
    squares = sum(float((la.weight.detach() ** 2).sum()) for la in layers)
    return model, total / n + 0.5 * decay * squares  # L2 term at the epoch's end


def torch_proba(model, X):
    import torch

    with torch.inference_mode():
        return torch.softmax(model(torch.from_numpy(X)), dim=1).numpy()


def run_mlp(case, who, data, mode):
    epochs, repeats = mode["epochs"][case], mode["repeats"]
    X, y = data["X"], data["y"]
    if who == "torch":
        def fit(X, y, epochs):
            model, loss = torch_mlp(case, X, y, epochs)
            return model, loss, epochs, lambda X: torch_proba(model, X)
    else:
        Estimator = estimator(who, "MLPClassifier")

        def fit(X, y, epochs):
            clf = Estimator(**mlp_params(case, epochs)).fit(X, y)
            return clf, clf.loss_, clf.n_iter_, clf.predict_proba
    fit(X[:2000], y[:2000], 1)  # warm-up: imports, first allocations, BLAS threads
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        _, loss, n_iter, proba = fit(X, y, epochs)
        times.append((time.perf_counter() - start) / n_iter)
    test_loss, acc = log_loss(proba(data["X_test"]), data["y_test"])
    return {"MLPClassifier": dict(times=times, loss=float(loss), logloss=test_loss,
                                  acc=acc, iters=int(n_iter))}


def run_logreg(case, who, data, mode):
    X, y = data["X"], data["y"]
    Estimator = estimator(who, "LogisticRegression")
    make = lambda: Estimator(C=1.0, max_iter=1000, tol=1e-4)  # noqa: E731
    make().fit(X[:5000], y[:5000])  # warm-up
    times = []
    for _ in range(mode["repeats"]):
        start = time.perf_counter()
        clf = make().fit(X, y)
        times.append(time.perf_counter() - start)
    train_loss, acc = log_loss(clf.predict_proba(X), y)
    return {"LogisticRegression": dict(times=times, logloss=train_loss, acc=acc,
                                       iters=int(np.ravel(clf.n_iter_)[0]))}


def per_call(call, calls, blocks):
    for _ in range(calls // 4):  # warm-up: the serving path binds its buffers once
        call()
    times = []
    for _ in range(blocks):
        start = time.perf_counter()
        for _ in range(calls):
            call()
        times.append((time.perf_counter() - start) / calls)
    return times


def run_one_row(case, who, data, mode):
    X, y, X_test, y_test = (data[k] for k in ("X", "y", "X_test", "y_test"))
    row, models = np.ascontiguousarray(X_test[:1]), {}
    if who == "torch":
        model, _ = torch_mlp("mlp-digits", X, y, mode["epochs"]["mlp-digits"])
        model.eval()
        models["MLPClassifier"] = lambda X: torch_proba(model, X)
    else:
        models["LogisticRegression"] = estimator(who, "LogisticRegression")(
            max_iter=1000).fit(X, y).predict_proba
        # scikit-learn's OneVsRestClassifier around its LogisticRegression
        models["OneVsAllClassifier"] = estimator(who, "OneVsAllClassifier")(
            estimator(who, "LogisticRegression")(max_iter=1000)).fit(X, y).predict_proba
        models["MLPClassifier"] = estimator(who, "MLPClassifier")(
            **mlp_params("mlp-digits", mode["epochs"]["mlp-digits"])).fit(
            X, y).predict_proba
    rows = {}
    for kind, proba in models.items():
        call = lambda proba=proba: proba(row)  # noqa: E731
        times = per_call(call, mode["calls"], mode["blocks"])
        test_loss, acc = log_loss(proba(X_test), y_test)
        same = np.allclose(proba(row), proba(X_test)[:1], rtol=1e-6, atol=1e-12)
        rows[kind] = dict(times=times, logloss=test_loss, acc=acc,
                          note="" if same else "one-row proba DISAGREES with batch")
    return rows


def run_no_copy(case, who, data, mode):
    rng = np.random.default_rng(SEED)
    X = rng.standard_normal((mode["no_copy_rows"], 100), dtype=np.float32)
    y = (X[:, :10].sum(axis=1) > 0).astype(np.int64)
    rows = {}
    models = [("LogisticRegression", {})]
    if who == "fastnn":  # NOTE: scikit-learn's MLP epoch takes ~10x longer traced
        models.append(("MLPClassifier", dict(max_iter=1, random_state=SEED)))
    for kind, params in models:
        Estimator = estimator(who, kind)
        Estimator(**params).fit(X[:1000], y[:1000])  # imports and caches, untraced
        tracemalloc.start()
        base, start = tracemalloc.get_traced_memory()[0], time.perf_counter()
        clf = Estimator(**params).fit(X, y)
        seconds, peak = time.perf_counter() - start, tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        rows[kind] = dict(times=[seconds], peak=peak - base, nbytes=X.nbytes,
                          iters=int(np.ravel(clf.n_iter_)[0]))
    return rows


RUNS = {"mlp-mnist": run_mlp, "mlp-digits": run_mlp, "logreg-binary": run_logreg,
        "logreg-multinomial": run_logreg, "predict-one-row": run_one_row,
        "fit-no-copy": run_no_copy}


def worker(args):
    """Child process: one case, one contender; prints one JSON line."""
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_info, threadpool_limits

    warnings.simplefilter("ignore", ConvergenceWarning)
    case, who = args.worker
    mode = MODES["quick" if args.quick else "full"]
    version = ""
    if who == "torch":
        try:
            import torch
        except ImportError as error:
            return print(json.dumps(dict(error=str(error))))
        torch.set_num_threads(args.threads)
        version = (f"torch {torch.__version__}, torch.get_num_threads() = "
                   f"{torch.get_num_threads()} "
                   f"(interop {torch.get_num_interop_threads()})")
    else:
        estimator(who, "MLPClassifier")  # load every pool before capping them
    data = {p.stem: np.load(p) for p in Path(args.data).glob("*.npy")}
    with threadpool_limits(limits=args.threads):
        start, foreign = time.perf_counter(), foreign_cpu_seconds()
        rows = RUNS[case](case, who, data, mode)
        busy = (foreign_cpu_seconds() - foreign) / (time.perf_counter() - start)
        pools = ", ".join(sorted({f"{p['internal_api']} {p['num_threads']}"
                                  for p in threadpool_info()}))
    print(json.dumps(dict(rows=rows, busy=max(busy, 0.0), pools=pools,
                          version=version)))


# ------------------------------------------------------------------------ the parent




def run_child(args, case, who, folder):
    time.sleep(REST)
    command = [sys.executable, __file__, "--worker", case, who, "--data", folder,
               "--threads", f"{args.threads}"] + ["--quick"] * args.quick
    child = subprocess.run(command, capture_output=True, text=True)
    if child.returncode:
        tail = child.stderr.strip().splitlines()[-3:]
        return dict(error=f"{who} failed: " + " | ".join(tail))
    return json.loads(child.stdout.splitlines()[-1])


def merge(runs):
    """One row per (model, contender) over the rounds: all times, the last quality."""
    if "error" in runs[-1]:
        return {}, runs[-1]
    rows = {}
    for kind in runs[-1]["rows"]:
        rows[kind] = dict(runs[-1]["rows"][kind], busy=max(r["busy"] for r in runs),
                          times=[t for r in runs for t in r["rows"][kind]["times"]])
    return rows, runs[-1]


def stats(row):
    times = row.get("times") if row else None
    return (np.median(times), min(times), max(times)) if times else None


def cell(values, factor):
    if values is None:
        return "n/a"
    scaled = [factor * v for v in values]
    return "{} ({}-{})".format(*(f"{v:.3g}" if v < 100 else f"{v:.0f}" for v in scaled))


def ratio(by, who):
    mine, base = stats(by.get(who)), stats(by.get("fastnn"))
    return mine[0] / base[0] if mine and base else None


def number(row, key, fmt):
    return fmt.format(row[key]) if row and key in row else "n/a"


def table(case, data_shape, results, errors):
    unit, factor = UNITS[case]
    print(f"\n[{case}] {CAPTIONS[case].format(*data_shape)}")
    if case == "fit-no-copy":
        print(f"{'model / contender':34}{'peak MiB':>10}{'% of X':>9}{unit:>10}"
              f"{'iters':>7}{'busy':>6}")
    else:
        print(f"{'model / contender':34}{'time/fastnn':>12}"
              f"{unit + ' med (min-max)':>28}"
              f"{'own loss':>10}{'log-loss':>10}{'accuracy':>10}{'iters':>7}"
              f"{'busy':>6}  notes")
    for kind, by in results.items():
        for who in CONTENDERS[case]:
            row, name = by.get(who), f"{kind} / {NAMES[who]}"
            if not row:  # failed, left out, or not a contender for this model
                if who in errors:
                    print(f"{name:34}  n/a  {errors[who]}")
                continue
            busy = f"{row['busy']:.2f}"
            if case == "fit-no-copy":
                print(f"{name:34}{row['peak'] / 2**20:>10.1f}"
                      f"{100 * row['peak'] / row['nbytes']:>8.1f}%"
                      f"{row['times'][0]:>10.2f}{row['iters']:>7}{busy:>6}")
                continue
            r = ratio(by, who)
            print(f"{name:34}{'n/a' if r is None else f'{r:.2f}':>12}"
                  f"{cell(stats(row), factor):>28}{number(row, 'loss', '{:.5f}'):>10}"
                  f"{number(row, 'logloss', '{:.6g}'):>10}"
                  f"{number(row, 'acc', '{:.4f}'):>10}{number(row, 'iters', '{}'):>7}"
                  f"{busy:>6}  {row.get('note', '')}")


CAPTIONS = {
    "mlp-mnist": "{}x{} float32 -> 256 relu -> 10 softmax, sgd lr 0.01 momentum 0.9 "
                 "Nesterov, alpha 1e-4, batch 200,\n  shuffle, random_state 0, {} "
                 "epochs per fit; log-loss and accuracy on 10000 held-out rows",
    "mlp-digits": "digits/16 {}x{} float64 -> 100 relu -> 10 softmax, sgd lr 0.01 "
                  "momentum 0.9 Nesterov, alpha 1e-4,\n  batch 32, shuffle, "
                  "random_state 0, {} epochs per fit; log-loss and accuracy on 360 "
                  "held-out rows",
    "logreg-binary": "make_classification {}x{} float64, 2 classes; lbfgs, C=1, tol "
                     "1e-4, max_iter 1000 (iters: n_iter_);\n  log-loss and accuracy "
                     "on the training rows",
    "logreg-multinomial": "make_classification {}x{} float32, 10 classes (softmax); "
                          "lbfgs, C=1, tol 1e-4, max_iter 1000;\n  log-loss and "
                          "accuracy on the training rows",
    "predict-one-row": "predict_proba of one C-contiguous float64 row (digits/16 {}x{} "
                       "fit: LogisticRegression(max_iter=1000),\n  the mlp-digits "
                       "MLP; PyTorch: nn.Sequential, softmax under inference_mode per "
                       "call); {} calls per block,\n  median (min-max) of the blocks; "
                       "log-loss and accuracy on 360 held-out rows",
    "fit-no-copy": "tracemalloc peak during fit on a {}x{} float32 C-contiguous X "
                   "({:.0f} MiB): LogisticRegression(),\n  MLPClassifier(max_iter=1, "
                   "random_state=0); times under tracemalloc;\n  scikit-learn "
                   "for reference, LogisticRegression only (its MLP is slow traced)",
}


def shape_of(case, mode, folder):
    if case == "fit-no-copy":
        return mode["no_copy_rows"], 100, mode["no_copy_rows"] * 100 * 4 / 2**20
    rows, columns = np.load(Path(folder) / "X.npy", mmap_mode="r").shape
    extra = mode["epochs"].get(case, mode["calls"] if case == "predict-one-row" else 0)
    return rows, columns, extra


def verdicts(results):
    print(f"\nTARGETS (issues 4 and 14; BUSY: other processes took > {BUSY:g} CPUs from a "
          "contender, no verdict)")

    def say(word, text):
        print(f"  {word:4}  {text}")

    def speed(case, kind, who, goal, gap=False):
        if case not in results:  # --only another case
            return
        by = results[case].get(kind, {})
        r = ratio(by, who)
        if r is None:
            return say("n/a", f"{case}: {NAMES[who]}/fastnn >= {goal:g}")
        unit, factor = UNITS[case]
        need, got = (factor * stats(by[w])[0] for w in (who, "fastnn"))
        text = (f"{case}: {NAMES[who]}/fastnn >= {goal:g}, measured {r:.2f} "
                f"(fastnn {got:.3g} {unit}, needs <= {need / goal:.3g})")
        word = "PASS" if r >= goal else "MISS"
        if gap:
            mine, theirs = by["fastnn"]["logloss"], by[who]["logloss"]
            rel = (mine - theirs) / theirs
            text += (f"; log-loss {mine:.8g} vs {theirs:.8g}, gap {rel:+.2e} <= "
                     f"{LOSS_GAP:g}")
            word = word if rel <= LOSS_GAP else "MISS"
        busy = max(by[w]["busy"] for w in ("fastnn", who))
        if word == "MISS" and busy > BUSY and (r < goal):
            word, text = "BUSY", text + f" (others took {busy:.2f} CPUs: rerun)"
        say(word, text)

    speed("mlp-mnist", "MLPClassifier", "sklearn", 8.0)
    speed("mlp-mnist", "MLPClassifier", "torch", 1.0)
    speed("mlp-digits", "MLPClassifier", "sklearn", 10.0)
    speed("logreg-binary", "LogisticRegression", "sklearn", 3.0, gap=True)
    speed("logreg-multinomial", "LogisticRegression", "sklearn", 3.0, gap=True)
    for kind in ONE_ROW_KINDS if "predict-one-row" in results else ():
        row = results["predict-one-row"].get(kind, {}).get("fastnn")
        if not row:
            say("n/a", f"predict-one-row {kind}: <= {ONE_ROW_US:g} us")
            continue
        us = 1e6 * stats(row)[0]
        word = "PASS" if us <= ONE_ROW_US else "BUSY" if row["busy"] > BUSY else "MISS"
        say(word, f"predict-one-row {kind}: fastnn <= {ONE_ROW_US:g} us, measured "
            f"{us:.1f} us")
    for kind in KINDS if "fit-no-copy" in results else ():
        row = results["fit-no-copy"].get(kind, {}).get("fastnn")
        if not row:
            say("n/a", f"fit-no-copy {kind}: peak < {COPY_SHARE:.0%} of X.nbytes")
            continue
        share = row["peak"] / row["nbytes"]
        note = "" if row["nbytes"] >= 190e6 else " (X smaller than 200 MB: --quick)"
        say("PASS" if share < COPY_SHARE else "MISS",
            f"fit-no-copy {kind}: fastnn peak < {COPY_SHARE:.0%} of X.nbytes, measured "
            f"{share:.1%}{note}")
    print(f"QUALITY (MLP: fastnn's held-out accuracy at most {ACC_SLACK:g} below "
          "scikit-learn's)")
    for case in ("mlp-mnist", "mlp-digits"):
        by = results.get(case, {}).get("MLPClassifier", {})
        if not (by.get("fastnn") and by.get("sklearn")):
            continue
        mine, theirs = by["fastnn"]["acc"], by["sklearn"]["acc"]
        say("PASS" if mine >= theirs - ACC_SLACK else "MISS",
            f"{case}: fastnn {mine:.4f}, scikit-learn {theirs:.4f}")


def header(args, mode_name, other_cpus, load, children):
    import scipy
    import sklearn

    cpu = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").open()
           if line.startswith("model name")] if os.path.exists("/proc/cpuinfo") else []
    git = subprocess.run(["git", "-C", Path(__file__).parent, "describe", "--always",
                          "--dirty"], capture_output=True, text=True).stdout.strip()
    try:
        import fastnn
        fastnn_version = f"fastnn {fastnn.__version__} SIMD {fastnn.ops.SIMD}"
    except Exception as error:  # noqa: BLE001  (absent or half-written: say so)
        fastnn_version = f"fastnn n/a ({type(error).__name__})"
    print("fastnn estimators vs scikit-learn (and PyTorch CPU for the MLPs), "
          f"{mode_name} mode. Same arrays, same hyperparameters,\none child process "
          "per contender; times: median (min-max) over every timed fit of every "
          "round.\ntime/fastnn: ratio of medians, > 1 means fastnn is faster. own "
          "loss: the library's final training loss\n(MLP: loss_, L2 term included; "
          "PyTorch: mean cross-entropy of the last epoch + the L2 term at its end).")
    print(f"machine: {cpu[0] if cpu else platform.processor()}, {os.cpu_count()} "
          f"logical CPUs; load average at start {load:.2f}; other processes used "
          f"{other_cpus:.2f} CPUs during the run")
    if other_cpus > 0.1:
        print("WARNING: the machine was busy; these figures measure the contention.")
    print(f"{fastnn_version}, git {git or 'n/a'}; numpy {np.__version__}, scipy "
          f"{scipy.__version__}, scikit-learn {sklearn.__version__}; Python "
          f"{platform.python_version()}")
    print(f"threads: every pool capped at --threads {args.threads} (threadpoolctl, "
          "torch.set_num_threads); fastnn may lower its own inside fit")
    for who, run in children.items():
        print(f"  {NAMES[who]} child: {run.get('version') or run.get('pools')}"
              + (f"; {run['pools']}" if run.get("version") else ""))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="small sizes, few repeats (about 2 minutes)")
    parser.add_argument("--only", choices=list(CONTENDERS), help="run only this case")
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="cap every thread pool of every contender at this")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    mode_name = "quick" if args.quick else "full"
    mode = MODES[mode_name]
    load = os.getloadavg()[0]
    start, foreign = time.perf_counter(), foreign_cpu_seconds()
    results, shapes, children = {}, {}, {}
    for case in [args.only] if args.only else list(CONTENDERS):
        with tempfile.TemporaryDirectory(prefix="bench_estimators_") as folder:
            make_data(case, mode, folder)
            shapes[case] = shape_of(case, mode, folder)
            runs, errors = {}, {}
            rounds = mode["rounds"].get(case, mode["default_rounds"])
            for _ in range(rounds):  # the contenders alternate
                for who in CONTENDERS[case]:
                    if who == "torch" and args.no_torch:
                        errors[who] = "--no-torch"
                        continue
                    runs.setdefault(who, []).append(run_child(args, case, who, folder))
        results[case] = {}
        for who, by_round in runs.items():
            rows, last = merge(by_round)
            if "error" in last:
                errors[who] = last["error"]
            if "pools" in last:
                children.setdefault(who, last)
            for kind, row in rows.items():
                results[case].setdefault(kind, {})[who] = row
        results[case]["_errors"] = errors
    other_cpus = (foreign_cpu_seconds() - foreign) / (time.perf_counter() - start)
    header(args, mode_name, other_cpus, load, children)
    for case, by_kind in results.items():
        errors = by_kind.pop("_errors")
        table(case, shapes[case], by_kind or {"(no result)": {}}, errors)
    verdicts(results)


if __name__ == "__main__":
    main()
