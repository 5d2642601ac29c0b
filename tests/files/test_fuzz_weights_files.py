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
import tempfile
import tracemalloc
import warnings

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from fastnn.optimizers import SGD

from _fuzz import fuzz
from _fuzz_files import (
    MARKER,
    MEMORY_LIMIT,
    Payload,
    damaged,
    json_paths,
    json_values,
    members_of,
    npy,
    npy_header,
    payload,
    snippet_data,
    snippet_network,
    zip_members,
)


def _weights_file():
    """The bytes of the lecture's network's weights, trained one epoch."""
    X, Y = snippet_data()
    model = snippet_network(seed=0)
    model.compile(loss="categorical_crossentropy", optimizer=SGD(lr=0.1, momentum=0.9))
    model.fit(X, Y, epochs=1, batch_size=16, verbose=0)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.weights")
        model.save_weights(path)
        with open(path, "rb") as file:
            return file.read()


ORIGINAL = _weights_file()
MEMBERS = members_of(ORIGINAL)
LAYOUT = json.loads(
    np.load(io.BytesIO(MEMBERS["weights.npy"]), allow_pickle=False).tobytes())
TARGET = snippet_network(seed=1).build(20)
X_PROBE = np.random.default_rng(1).normal(size=(3, 20)).astype(np.float32)


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
    _load(zip_members({**MEMBERS, name: damaged(data, MEMBERS[name])}))


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
    body = data.draw(st.sampled_from([b"", b"\x00" * 5120, payload()]))
    crafted = npy_header(*header, version=version, body=body)
    assert not _load(zip_members({**MEMBERS, name: crafted}))


@fuzz()
@given(data=st.data())
def test_pickled_payloads(data):
    pickled = payload(protocol=data.draw(st.integers(2, 5)))
    where = data.draw(st.sampled_from(["whole_file", "member", "object_array", "extra"]))
    members = dict(MEMBERS)
    if where == "whole_file":
        raw = pickled
    else:
        if where == "member":
            members[data.draw(st.sampled_from(sorted(MEMBERS)))] = pickled
        elif where == "object_array":
            array = np.empty(1, object)
            array[0] = Payload()
            members[data.draw(st.sampled_from(sorted(MEMBERS)))] = npy(array, True)
        else:
            members[data.draw(st.sampled_from(["evil.npy", "weight_6.npy"]))] = pickled
        raw = zip_members(members)
    assert not _load(raw)


JSON_VALUES = json_values(["Dense", "Maxout", "Activation", "float64",
                           "fastnn.Sequential.weights"])


@fuzz()
@given(data=st.data())
def test_mutated_layout(data):
    layout = json.loads(json.dumps(LAYOUT))
    path = data.draw(st.sampled_from(list(json_paths(layout))), label="path")
    new = data.draw(JSON_VALUES, label="value")
    if path:
        target = layout
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = new
    else:
        layout = new
    text = json.dumps(layout).encode()
    members = {**MEMBERS, "weights.npy": npy(np.frombuffer(text, np.uint8))}
    _load(zip_members(members))
