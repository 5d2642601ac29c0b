"""Fuzzing ``fastnn.load_model`` with damaged and crafted model files.

The files start from the lecture's snippet network, trained a little and saved. Each
example truncates it, flips bits, overwrites bytes, rewrites one zip member (with a
valid CRC, so the damage reaches the .npy and JSON readers), mutates the architecture
JSON (wrong types, huge sizes, unknown names, deep nesting) or adds crafted members
(huge declared shapes, pickled objects whose unpickling would write a marker file).
``load_model`` must raise ``ValueError`` or return a model that predicts; never another
exception, never a crash, never run code (the marker file is never written), and its
peak traced memory stays bounded. Profiles: see tests/_fuzz.py.
"""

import io
import json
import struct
import warnings
import zipfile

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import fastnn

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
    trained_snippet_file,
    zip_members,
)

ORIGINAL = trained_snippet_file(lambda model, path: model.save(path))
MEMBERS = members_of(ORIGINAL)
ARCHITECTURE = json.loads(
    np.load(io.BytesIO(MEMBERS["architecture.npy"]), allow_pickle=False).tobytes())
X_PROBE = np.random.default_rng(1).normal(size=(3, 20)).astype(np.float32)


def _offsets():
    """Interesting places in the file: zip headers, .npy headers, member data starts."""
    places = {0, 1, 4, 30, len(ORIGINAL) - 1, len(ORIGINAL) - 22, len(ORIGINAL) - 46}
    for signature in (b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06", b"\x93NUMPY"):
        start = 0
        while (found := ORIGINAL.find(signature, start)) >= 0:
            places.update(found + d for d in (0, 4, 8, 10, 18, 22, 26, 28, 30, 42, 46))
            start = found + 1
    return sorted(p for p in places if 0 <= p < len(ORIGINAL))


OFFSETS = _offsets()


def _with_architecture(architecture):
    members = dict(MEMBERS)
    text = json.dumps(architecture, allow_nan=True).encode()
    members["architecture.npy"] = npy(np.frombuffer(text, np.uint8))
    return zip_members(members)


def _load(data):
    """load_model on ``data``: the model, or None after a ValueError (see
    guarded_load); a model must predict."""
    model = guarded_load(data, fastnn.load_model)
    if model is not None:
        with warnings.catch_warnings():
            # crafted (finite) weights may overflow
            warnings.simplefilter("ignore", RuntimeWarning)
            Y = model.predict(X_PROBE)
        assert Y.shape[0] == len(X_PROBE)
    return model


def test_the_original_file_loads():
    model = _load(ORIGINAL)
    assert model is not None


# ----------------------------------------------------------------------- raw bytes


@fuzz()
@given(data=st.data())
def test_truncated_files(data):
    cut = data.draw(st.one_of(st.sampled_from(OFFSETS),
                              st.integers(0, len(ORIGINAL) - 1)), label="cut")
    assert _load(ORIGINAL[:cut]) is None


@fuzz()
@given(data=st.data())
def test_bit_flips(data):
    raw = bytearray(ORIGINAL)
    for _ in range(data.draw(st.integers(1, 8), label="flips")):
        where = data.draw(st.one_of(st.sampled_from(OFFSETS),
                                    st.integers(0, len(raw) - 1)), label="offset")
        raw[where] ^= 1 << data.draw(st.integers(0, 7), label="bit")
    _load(bytes(raw))


@fuzz()
@given(data=st.data())
def test_overwritten_bytes(data):
    raw = bytearray(ORIGINAL)
    start = data.draw(st.one_of(st.sampled_from(OFFSETS), st.integers(0, len(raw) - 1)))
    chunk = data.draw(st.one_of(
        st.binary(min_size=1, max_size=16),
        st.sampled_from([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x7f\xff\xff\xff",
                         b"\x80\x00\x00\x00", b"PK\x03\x04", b"\x08\x00", b"\x0c\x00"]),
    ))
    raw[start:start + len(chunk)] = chunk
    _load(bytes(raw))


# --------------------------------------------------------------------- zip members


@fuzz()
@given(data=st.data())
def test_damaged_member_with_a_valid_checksum(data):
    name = data.draw(st.sampled_from(sorted(MEMBERS)), label="member")
    _load(zip_members({**MEMBERS, name: damaged(data, MEMBERS[name])}))


HEADERS = [
    ((2**40,), "<f4"), ((2**31, 2**31), "<f4"), ((2**62,), "|u1"), ((-1,), "<f4"),
    ((20, 64), "<f4"), ((64, 20), "<f4"), ((20, 64), ">f4"), ((20, 64), "<f8"),
    ((20, 64), "|O"), ((20, 64), "<U4"), ((20, 64), "<c8"), ((20, 64), "|b1"),
    ((20, 64), [("a", "<f4")]), ((), "<f4"), ((0,), "<f4"), ((1, 0, 3), "<f4"),
    ((10**30,), "<f4"), ((3,), "<V2147483647"),
]


@fuzz()
@given(data=st.data(), header=st.sampled_from(HEADERS),
       version=st.sampled_from([(1, 0), (2, 0)]), fortran=st.booleans())
def test_crafted_npy_headers(data, header, version, fortran):
    shape, descr = header
    name = data.draw(st.sampled_from(sorted(MEMBERS)), label="member")
    body = data.draw(st.sampled_from([b"", b"\x00" * 5120, payload()]))
    members = dict(MEMBERS)
    members[name] = npy_header(shape, descr, fortran, version, body)
    model = _load(zip_members(members))
    if (shape, descr) != ((20, 64), "<f4"):  # that one is weight_0's true header
        assert model is None


@fuzz()
@given(data=st.data())
def test_pickled_payloads(data):
    where = data.draw(st.sampled_from(["whole_file", "member", "object_array",
                                       "extra"]))
    pickled = payload(protocol=data.draw(st.integers(2, 5)))
    if where == "whole_file":
        raw = pickled
    else:
        members = dict(MEMBERS)
        if where == "member":
            members[data.draw(st.sampled_from(sorted(MEMBERS)))] = pickled
        elif where == "object_array":
            array = np.empty(1, object)
            array[0] = Payload()
            members[data.draw(st.sampled_from(sorted(MEMBERS)))] = npy(array, True)
        else:
            members[data.draw(st.sampled_from(["evil.npy", "weight_99.npy",
                                               "metadata.npy"]))] = pickled
        raw = zip_members(members)
    assert _load(raw) is None


@fuzz()
@given(data=st.data())
def test_archive_structure(data):
    members = dict(MEMBERS)
    how = data.draw(st.sampled_from(["drop", "duplicate", "rename", "compress", "empty",
                                     "extra", "nested"]))
    name = data.draw(st.sampled_from(sorted(members)))
    if how == "drop":
        del members[name]
    elif how == "rename":
        members[data.draw(st.sampled_from(["weight_7.npy", "x", "../../etc/passwd",
                                           "architecture", "ARCHITECTURE.npy"]))] = (
            members.pop(name))
    elif how == "empty":
        members = {}
    elif how == "extra":
        members["extra.npy"] = npy(np.zeros(3, np.float32))
    elif how == "nested":
        members[name] = zip_members(MEMBERS)
    if how == "compress":
        raw = zip_members(members, zipfile.ZIP_DEFLATED)
    elif how == "duplicate":
        buffer = io.BytesIO(zip_members(members))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
            with zipfile.ZipFile(buffer, "a") as archive:
                archive.writestr(name, b"\x93NUMPY garbage")
        raw = buffer.getvalue()
    else:
        raw = zip_members(members)
    _load(raw)


# ------------------------------------------------------------------ architecture JSON


JSON_VALUES = json_values(["Dense", "Lambda", "relu", "softmax", "fastnn.Sequential",
                           "SGD", "Adam", "mse", "accuracy"])


PATHS = list(json_paths(ARCHITECTURE))


def _replace(value, path, new):
    if not path:
        return new
    value = json.loads(json.dumps(value))
    target = value
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return value


@fuzz()
@given(data=st.data())
def test_mutated_architecture(data):
    architecture = ARCHITECTURE
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        paths = list(json_paths(architecture))
        path = data.draw(st.sampled_from(paths), label="path")
        how = data.draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if how == "replace" or not path:
            architecture = _replace(architecture, path, data.draw(JSON_VALUES))
        elif how == "delete":
            parent = _get(architecture, path[:-1])
            architecture = json.loads(json.dumps(architecture))
            parent = _get(architecture, path[:-1])
            del parent[path[-1]]
        else:
            architecture = json.loads(json.dumps(architecture))
            parent = _get(architecture, path[:-1])
            if isinstance(parent, dict):
                parent[data.draw(st.text(max_size=6))] = data.draw(JSON_VALUES)
            else:
                parent.append(data.draw(JSON_VALUES))
    _load(_with_architecture(architecture))


def _get(value, path):
    for step in path:
        value = value[step]
    return value


@fuzz()
@given(data=st.data(),
       size=st.sampled_from([2**20, 2**31, 2**40, 10**12, 10**18, 2**63]))
def test_huge_declared_sizes(data, size):
    """A small file whose architecture declares a huge network: refused before any
    allocation (the memory bound of _load checks that)."""
    layer = data.draw(st.sampled_from([0, 2, 5]))
    key = data.draw(st.sampled_from(["units", "input_dim"]))
    architecture = json.loads(json.dumps(ARCHITECTURE))
    if key == "input_dim" and data.draw(st.booleans()):
        architecture["input_dim"] = size
    else:
        architecture["layers"][layer]["config"]["units"] = size
    assert _load(_with_architecture(architecture)) is None


@fuzz()
@given(data=st.data())
def test_raw_architecture_bytes(data):
    text = data.draw(st.one_of(
        st.binary(max_size=64),
        st.sampled_from([b"[" * 100_000, b"{}", b"null", b"1e999999", b'"\\ud800"',
                         b"\xff\xfe{}", b"\x00", "{\"a\": 1}".encode("utf-16"),
                         b'{"format": 1' + b"1" * 5000 + b"}"]),
    ))
    members = dict(MEMBERS)
    members["architecture.npy"] = npy(np.frombuffer(text, np.uint8))
    assert _load(zip_members(members)) is None


# ---------------------------------------------- what the fuzzing found, kept as cases


def test_zip_member_needing_a_newer_zip_version():
    """zipfile raises NotImplementedError for 'zip file version 6.4' (found by
    test_overwritten_bytes)."""
    raw = bytearray(ORIGINAL)
    central = raw.find(b"PK\x01\x02")
    raw[central + 6:central + 8] = struct.pack("<H", 64)  # version needed to extract
    assert _load(bytes(raw)) is None


def test_npy_header_that_breaks_numpys_tokenizer():
    """NumPy's header parser lets tokenize.TokenError out for an unbalanced bracket
    (found by test_bit_flips)."""
    header = b"{'descr': '<f4', ('fortran_order': False, 'shape': (3,), }"
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    members = dict(MEMBERS)
    members["weight_0.npy"] = (b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header))
                               + header + b"\x00" * 12)
    assert _load(zip_members(members)) is None


def test_member_flagged_as_encrypted():
    """zipfile raises RuntimeError ('password required') when a bit flip sets a
    member's encryption flag (found by test_bit_flips)."""
    raw = bytearray(ORIGINAL)
    start = 0
    while (found := raw.find(b"PK\x01\x02", start)) >= 0:  # every central entry
        raw[found + 8] |= 0x1  # general purpose flag: encrypted
        start = found + 1
    assert _load(bytes(raw)) is None


def test_npy_header_with_a_descr_numpy_cannot_parse():
    """A descr of ',f4' makes NumPy's header reader raise SyntaxError (found by
    test_damaged_member_with_a_valid_checksum)."""
    members = dict(MEMBERS)
    members["weight_0.npy"] = npy_header((20, 64), ",f4", body=b"\x00" * 5120)
    assert _load(zip_members(members)) is None
