"""The safe container under fastnn's model files: one uncompressed npz of plain arrays
and UTF-8 JSON members, written atomically, read without pickle and with every
declared size checked against the file before anything is allocated.

It knows arrays and JSON, nothing of what they hold: :class:`Writer` collects the
arrays of an object being saved, :class:`Reader` hands them back to the object being
loaded with the generic checks (kinds, shapes, dtypes, finiteness, each member used
once); the checks of values (key sets, ints, floats, random states) are here too.
Imports NumPy and the standard library only.
"""

import inspect
import json
import math
import os
import tokenize
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


# ----------------------------------------------------------------- opening a file

def open_archive(path, read, kind="model"):
    """``read(archive, size)`` on the npz at ``path``; anything wrong with the file
    becomes ``ValueError("<path> is not a valid fastnn <kind> file: ...")``."""
    path = os.fspath(path)
    size = os.path.getsize(path)
    try:
        # NOTE: the file opened here, not by np.load, which leaves it open when the
        # file is neither a zip nor an .npy (a ResourceWarning per damaged file).
        with open(path, "rb") as file, np.load(file, allow_pickle=False) as archive:
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise ValueError(f"it is a single .npy array, not a {kind} archive")
            return read(archive, size)
    except FileNotFoundError:
        raise
    # NOTE: NotImplementedError is zipfile's "unsupported zip version or compression";
    # TokenError and SyntaxError come out of NumPy's .npy header parser for some
    # damaged headers (SyntaxError from a descr such as ',f4').
    except (OSError, ValueError, TypeError, KeyError, EOFError, OverflowError,
            zipfile.BadZipFile, UnicodeDecodeError, RecursionError, NotImplementedError,
            tokenize.TokenError, SyntaxError) as error:
        raise ValueError(f"{path} is not a valid fastnn {kind} file: {error}") from None
    except AttributeError as error:  # np.load of a non-npz, non-npy, non-pickle file
        raise ValueError(f"{path} is not a valid fastnn {kind} file: {error}") from None


# ------------------------------------------------------------- arrays of an object

class Writer:
    """The arrays of the object being saved: :meth:`add` stores one and returns the
    member name its JSON refers to (``array_<i>``, or the ``name`` given)."""

    def __init__(self):
        self.arrays = {}

    def add(self, value, name=None):
        value = np.asarray(value)
        if value.dtype == object:  # feature names, or labels that are all strings
            if not all(isinstance(item, str) for item in value.ravel()):
                raise ValueError(
                    "an object array of non-strings cannot be saved safely")
            value = value.astype(str)
        name = f"array_{len(self.arrays)}" if name is None else name
        self.arrays[name] = np.ascontiguousarray(value)
        return name


class Reader:
    """The members of an open archive for the object being loaded; remembers which
    were used (a file with members nobody used is refused)."""

    def __init__(self, archive, size):
        self.archive, self.size, self.used = archive, size, set()
        self.names = set(archive.files)

    def json(self, name):
        self.used.add(name)
        return json_member(self.archive, name, self.size)

    def array(self, name, what, kinds="f", ndim=1, dtype=None, finite=True):
        """The ``array_<i>`` member the JSON names ``name`` (``what`` it holds)."""
        if not isinstance(name, str) or not name.startswith("array_"):
            raise ValueError(f"{what} does not name an array member")
        if name in self.used or name not in self.names:
            raise ValueError(f"{what}: member {name} is missing or used twice")
        self.used.add(name)
        array = member(self.archive, name, self.size, kinds)
        if array.ndim != ndim or (dtype is not None and array.dtype != dtype):
            raise ValueError(f"{what} is {array.dtype} {array.shape}, expected "
                             f"{ndim} dimensions" + (f" of {dtype}" if dtype else ""))
        if finite and array.dtype.kind == "f" and not np.isfinite(array).all():
            raise ValueError(f"{what} holds NaN or inf")
        return array

    def fixed(self, name, shape, dtype):
        """The member ``name`` of a fixed name, of exactly ``shape`` and ``dtype``,
        finite."""
        if name not in self.names:
            raise ValueError(f"member {name} is missing")
        self.used.add(name)
        array = member(self.archive, name, self.size)
        if array.shape != tuple(shape) or array.dtype != dtype:
            raise ValueError(f"member {name} is {array.dtype} {array.shape}, "
                             f"expected {dtype} {tuple(shape)}")
        if not np.isfinite(array).all():
            raise ValueError(f"member {name} holds NaN or inf")
        return array


# ---------------------------------------------------------------- checking values

def check_keys(value, keys, what, optional=()):
    """``value`` if it is a dict holding ``keys`` and perhaps some of ``optional``."""
    if not isinstance(value, dict) or not set(keys) <= set(value) <= set(keys) | set(
        optional
    ):
        raise ValueError(f"{what} has unexpected keys")
    return value


def check_int(value, what, low=0):
    if type(value) is not int or value < low:
        raise ValueError(f"{what} {value!r} is not an int >= {low}")
    return value


def check_float(value, what):
    if type(value) not in (int, float):
        raise ValueError(f"{what} {value!r} is not a number")
    return float(value)


def generator(state):
    """A NumPy Generator in the saved PCG64 ``state`` (NumPy checks its fields)."""
    if not isinstance(state, dict) or state.get("bit_generator") != "PCG64":
        raise ValueError("a random state is not a PCG64 state")
    rng = np.random.Generator(np.random.PCG64())
    rng.bit_generator.state = state
    return rng
