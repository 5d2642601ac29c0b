"""The fixture the Sequential file tests (test_saving*.py) share."""

import zipfile

import pytest

from fastnn.optimizers import SGD

from _saving_cases import _data, _model


@pytest.fixture
def saved(tmp_path):
    """A trained float32 model saved to a file: (model, path, members as raw bytes)."""
    X, y = _data()
    model = _model(SGD(lr=0.05, momentum=0.9, nesterov=True, decay=1e-3))
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    path = tmp_path / "model.fnn"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    return model, path, members
