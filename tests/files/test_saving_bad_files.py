"""fastnn.load_model refuses every kind of bad file with a ValueError, without running
code: truncated or foreign files, pickles, bad architecture or configuration values,
weights of the wrong shape or dtype, incomplete optimizer state, huge declared sizes
in a small file.
"""

import io
import os
import pickle
import sys
import time
import zipfile

import numpy as np
import numpy.lib.format as npy_format
import pytest

from fastnn.optimizers import Adam

from _saving_cases import (
    _architecture, _data, _model, _npy, _refused, _with_architecture, _write,
)

# ------------------------------------------------------------------ bad files

@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 0.9, 0.999])
def test_truncated_file(saved, fraction):
    _, path, _ = saved
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * fraction)])
    _refused(path)


def test_tampered_bytes_in_a_weight(saved):
    _, path, members = saved
    data = bytearray(path.read_bytes())
    weight = members["weight_2.npy"]
    at = data.find(weight) + len(weight) - 3  # inside the array data
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))
    _refused(path)


def test_random_bytes(tmp_path):
    path = tmp_path / "random.fnn"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    _refused(path)


def test_text_file(tmp_path):
    path = tmp_path / "model.json"
    path.write_text('{"format": "fastnn.Sequential"}')
    _refused(path)


def test_plain_npy(tmp_path):
    path = tmp_path / "weights.npy"
    np.save(path, np.ones((3, 3)))
    _refused(path)


def test_foreign_npz_without_architecture(tmp_path):
    path = tmp_path / "foreign.npz"
    np.savez(path, weight_0=np.ones((2, 3)), weight_1=np.zeros(3))
    _refused(path, "no architecture")


def test_zip_without_architecture(saved, tmp_path):
    _, _, members = saved
    members = {name: data for name, data in members.items() if name != "architecture.npy"}
    _refused(_write(tmp_path / "m.fnn", members), "no architecture")


def test_zip_of_other_files(tmp_path):
    path = _write(tmp_path / "m.fnn", {"README.txt": b"hello", "data.csv": b"1,2\n"})
    _refused(path)


class _Marker:
    """Unpickling this runs a shell command that creates a file."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def test_pickle_file_is_never_unpickled(tmp_path):
    marker = tmp_path / "marker"
    # Make sure the payload works: plain unpickling would create the marker.
    probe = tmp_path / "probe"
    pickle.loads(pickle.dumps(_Marker(probe)))
    assert probe.exists()
    path = tmp_path / "evil.fnn"
    path.write_bytes(pickle.dumps(_Marker(marker)))
    _refused(path)
    assert not marker.exists()


def test_pickled_object_array_inside_the_archive_is_never_unpickled(saved, tmp_path):
    _, _, members = saved
    marker = tmp_path / "marker"
    payload = np.empty(1, dtype=object)
    payload[0] = _Marker(marker)
    buffer = io.BytesIO()
    np.save(buffer, payload, allow_pickle=True)
    for name in ("architecture.npy", "weight_0.npy", "optimizer_0.npy"):
        changed = dict(members)
        changed[name] = buffer.getvalue()
        _refused(_write(tmp_path / "m.fnn", changed))
    assert not marker.exists()


def test_unknown_layer_class(saved, tmp_path):
    _, _, members = saved
    architecture = _architecture(members)
    architecture["layers"][2] = {"class_name": "Lambda",
                                 "config": {"function": "os.system('touch x')"}}
    _refused(_with_architecture(tmp_path / "m.fnn", members, architecture),
             "unknown layer 'Lambda'")


@pytest.mark.parametrize("where", ["layer", "top", "optimizer", "compile"])
def test_config_with_extra_keys(saved, tmp_path, where):
    _, _, members = saved
    architecture = _architecture(members)
    if where == "layer":
        architecture["layers"][0]["config"]["kernel_regularizer"] = "l2"
    elif where == "top":
        architecture["custom_objects"] = {"f": "g"}
    elif where == "optimizer":
        architecture["compile"]["optimizer"]["config"]["clipnorm"] = 1.0
    else:
        architecture["compile"]["loss_weights"] = [1.0]
    _refused(_with_architecture(tmp_path / "m.fnn", members, architecture),
             "unexpected keys|unknown keys")


@pytest.mark.parametrize("change", [
    ("layers", 0, "activation", "swish"),
    ("layers", 0, "units", "6"),
    ("layers", 0, "units", True),
    ("layers", 0, "units", 0),
    ("layers", 0, "kernel_initializer", "__import__"),
    ("layers", 1, "pieces", 2.5),
    ("layers", 0, "name", ["a"]),
], ids=str)
def test_bad_config_values(saved, tmp_path, change):
    _, _, members = saved
    architecture = _architecture(members)
    _, index, key, value = change
    architecture["layers"][index]["config"][key] = value
    _refused(_with_architecture(tmp_path / "m.fnn", members, architecture))


@pytest.mark.parametrize("key, value", [
    ("format", "keras"), ("version", 2), ("dtype", "float16"), ("dtype", "object"),
    ("input_dim", 0), ("input_dim", 4.0), ("layers", []), ("name", 3),
])
def test_bad_top_level_values(saved, tmp_path, key, value):
    _, _, members = saved
    architecture = _architecture(members)
    architecture[key] = value
    _refused(_with_architecture(tmp_path / "m.fnn", members, architecture))


@pytest.mark.parametrize("key, value", [
    ("loss", "hinge"), ("metrics", ["f1"]), ("metrics", "accuracy"),
])
def test_bad_compile_values(saved, tmp_path, key, value):
    _, _, members = saved
    architecture = _architecture(members)
    architecture["compile"][key] = value
    _refused(_with_architecture(tmp_path / "m.fnn", members, architecture))


@pytest.mark.parametrize("key, value", [
    ("class_name", "AdamW"), ("class_name", "RMSprop"),
    ("iterations", -1), ("iterations", 1.5),
    ("config", {"learning_rate": float("nan")}), ("config", {"learning_rate": -1.0}),
])
def test_bad_optimizer_values(saved, tmp_path, key, value):
    _, _, members = saved
    architecture = _architecture(members)
    if key == "config":
        architecture["compile"]["optimizer"]["config"].update(value)
    else:
        architecture["compile"]["optimizer"][key] = value
    _refused(_with_architecture(tmp_path / "m.fnn", members, architecture))


def test_weight_with_wrong_shape(saved, tmp_path):
    _, _, members = saved
    W = np.load(io.BytesIO(members["weight_0.npy"]))
    changed = dict(members)
    changed["weight_0.npy"] = _npy(np.ascontiguousarray(W.T))
    _refused(_write(tmp_path / "m.fnn", changed), r"weight_0.*expected float32 \(4, 6\)")


def test_weight_with_wrong_dtype(saved, tmp_path):
    _, _, members = saved
    W = np.load(io.BytesIO(members["weight_0.npy"]))
    for dtype in (np.float64, np.int32, np.complex64, np.dtype(">f4"), np.float16):
        changed = dict(members)
        changed["weight_0.npy"] = _npy(W.astype(dtype))
        _refused(_write(tmp_path / "m.fnn", changed), "weight_0")


def test_missing_and_extra_members(saved, tmp_path):
    _, _, members = saved
    missing = {name: data for name, data in members.items() if name != "weight_3.npy"}
    _refused(_write(tmp_path / "a.fnn", missing), "weight_3")
    extra = dict(members)
    extra["weight_99.npy"] = _npy(np.zeros(3, np.float32))
    _refused(_write(tmp_path / "b.fnn", extra), "unexpected members")


def _adam_members(tmp_path):
    X, y = _data()
    model = _model(Adam(lr=0.01))
    model.fit(X, y, epochs=1, batch_size=8, verbose=0)
    model.save(tmp_path / "adam.fnn")
    with zipfile.ZipFile(tmp_path / "adam.fnn") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    assert {"optimizer_0.npy", "optimizer_1.npy"} <= set(members)
    return members


def test_incomplete_optimizer_state(tmp_path):
    members = _adam_members(tmp_path)
    del members["optimizer_1.npy"]
    _refused(_write(tmp_path / "m.fnn", members), "incomplete")


def test_optimizer_state_removed_from_a_trained_model(tmp_path):
    """iterations = 5 says Adam has moments; a file without them was tampered with
    (loading it would silently restart Adam's moments from zero)."""
    members = _adam_members(tmp_path)
    assert _architecture(members)["compile"]["optimizer"]["iterations"] == 5
    del members["optimizer_0.npy"], members["optimizer_1.npy"]
    _refused(_write(tmp_path / "m.fnn", members))


@pytest.mark.parametrize("member", ["weight_1.npy", "optimizer_0.npy"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_weights_and_state(saved, tmp_path, member, bad):
    _, _, members = saved
    array = np.load(io.BytesIO(members[member])).copy()
    array.flat[0] = bad
    changed = dict(members)
    changed[member] = _npy(array)
    _refused(_write(tmp_path / "m.fnn", changed), "NaN or inf")


def test_compressed_members(saved, tmp_path):
    _, _, members = saved
    _refused(_write(tmp_path / "m.fnn", members, zipfile.ZIP_DEFLATED), "compressed")
    one = tmp_path / "one.fnn"
    with zipfile.ZipFile(one, "w") as archive:
        for name, data in members.items():
            compress = zipfile.ZIP_DEFLATED if name == "weight_2.npy" else zipfile.ZIP_STORED
            archive.writestr(name, data, compress_type=compress)
    _refused(one, "compressed")


def test_savez_compressed_file(saved, tmp_path):
    _, _, members = saved
    arrays = {name[:-4]: np.load(io.BytesIO(data)) for name, data in members.items()}
    path = tmp_path / "m.npz"
    np.savez_compressed(path, **arrays)
    _refused(path, "compressed")


def _assert_quick(seconds, started):
    # NOTE: this thread's CPU time, not the wall clock, which a loaded machine
    # stretches: a refusal that reads or allocates the declared size takes far longer.
    assert time.thread_time() - started < seconds


@pytest.mark.parametrize("layer, key", [(0, "units"), (3, "units"), (1, "pieces")])
def test_huge_declared_layer_in_a_small_file(saved, tmp_path, layer, key):
    _, _, members = saved
    architecture = _architecture(members)
    architecture["layers"][layer]["config"][key] = 10**9
    # Keep the widths consistent so that only the size gives the file away.
    if layer == 0:
        architecture["layers"][1]["config"]["input_dim"] = 10**9
    path = _with_architecture(tmp_path / "m.fnn", members, architecture)
    started = time.thread_time()
    _refused(path)
    _assert_quick(1.0, started)


def test_huge_input_dim_in_a_small_file(saved, tmp_path):
    _, _, members = saved
    architecture = _architecture(members)
    architecture["input_dim"] = 10**12
    architecture["layers"][0]["config"]["input_dim"] = 10**12
    path = _with_architecture(tmp_path / "m.fnn", members, architecture)
    started = time.thread_time()
    _refused(path, "declares .* bytes of weights")
    _assert_quick(1.0, started)


@pytest.mark.parametrize("member", ["weight_0.npy", "architecture.npy"])
def test_member_whose_header_declares_a_huge_array(saved, tmp_path, member):
    """A tampered .npy header claiming 10**13 elements over a few bytes of data."""
    _, _, members = saved
    header = io.BytesIO()
    descr = "<f4" if member.startswith("weight") else "|u1"
    npy_format.write_array_header_1_0(
        header, {"descr": descr, "fortran_order": False, "shape": (10**13,)})
    changed = dict(members)
    changed[member] = header.getvalue() + b"\0" * 32
    path = _write(tmp_path / "m.fnn", changed)
    started = time.thread_time()
    _refused(path)
    _assert_quick(1.0, started)


def test_deeply_nested_json(saved, tmp_path):
    _, _, members = saved
    depth = sys.getrecursionlimit() * 2
    changed = dict(members)
    changed["architecture.npy"] = _npy(np.frombuffer(
        ("[" * depth + "]" * depth).encode(), np.uint8))
    _refused(_write(tmp_path / "m.fnn", changed))


def test_architecture_that_is_not_utf8_json(saved, tmp_path):
    _, _, members = saved
    for raw in (b"\xff\xfe\x00garbage", b"not json", b"[1, 2, 3]"):
        changed = dict(members)
        changed["architecture.npy"] = _npy(np.frombuffer(raw, np.uint8))
        _refused(_write(tmp_path / "m.fnn", changed))
    changed = dict(members)
    changed["architecture.npy"] = _npy(np.zeros((2, 2), np.float32))
    _refused(_write(tmp_path / "m.fnn", changed), "not JSON bytes")
