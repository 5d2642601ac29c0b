"""What the file fuzzers (test_fuzz_model_files.py, test_fuzz_weights_files.py)
share: the lecture's snippet network their files come from, a payload whose
unpickling would write a marker file, the tools that write zip members and hand-made
.npy headers, the damage done to one member, and the JSON values and paths a mutated
JSON member is drawn from."""

import io
import os
import pickle
import struct
import tempfile
import tracemalloc
import warnings
import zipfile

import numpy as np
from hypothesis import strategies as st

from fastnn import Sequential
from fastnn.layers import Activation, Dense, Dropout
from fastnn.optimizers import SGD

MARKER = os.path.join(tempfile.gettempdir(), f"fastnn-fuzz-pwned-{os.getpid()}")
MEMORY_LIMIT = 64 << 20  # bytes of peak traced memory for one load of a ~60 KB file


class Payload:
    """Unpickling this writes MARKER: proof that a loader ran code."""

    def __reduce__(self):
        return (open, (MARKER, "w"))


def payload(protocol=pickle.DEFAULT_PROTOCOL):
    return pickle.dumps(Payload(), protocol=protocol)


def snippet_network(seed=0):
    """The lecture's snippet network, untrained."""
    model = Sequential(seed=seed)
    model.add(Dense(64, input_dim=20, init="uniform"))
    model.add(Activation("tanh"))
    model.add(Dense(64, init="uniform"))
    model.add(Activation("relu"))
    model.add(Dropout(0.5))
    model.add(Dense(10, init="uniform"))
    model.add(Activation("softmax"))
    return model


def snippet_data():
    """64 rows of the snippet's shape: X (64, 20) and one-hot Y (64, 10), float32."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 20)).astype(np.float32)
    return X, np.eye(10, dtype=np.float32)[rng.integers(0, 10, 64)]


def trained_snippet_file(save):
    """The bytes of the file ``save(model, path)`` writes for the snippet network,
    trained one epoch on :func:`snippet_data`."""
    X, Y = snippet_data()
    model = snippet_network(seed=0)
    model.compile(loss="categorical_crossentropy",
                  optimizer=SGD(lr=0.1, decay=1e-6, momentum=0.9, nesterov=True))
    model.fit(X, Y, epochs=1, batch_size=16, verbose=0)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "fuzzed.fnn")
        save(model, path)
        with open(path, "rb") as file:
            return file.read()


def guarded_load(data, load):
    """``load(path)`` of ``data`` written to a file: its result, or None after a
    ValueError. Any other outcome (another exception, a warning, code run from the
    file, a peak of traced memory above MEMORY_LIMIT) fails the test."""
    if os.path.exists(MARKER):
        os.unlink(MARKER)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "fuzzed.fnn")
        with open(path, "wb") as file:
            file.write(data)
        tracemalloc.start()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                result = load(path)
        except ValueError:
            result = None
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    assert not os.path.exists(MARKER), "loading ran code from the file"
    assert peak < MEMORY_LIMIT, f"loading {len(data)} bytes peaked at {peak} bytes"
    return result


def members_of(data):
    """The members of the zip ``data``, name -> raw bytes."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def zip_members(members, compression=zipfile.ZIP_STORED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def npy(array, allow_pickle=False):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def npy_header(shape, descr="<f4", fortran=False, version=(1, 0), body=b""):
    """A hand-made .npy: any declared shape and dtype, whatever follows."""
    header = repr({"descr": descr, "fortran_order": fortran, "shape": shape}).encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    if version == (1, 0):
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + body
    return b"\x93NUMPY\x02\x00" + struct.pack("<I", len(header)) + header + body


def damaged(data, body):
    """``body`` (a member's bytes) flipped, truncated, overwritten or extended, as
    ``data`` (hypothesis' draw) decides."""
    body = bytearray(body)
    how = data.draw(st.sampled_from(["flip", "truncate", "replace", "extend"]))
    if how == "flip":
        for _ in range(data.draw(st.integers(1, 4))):
            # the first 128 bytes hold the .npy magic and header
            where = data.draw(st.integers(0, min(len(body), 160) - 1))
            body[where] ^= 1 << data.draw(st.integers(0, 7))
    elif how == "truncate":
        body = body[:data.draw(st.integers(0, len(body)))]
    elif how == "replace":
        where = data.draw(st.integers(0, len(body) - 1))
        chunk = data.draw(st.binary(min_size=1, max_size=12))
        body[where:where + len(chunk)] = chunk
    else:
        body += data.draw(st.binary(min_size=1, max_size=64))
    return bytes(body)


def json_values(names):
    """JSON values to put into a file's JSON: scalars (``names`` among the strings),
    and small lists and objects of them."""
    return st.recursive(
        st.one_of(
            st.none(), st.booleans(),
            st.integers(-2**70, 2**70),
            st.sampled_from([0, 1, -1, 2**31, 2**63, 10**300, 64, 20, 10]),
            st.floats(allow_nan=True, allow_infinity=True),
            st.sampled_from(["", "float16", "object", "__import__", "os.system",
                             "\ud800x", "é" * 50, *names]),
            st.text(max_size=8),
        ),
        lambda children: st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=8), children, max_size=3),
        max_leaves=8,
    )


def json_paths(value, prefix=()):
    """Every path into a JSON value."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from json_paths(child, prefix + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from json_paths(child, prefix + (index,))
