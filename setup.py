"""Build fastnn's Cython kernels.

Every ``fastnn/_kernels/*.pyx`` becomes an extension module, cythonized with the one
directives dict below. A ``<name>.pyx.tp`` is a Tempita template, expanded here into the
git-ignored ``<name>.pyx`` before cythonize (as scikit-learn's ``_loss.pyx.tp``); its
``{{parallel_for(...)}}`` writes a loop's serial and OpenMP forms from one body.
Element-wise kernels (``SIMD_MODULES``) are compiled twice on x86-64: a portable
baseline and an AVX2+FMA twin (``<name>_avx2``); ``fastnn.ops`` picks the twin at import
time when the CPU has those instructions, so one wheel runs on any x86-64 machine and
uses the wide vectors where they exist.

Environment switches (the same words as at import time, where FASTNN_SIMD chooses):
  FASTNN_OPENMP=0          build without OpenMP even when the compiler has it.
  FASTNN_SIMD=baseline     build only the portable baseline (``0`` says the same).
"""

import os
import platform
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy
import scipy_openblas32
from Cython import Tempita
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).parent
KERNELS = Path("fastnn", "_kernels")

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": False,
    "nonecheck": False,
    "embedsignature": True,
}

# Modules that call BLAS: linked against the newest OpenBLAS (the scipy-openblas32 wheel,
# symbols prefixed scipy_), which fastnn.ops loads from its installed place first.
BLAS_MODULES = ("blas", "logistic", "newton_dense")

# Modules whose loops are element-wise and gain from wider vectors.
SIMD_MODULES = ("activations", "losses", "optimizers")
SIMD_SUFFIX = "_avx2"
SIMD_FLAGS = ["-mavx2", "-mfma"]

# NOTE: -fno-trapping-math lets gcc if-convert the branch-free selects in our exp/sigmoid
# loops and vectorise them; -fno-math-errno lets it vectorise sqrt (Adam), since no kernel
# reads errno. Results are unchanged (no reassociation, unlike -ffast-math, which we avoid
# because it would also link crtfastmath and flush denormals process-wide).
UNIX_FLAGS = ["-O3", "-fno-trapping-math", "-fno-math-errno"]


def _env_off(name, *also):
    value = os.environ.get(name, "1").strip().lower()
    return value in ("0", "false", "no", "off", *also)


def _want_simd_twins():
    machine = platform.machine().lower()
    return (
        not _env_off("FASTNN_SIMD", "baseline")
        and machine in ("x86_64", "amd64")
        and sys.platform != "win32"
    )


def parallel_for(body, n="n", size=None, indent=4, gil_released=False, chunk=None):
    """``for i in range(n): body`` twice from one body: serial on the calling thread
    while ``_serial(size)`` (size defaults to n), else an OpenMP ``prange``. The call
    sits at ``indent`` columns; ``gil_released``: it is inside ``with nogil``. The
    prange splits the range statically, or, given ``chunk``, hands out runs of that
    many iterations to whichever thread is free (for iterations of uneven cost)."""

    def block(head, text):  # head, then text one level deeper
        return head + "\n" + textwrap.indent(text, "    ")

    body = textwrap.dedent(body).strip("\n")
    nogil = "" if gil_released else "nogil=True, "
    serial = block(f"for i in range({n}):", body)
    serial = serial if gil_released else block("with nogil:", serial)
    schedule = 'schedule="static"' if chunk is None else (
        f'schedule="dynamic", chunksize={chunk}'
    )
    parallel = block(f"for i in prange({n}, {nogil}{schedule}):", body)
    text = block(f"if _serial({size or n}):", serial) + "\n" + block("else:", parallel)
    return textwrap.indent(text, " " * indent).lstrip(" ")


def op_arguments(T, *arguments):
    """The cdef lines that unpack a kernel's Op (calls.pxd) for element type ``T``
    ('float' or 'double'), one per argument in the kernel's order: 'X' or 'const X'
    (a T array), 'intp I' or 'const intp I', 'real alpha' (T), 'integer pieces'
    (Py_ssize_t), 'flag with_bias' (bint). Arrays, reals and integers are numbered
    separately, as Kernel.pack fills them."""
    lines, counts = [], {"data": 0, "real": 0, "integer": 0}
    for argument in arguments:
        *words, name = argument.split()
        const = "const " if "const" in words else ""
        if "real" in words:
            lines.append(f"cdef {T} {name} = <{T}>op.real[{counts['real']}]")
            counts["real"] += 1
        elif "integer" in words or "flag" in words:
            ctype = "bint" if "flag" in words else "Py_ssize_t"
            lines.append(f"cdef {ctype} {name} = op.integer[{counts['integer']}]")
            counts["integer"] += 1
        else:
            ctype = "Py_ssize_t" if "intp" in words else T
            index = counts["data"]
            lines.append(f"cdef {const}{ctype}* {name} = <{const}{ctype}*>op.data[{index}]")
            counts["data"] += 1
    return "\n    ".join(lines)


def _expand_template(template):
    """Write ``<name>.pyx`` from ``<name>.pyx.tp`` (only when its text changes)."""
    source = template.with_suffix("")
    header = f"# Generated from {template.name} by setup.py (git-ignored): edit that.\n"
    body = Tempita.Template(template.read_text(), name=str(template)).substitute(
        parallel_for=parallel_for, op_arguments=op_arguments
    )
    text = header + body
    if not source.exists() or source.read_text() != text:
        source.write_text(text)
    return source


def _simd_twin_source(name):
    """Write the generated shim that compiles ``name``.pyx again under another name."""
    shim = KERNELS / f"{name}{SIMD_SUFFIX}.pyx"
    text = (
        f"# Generated by setup.py (git-ignored): {name}.pyx built with AVX2+FMA.\n"
        f'include "{name}.pyx"\n'
    )
    if not shim.exists() or shim.read_text() != text:
        shim.write_text(text)
    return shim


def _extensions():
    include_dirs = [numpy.get_include()]
    macros = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
    templates = sorted(KERNELS.glob("*.pyx.tp"))
    sources = [_expand_template(template) for template in templates]
    sources += [path for path in KERNELS.glob("*.pyx") if path not in sources]
    extensions = []
    for source in sorted(sources):
        name = source.stem
        if name.endswith(SIMD_SUFFIX):
            continue
        blas = name in BLAS_MODULES
        extensions.append(
            Extension(
                f"fastnn._kernels.{name}",
                [str(source)],
                include_dirs=include_dirs,
                define_macros=macros,
                libraries=[scipy_openblas32.get_library()] if blas else [],
                library_dirs=[scipy_openblas32.get_lib_dir()] if blas else [],
            )
        )
        if name in SIMD_MODULES and _want_simd_twins():
            extensions.append(
                Extension(
                    f"fastnn._kernels.{name}{SIMD_SUFFIX}",
                    [str(_simd_twin_source(name))],
                    include_dirs=include_dirs,
                    define_macros=macros,
                )
            )
    return extensions


class BuildExt(build_ext):
    """Adds optimisation, SIMD and (when the compiler has it) OpenMP flags."""

    def finalize_options(self):
        super().finalize_options()
        if self.parallel is None:
            self.parallel = os.cpu_count() or 1  # the modules compile independently

    def _compiles_with(self, flags):
        with tempfile.TemporaryDirectory() as tmp:
            probe = Path(tmp, "probe.c")
            probe.write_text(
                "#include <omp.h>\nint main(void){return omp_get_max_threads() < 1;}\n"
            )
            try:
                objects = self.compiler.compile(
                    [str(probe)], output_dir=tmp, extra_postargs=flags
                )
                self.compiler.link_executable(
                    objects, "probe", output_dir=tmp, extra_postargs=flags
                )
            except Exception:
                return False
        return True

    def build_extensions(self):
        unix = self.compiler.compiler_type == "unix"
        openmp = unix and not _env_off("FASTNN_OPENMP") and self._compiles_with(
            ["-fopenmp"]
        )
        print(f"fastnn: OpenMP {'on' if openmp else 'off'}")
        for ext in self.extensions:
            if unix:
                ext.extra_compile_args += UNIX_FLAGS
            if ext.name.endswith(SIMD_SUFFIX):
                ext.extra_compile_args += SIMD_FLAGS
            if openmp:
                ext.extra_compile_args.append("-fopenmp")
                ext.extra_link_args.append("-fopenmp")
        super().build_extensions()


setup(
    ext_modules=cythonize(
        _extensions(),
        compiler_directives=DIRECTIVES,
        include_path=[str(HERE)],
        nthreads=os.cpu_count() or 1,
    ),
    cmdclass={"build_ext": BuildExt},
)
