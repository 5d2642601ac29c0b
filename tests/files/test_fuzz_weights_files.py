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
import warnings

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from _fuzz import fuzz
from _fuzz_files import (
    Payload,
    damaged,
    guarded_load,
    json_paths,
    json_values,
    members_of,
    npy,
    npy_header,
    payload,
    snippet_network,
    trained_snippet_file,
    zip_members,
)

ORIGINAL = trained_snippet_file(lambda model, path: model.save_weights(path))
MEMBERS = members_of(ORIGINAL)
LAYOUT = json.loads(
    np.load(io.BytesIO(MEMBERS["weights.npy"]), allow_pickle=False).tobytes())
TARGET = snippet_network(seed=1).build(20)
X_PROBE = np.random.default_rng(1).normal(size=(3, 20)).astype(np.float32)


def _load(data):
    """load_weights of ``data`` into TARGET (see guarded_load): True if loaded (it
    then predicts), False after a ValueError (its weights then unchanged)."""
    before = TARGET.get_flat_weights()
    loaded = guarded_load(data, lambda path: TARGET.load_weights(path) or True)
    if loaded:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # crafted weights overflow
            assert TARGET.predict(X_PROBE).shape == (3, 10)
    else:
        assert np.array_equal(TARGET.get_flat_weights(), before)
    TARGET.set_flat_weights(before)
    return bool(loaded)


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
