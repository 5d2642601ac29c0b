"""Fuzzing ``Sequential.load_weights`` with damaged and crafted weights files.

The file holds the weights of the lecture's snippet network, trained a little. Each
example truncates it, flips bits, rewrites one zip member (with a valid CRC, so the
damage reaches the .npy and JSON readers), mutates the layout JSON or adds crafted
members (huge declared shapes, pickled objects whose unpickling would write a marker
file). ``load_weights`` into a network of that architecture must raise ``ValueError``
and leave its weights as they were, or load weights it predicts with; never another
exception, never run code, and its peak traced memory stays bounded. Profiles: see
tests/_fuzz.py.
"""

import io
import json
import os
import pickle
import struct
import tempfile
import tracemalloc
import warnings
import zipfile

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from fastnn import Sequential
from fastnn.layers import Activation, Dense, Dropout
from fastnn.optimizers import SGD

from _fuzz import fuzz

MARKER = os.path.join(tempfile.gettempdir(), f"fastnn-fuzz-weights-{os.getpid()}")
MEMORY_LIMIT = 64 << 20  # bytes of peak traced memory for one load of a ~60 KB file


class _Payload:
    """Unpickling this writes MARKER: proof that a loader ran code."""

    def __reduce__(self):
        return (open, (MARKER, "w"))


def _lecture_network(seed=0):
    model = Sequential(seed=seed)
    model.add(Dense(64, input_dim=20, init="uniform"))
    model.add(Activation("tanh"))
    model.add(Dense(64, init="uniform"))
    model.add(Activation("relu"))
    model.add(Dropout(0.5))
    model.add(Dense(10, init="uniform"))
    model.add(Activation("softmax"))
    return model


def _weights_file():
    """The bytes of the lecture's network's weights, trained one epoch."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 20)).astype(np.float32)
    Y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 64)]
    model = _lecture_network()
    model.compile(loss="categorical_crossentropy", optimizer=SGD(lr=0.1, momentum=0.9))
    model.fit(X, Y, epochs=1, batch_size=16, verbose=0)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.weights")
        model.save_weights(path)
        with open(path, "rb") as file:
            return file.read()


ORIGINAL = _weights_file()
with zipfile.ZipFile(io.BytesIO(ORIGINAL)) as _archive:
    MEMBERS = {info.filename: _archive.read(info) for info in _archive.infolist()}
LAYOUT = json.loads(
    np.load(io.BytesIO(MEMBERS["weights.npy"]), allow_pickle=False).tobytes())
TARGET = _lecture_network(seed=1).build(20)
X_PROBE = np.random.default_rng(1).normal(size=(3, 20)).astype(np.float32)


def _zip(members, compression=zipfile.ZIP_STORED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _npy(array, allow_pickle=False):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def _npy_header(shape, descr="<f4", version=(1, 0), body=b""):
    """A hand-made .npy: any declared shape and dtype, whatever follows."""
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    if version == (1, 0):
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + body
    return b"\x93NUMPY\x02\x00" + struct.pack("<I", len(header)) + header + body


def _load(data):
    """load_weights of ``data`` into TARGET: True if loaded, False after a ValueError
    (TARGET's weights then unchanged). Anything else fails the test."""
    if os.path.exists(MARKER):
        os.unlink(MARKER)
    before = TARGET.get_flat_weights()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "fuzzed.weights")
        with open(path, "wb") as file:
            file.write(data)
        tracemalloc.start()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                TARGET.load_weights(path)
            loaded = True
        except ValueError:
            loaded = False
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    assert not os.path.exists(MARKER), "loading ran code from the file"
    assert peak < MEMORY_LIMIT, f"loading {len(data)} bytes peaked at {peak} bytes"
    if loaded:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # crafted weights overflow
            assert TARGET.predict(X_PROBE).shape == (3, 10)
    else:
        assert np.array_equal(TARGET.get_flat_weights(), before)
    TARGET.set_flat_weights(before)
    return loaded


def test_the_original_file_loads():
    assert _load(ORIGINAL)


@fuzz()
@given(cut=st.integers(0, len(ORIGINAL) - 1))
def test_truncated_files(cut):
    assert not _load(ORIGINAL[:cut])


@fuzz()
@given(data=st.data())
def test_bit_flips(data):
    raw = bytearray(ORIGINAL)
    for _ in range(data.draw(st.integers(1, 8), label="flips")):
        where = data.draw(st.integers(0, len(raw) - 1), label="offset")
        raw[where] ^= 1 << data.draw(st.integers(0, 7), label="bit")
    _load(bytes(raw))


@fuzz()
@given(data=st.data())
def test_damaged_member_with_a_valid_checksum(data):
    name = data.draw(st.sampled_from(sorted(MEMBERS)), label="member")
    body = bytearray(MEMBERS[name])
    how = data.draw(st.sampled_from(["flip", "truncate", "replace", "extend"]))
    if how == "flip":
        for _ in range(data.draw(st.integers(1, 4))):
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
    _load(_zip({**MEMBERS, name: bytes(body)}))


HEADERS = [
    ((2**40,), "<f4"), ((2**31, 2**31), "<f4"), ((-1,), "<f4"), ((64, 20), "<f4"),
    ((20, 64), ">f4"), ((20, 64), "<f8"), ((20, 64), "|O"), ((20, 64), "<f2"),
    ((20, 64), "<U4"), ((), "<f4"), ((0,), "<f4"), ((10**30,), "<f4"),
]


@fuzz()
@given(data=st.data(), header=st.sampled_from(HEADERS),
       version=st.sampled_from([(1, 0), (2, 0)]))
def test_crafted_npy_headers(data, header, version):
    name = data.draw(st.sampled_from(sorted(MEMBERS)), label="member")
    body = data.draw(st.sampled_from([b"", b"\x00" * 5120, pickle.dumps(_Payload())]))
    assert not _load(_zip({**MEMBERS, name: _npy_header(*header, version, body)}))


@fuzz()
@given(data=st.data())
def test_pickled_payloads(data):
    payload = pickle.dumps(_Payload(), protocol=data.draw(st.integers(2, 5)))
    where = data.draw(st.sampled_from(["whole_file", "member", "object_array", "extra"]))
    members = dict(MEMBERS)
    if where == "whole_file":
        raw = payload
    else:
        if where == "member":
            members[data.draw(st.sampled_from(sorted(MEMBERS)))] = payload
        elif where == "object_array":
            array = np.empty(1, object)
            array[0] = _Payload()
            members[data.draw(st.sampled_from(sorted(MEMBERS)))] = _npy(array, True)
        else:
            members[data.draw(st.sampled_from(["evil.npy", "weight_6.npy"]))] = payload
        raw = _zip(members)
    assert not _load(raw)


JSON_VALUES = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(-2**70, 2**70),
        st.sampled_from([0, 1, -1, 2, 20, 64, 10**300]),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from(["", "Dense", "Maxout", "float16", "float64", "object",
                         "fastnn.Sequential.weights", "__import__", "\ud800x"]),
        st.text(max_size=8),
    ),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, prefix + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, prefix + (index,))


@fuzz()
@given(data=st.data())
def test_mutated_layout(data):
    layout = json.loads(json.dumps(LAYOUT))
    path = data.draw(st.sampled_from(list(_paths(layout))), label="path")
    new = data.draw(JSON_VALUES, label="value")
    if path:
        target = layout
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = new
    else:
        layout = new
    text = json.dumps(layout).encode()
    members = {**MEMBERS, "weights.npy": _npy(np.frombuffer(text, np.uint8))}
    _load(_zip(members))
