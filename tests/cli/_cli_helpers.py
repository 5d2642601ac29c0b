"""What the command-line tests share: ``cli.main`` run in-process, CSV writers (the
animals with string labels), and the checks of one error line and of a progress bar.
"""

import csv
from pathlib import Path

import numpy as np

import fastnn
from fastnn import cli

ROOT = Path(fastnn.__file__).resolve().parent.parent
LABELS = np.array(["cat", "dog", "fox"])


def _last_bar(err):
    """The progress bar as it was left: the last state tqdm drew on stderr."""
    states = [part.strip() for part in err.replace("\n", "\r").split("\r")]
    return [state for state in states if "|" in state][-1]


def _main(capsys, *args):
    """``cli.main(ARGS)`` in this process: (exit code, stdout, stderr)."""
    code = cli.main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


def _write_csv(path, rows, header):
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _animals(path, n=90, seed=0):
    """Three separable blobs in 3 numeric columns, labels as strings in 'animal'
    (not the last column), so --target is needed."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    X = rng.normal(size=(n, 3)) + 4 * np.eye(3)[y]
    rows = [[f"{a:.6f}", LABELS[label], f"{b:.6f}", f"{c:.6f}"]
            for (a, b, c), label in zip(X, y)]
    return _write_csv(path, rows, ["width", "animal", "height", "weight"])


def _one_error_line(code, err, *fragments):
    assert code != 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("fastnn: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
