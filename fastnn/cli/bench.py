"""``fastnn bench``: run ``benchmarks/bench_sequential.py`` of a source checkout (fastnn
against PyTorch and scikit-learn) with this very fastnn package."""

import os
import subprocess
import sys
from pathlib import Path

import fastnn
from fastnn.cli.checks import UserError

__all__ = ["bench"]


def bench(args, parser):
    """`fastnn bench`: run the checkout's benchmark; returns its exit status."""
    script = _find_benchmark()
    if script is None:
        raise UserError("bench runs benchmarks/bench_sequential.py of a source "
                        "checkout, and none was found: run it from the checkout "
                        "(git clone the fastnn repository)")
    command = [sys.executable, str(script)] + (["--quick"] if args.quick else [])
    env = dict(os.environ)
    # NOTE: the benchmark imports fastnn; it must find this very package.
    package_root = str(Path(fastnn.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(
        [package_root] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["PYTHONUNBUFFERED"] = "1"  # its lines stream through, even into a pipe
    print(f"running {' '.join(command[1:])}", file=sys.stderr, flush=True)
    return subprocess.run(command, env=env, cwd=script.parent.parent).returncode


def _benchmark_folders():
    here = Path.cwd()
    return [here / "benchmarks", here, Path(fastnn.__file__).resolve().parent.parent
            / "benchmarks"]


def _find_benchmark():
    for folder in _benchmark_folders():
        script = folder / "bench_sequential.py"
        if script.is_file():
            return script
    return None
