"""
Training speed against PyTorch and scikit-learn
===============================================

``benchmarks/bench_sequential.py`` trains the same network on the same data
with fastnn's ``Sequential``, PyTorch and scikit-learn's ``MLPClassifier``, and
saves its results (``--save``). This example draws the saved results:
milliseconds per training epoch, lower is faster, for each case the benchmark
measured. The machine, the date and the command come from the saved file; a
contender that did not run there is marked as such. To measure your machine,
run the command it names. On a shared virtual machine, as this one, the same
run can take up to twice as long when the host places the two virtual CPUs
far apart (the memory-bound steps between the threads' GEMMs slow most): compare
contenders within one run, never across runs.
"""

import json
import textwrap
from pathlib import Path

import matplotlib.pyplot as plt

# The saved results, in the repository; this script runs from its root or, as
# the gallery runs it, from examples/.
saved = Path("benchmarks", "results", "bench_sequential.json")
if not saved.exists():
    saved = ".." / saved
results = json.loads(saved.read_text())

print(f"{results['date']}, {results['machine']}, {results['threads']} threads")
print(f"$ {results['command']}")
print(f"other processes used {results['busy_share']:.2f} CPUs during the run")
print(", ".join(f"{name} {version}"
                for name, version in results["versions"].items()))
for case in results["cases"]:
    print(f"({case['key']}) {case['title']}")
    for name, ms in case["ms_per_epoch"].items():
        if ms is None:
            print(f"{name:>16}: did not run")
            continue
        accuracy = case["test_accuracy"].get(name)
        print(f"{name:>16}: {ms:9.1f} ms per epoch" + (
            "" if accuracy is None else f", test accuracy {accuracy:.3f}"))

# %%
# The chart
# ---------
# One panel per case, each with its own scale: the cases differ a thousandfold
# in size. Over each bar, its time; over a peer's, how many times fastnn's it
# is.


def milliseconds(ms):
    return f"{ms:,.0f} ms" if ms >= 100 else f"{ms:.3g} ms"


colors = {"fastnn": "tab:blue", "PyTorch": "tab:orange",
          "scikit-learn": "tab:green"}
cases = results["cases"]
fig, axes = plt.subplots(1, len(cases), figsize=(4.5 * len(cases), 4.8),
                         layout="constrained", squeeze=False)
for ax, case in zip(axes[0], cases):
    times = case["ms_per_epoch"]
    fastnn_ms = times.get("fastnn")
    bars = ax.bar(list(times), [ms or 0.0 for ms in times.values()],
                  color=[colors.get(name, "tab:gray") for name in times])
    for bar, (name, ms) in zip(bars, times.items()):
        if ms is None:
            label = "did not run"
        elif name != "fastnn" and fastnn_ms:
            label = f"{milliseconds(ms)}\n{ms / fastnn_ms:.1f}× fastnn"
        else:
            label = milliseconds(ms)
        ax.annotate(label, (bar.get_x() + bar.get_width() / 2,
                            bar.get_height()),
                    xytext=(0, 3), textcoords="offset points", ha="center",
                    va="bottom")
    ran = [ms for ms in times.values() if ms is not None]
    ax.set_ylim(0, 1.3 * max(ran, default=1.0))
    ax.set_ylabel("ms per epoch")
    title = f"({case['key']}) " + case["title"].replace(" -> ", " → ")
    ax.set_title(textwrap.fill(title, 44), fontsize=10)
fig.suptitle("Time per training epoch (lower is faster)\n"
             f"{results['machine']}, {results['threads']} threads, "
             f"{results['date']}", fontsize=10)
plt.show()
