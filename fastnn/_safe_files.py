"""The safe container under fastnn's model files: one uncompressed npz of plain arrays
and UTF-8 JSON members, written atomically, read without pickle and with every
declared size checked against the file before anything is allocated.

Used by :mod:`fastnn.saving` (``Sequential``) and :mod:`fastnn._saving_estimators`
(the scikit-learn estimators).
"""

import inspect
import json
import math
import os
import zipfile

import numpy as np

MAX_JSON_BYTES = 1 << 20  # an architecture, an estimator spec or a metadata member


def json_array(value, what):
    """``value`` as the uint8 array of its UTF-8 JSON; ``TypeError`` if it is not JSON."""
    try:
        # NOTE: allow_nan stays on: Python's json writes inf/-inf/NaN as Infinity,
        # -Infinity, NaN and reads them back (scikit-learn's n_iter_no_change=np.inf).
        text = json.dumps(value)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{what} must be JSON-serializable: {error}") from None
    data = text.encode()
    if len(data) > MAX_JSON_BYTES:
        raise ValueError(f"{what} is {len(data)} bytes of JSON, more than {MAX_JSON_BYTES}")
    return np.frombuffer(data, np.uint8)


def write_atomically(path, arrays):
    """Write ``arrays`` (name -> ndarray) as one uncompressed npz at ``path``,
    replacing it only once the whole file is written."""
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    handle, temporary = _create_beside(folder, name)
    try:
        with os.fdopen(handle, "wb") as file:
            _keep_permissions(path, temporary)
            np.savez(file, **arrays)  # a file object: numpy adds no ".npz" suffix
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _create_beside(folder, name):
    """A new temporary file in ``folder`` (so that ``os.replace`` is atomic), created
    as ``open(path, "wb")`` creates one: mode 0o666 less the user's umask.

    ``tempfile.mkstemp`` would make it 0o600 whatever the umask; ``os.open`` with
    O_EXCL and a random name is as safe and lets the kernel apply the umask (reading
    it with ``os.umask`` would race with other threads)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        temporary = os.path.join(folder, f".{name}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(temporary, flags, 0o666), temporary
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary file name in {folder}")


def _keep_permissions(path, temporary):
    """A file that is replaced keeps its permissions, as it would with ``open``."""
    try:
        mode = os.stat(path).st_mode & 0o7777
    except OSError:
        return
    os.chmod(temporary, mode)


def member(archive, name, limit, kinds="uif"):
    """The array ``name``: stored uncompressed, its header read and its declared size
    checked against the member's real size before a byte of data is allocated.
    ``kinds`` are the dtype kinds accepted (numbers by default; 'U' for text)."""
    info = archive.zip.getinfo(name + ".npy")
    if info.compress_type != zipfile.ZIP_STORED or info.file_size > limit:
        raise ValueError(f"member {name} is compressed or larger than the file")
    if info.flag_bits & 0x1:  # zipfile would raise RuntimeError: password required
        raise ValueError(f"member {name} is encrypted")
    with archive.zip.open(info) as file:
        version = np.lib.format.read_magic(file)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(file)
        elif version == (2, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(file)
        else:
            raise ValueError(f"member {name} has .npy version {version}")
        if dtype.hasobject or dtype.kind not in kinds:
            raise ValueError(f"member {name} has dtype {dtype}, not one of kinds {kinds}")
        n_bytes = dtype.itemsize * math.prod(shape)
        if n_bytes > info.file_size:
            raise ValueError(f"member {name} declares {shape} but holds {info.file_size} bytes")
        data = file.read(n_bytes)
    if len(data) != n_bytes:
        raise ValueError(f"member {name} is truncated")
    return np.frombuffer(data, dtype).reshape(shape, order="F" if fortran_order else "C")


def json_member(archive, name, size):
    """The JSON value stored in member ``name`` (uint8 UTF-8 bytes)."""
    raw = member(archive, name, min(size, MAX_JSON_BYTES))
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise ValueError(f"the {name} member is not JSON bytes")
    return json.loads(raw.tobytes().decode("utf-8"))


def scalar_config(config, allowed, what):
    """``config`` if it is a dict of ``allowed`` keys to JSON scalars."""
    if not isinstance(config, dict):
        raise ValueError(f"{what} config is not an object")
    unknown = set(config) - allowed
    if unknown:
        raise ValueError(f"{what} config has unknown keys {sorted(unknown)}")
    for key, value in config.items():
        if not (value is None or isinstance(value, (str, int, float, bool))):
            raise ValueError(f"{what} config value {key!r} is not a scalar")
    return config


def parameters(cls):
    """The names of ``cls.__init__``'s parameters."""
    return set(inspect.signature(cls.__init__).parameters) - {"self"}
