"""CIFAR-10 and CIFAR-100 as training and test data, read from their standard python archives without running code.

The archives are ``cifar-10-python.tar.gz`` and ``cifar-100-python.tar.gz`` (Krizhevsky, 2009), the files
``paddle.vision.datasets.Cifar10`` / ``Cifar100`` download, or the folders they unpack to
(``cifar-10-batches-py/``, ``cifar-100-python/``). A data argument names one with a prefix::

    cifar10:/data/cifar-10-python.tar.gz     cifar100:/data/cifar-100-python      cifar10:   (download)

Each batch file in them is a Python pickle, which can run any code when read with ``pickle``. Here it is read
by a restricted unpickler that knows only what a CIFAR batch holds (dicts of byte strings, lists of labels and
names, one ``uint8`` array of ``[N, 3072]`` pixels) and refuses everything else before anything is called:
a file that names ``os.system`` is refused by name. Sizes are bounded before they are allocated: a member or
file larger than a CIFAR batch can be, more pickle operations than such a batch needs, an array of another
shape or type, labels that do not fit the array are all refused, with the file's name.

Inside an archive, only regular files and folders with relative names are accepted (a link, a device or a name
with ``..`` makes the whole archive refused); nothing is extracted to disk.

For training, the last ``val_split`` of the training images (in the archive's order) are held out for
validation: with the default 0.1, the standard 45,000 / 5,000 split of CIFAR-10 (section 4.2 of the ResNet
paper), the last 5,000 images of ``data_batch_5``. The split depends on nothing else (not on the seed).
"""

from __future__ import annotations

import io
import os
import pickle
import pickletools
import tarfile
import zlib
from dataclasses import dataclass, field
from stat import S_ISREG
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np
from PIL import Image

from .._errors import PaddleResNetError
from .data import ImageDataset, ImageFolder, sample_seed, seeded_global_rngs
from ..weights.pickle_safe import AllowedCall, UnsafePickleError, describe, scan

#: Pixels of one image, as stored: 3 colour planes of 32 x 32 (red, green, blue).
IMAGE_SIZE, IMAGE_BYTES = 32, 3 * 32 * 32
#: Most images one batch file may hold (CIFAR-100's ``train`` holds 50,000, CIFAR-10's batches 10,000).
MAX_IMAGES = 60_000
#: Largest batch file read: the pixels plus up to 256 bytes per image for its name and labels.
MAX_FILE_BYTES = MAX_IMAGES * (IMAGE_BYTES + 256)
#: Most pickle operations one file may hold: a real batch needs about 4 per image (a name, a label or two,
#: and their memo entries); the rest is the array and the dict.
MAX_OPCODES = 16 * MAX_IMAGES + 10_000
#: Most archive members looked at (CIFAR-10's has 9, CIFAR-100's 5, counting folders).
MAX_MEMBERS = 200


@dataclass(frozen=True)
class _Layout:
    folder: str  # the folder inside the archive
    archive: str
    train: Tuple[str, ...]
    test: Tuple[str, ...]
    meta: str
    labels_key: str
    names_key: str
    classes: int
    url: str
    md5: str


#: The two data sets, as the archives lay them out (and as ``paddle.vision.datasets.cifar`` names their URLs).
LAYOUTS: Dict[str, _Layout] = {
    "cifar10": _Layout("cifar-10-batches-py", "cifar-10-python.tar.gz",
                       tuple(f"data_batch_{i}" for i in range(1, 6)), ("test_batch",), "batches.meta",
                       "labels", "label_names", 10,
                       "https://dataset.bj.bcebos.com/cifar/cifar-10-python.tar.gz",
                       "c58f30108f718f92721af3b95e74349a"),
    "cifar100": _Layout("cifar-100-python", "cifar-100-python.tar.gz", ("train",), ("test",), "meta",
                        "fine_labels", "fine_label_names", 100,
                        "https://dataset.bj.bcebos.com/cifar/cifar-100-python.tar.gz",
                        "eb9058c3a382ffc7106e4002c42a8d85"),
}
SPLITS = ("train", "test")


class CifarArchiveError(PaddleResNetError, ValueError):
    """A CIFAR archive or folder that is missing, damaged, or holds something a CIFAR batch never holds; the
    message names the file and what is wrong."""


@dataclass
class CifarData:
    """One split of a CIFAR data set: ``images`` ``uint8 [N, 32, 32, 3]`` (RGB, rows then columns), ``labels``
    ``int64 [N]``, the class ``names`` in label order, and where they came from (``source``)."""

    source: str
    images: np.ndarray
    labels: np.ndarray
    classes: List[str]
    files: List[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)

    def sample_name(self, index: int) -> str:
        """How image ``index`` is named in messages: ``<archive>/data_batch_5[1234]``."""
        return f"{self.source}[{index}]"


def parse_source(data) -> Optional[Tuple[str, str]]:
    """``(kind, path)`` if ``data`` names a CIFAR archive or folder (``cifar10:PATH``, ``cifar100:PATH``; an empty
    path means Paddle's download cache), else ``None``.

    >>> parse_source("cifar10:/data/cifar-10-python.tar.gz"), parse_source("photos/train")
    (('cifar10', '/data/cifar-10-python.tar.gz'), None)
    """
    if not isinstance(data, str):
        return None
    kind, colon, path = data.partition(":")
    if colon and kind in LAYOUTS:
        return kind, path
    return None


def absolute_source(data: str) -> str:
    """``data`` with its path made absolute: ``cifar10:PATH`` keeps its prefix; any other value is a folder.

    >>> absolute_source("cifar10:")
    'cifar10:'
    """
    parsed = parse_source(data)
    if parsed is None:
        return os.path.abspath(data)
    kind, path = parsed
    return f"{kind}:{os.path.abspath(path) if path else ''}"


def download(kind: str) -> str:
    """The archive of ``kind`` in Paddle's download cache (``~/.cache/paddle/dataset/cifar``), downloaded with
    Paddle's downloader (checked against its MD5 sum) if it is not there yet. Needs a network the first time."""
    from paddle.dataset.common import _check_exists_and_download

    from .._quiet import download_notes_silenced

    layout = LAYOUTS[kind]
    with download_notes_silenced():
        return _check_exists_and_download(None, layout.url, layout.md5, "cifar", True)


def read_cifar(data: str, split: str = "train") -> CifarData:
    """The ``split`` (``"train"`` or ``"test"``) of the CIFAR source ``data`` (``cifar10:PATH``, see
    ``parse_source``), read without running code from it. Raises ``CifarArchiveError`` naming what is wrong."""
    parsed = parse_source(data)
    if parsed is None:
        raise ValueError(f"{data!r}: not a CIFAR source; expected cifar10:PATH or cifar100:PATH (PATH: the "
                         f"{LAYOUTS['cifar10'].archive} archive or the folder it unpacks to; empty: download)")
    if split not in SPLITS:
        raise ValueError(f"split={split!r}: expected one of {', '.join(SPLITS)}")
    kind, path = parsed
    layout = LAYOUTS[kind]
    path = path or download(kind)
    names = (layout.meta, *getattr(layout, split))
    if os.path.isdir(path):
        files, source = _read_folder(path, layout, names), path
    elif os.path.isfile(path):
        files, source = _read_archive(path, layout, names), path
    else:
        raise CifarArchiveError(f"{path}: no such file or folder; expected the {layout.archive} archive or the "
                                f"{layout.folder}/ folder it unpacks to")
    meta = _checked_dict(files[layout.meta], f"{source}: {layout.meta}", {layout.names_key})
    classes = _names(meta[layout.names_key], f"{source}: {layout.meta}", layout)
    images, labels = [], []
    for name in names[1:]:
        where = f"{source}: {name}"
        batch = _checked_dict(files[name], where, {"data", layout.labels_key})
        pixels, batch_labels = batch["data"], batch[layout.labels_key]
        if not isinstance(pixels, np.ndarray) or pixels.ndim != 2 or pixels.shape[1] != IMAGE_BYTES:
            raise CifarArchiveError(f"{where}: 'data' is not an array of [N, {IMAGE_BYTES}] pixels")
        if not isinstance(batch_labels, list) or len(batch_labels) != len(pixels) \
                or not all(type(label) is int and 0 <= label < layout.classes for label in batch_labels):
            raise CifarArchiveError(f"{where}: {layout.labels_key!r} is not a list of {len(pixels)} labels in "
                                    f"0..{layout.classes - 1}")
        images.append(pixels.reshape(-1, 3, IMAGE_SIZE, IMAGE_SIZE).transpose(0, 2, 3, 1))
        labels.append(np.asarray(batch_labels, dtype=np.int64))
    return CifarData(source, np.ascontiguousarray(np.concatenate(images)), np.concatenate(labels), classes,
                     list(names[1:]))


def _names(names, where: str, layout: _Layout) -> List[str]:
    if not isinstance(names, list) or len(names) != layout.classes \
            or not all(isinstance(name, (str, bytes)) for name in names):
        raise CifarArchiveError(f"{where}: {layout.names_key!r} is not a list of {layout.classes} class names")
    return [name.decode("latin-1") if isinstance(name, bytes) else name for name in names]


def _checked_dict(obj, where: str, required) -> dict:
    """``obj`` as a dict with text keys (the archive's are byte strings), holding ``required``."""
    if not isinstance(obj, dict) or not all(isinstance(key, (str, bytes)) for key in obj):
        raise CifarArchiveError(f"{where}: not a CIFAR batch (a dict of named entries)")
    result = {key.decode("latin-1") if isinstance(key, bytes) else key: value for key, value in obj.items()}
    missing = sorted(set(required) - set(result))
    if missing:
        raise CifarArchiveError(f"{where}: lacks {', '.join(map(repr, missing))} (it has "
                                f"{', '.join(map(repr, sorted(result)))})")
    return result


def _read_folder(path: str, layout: _Layout, names) -> Dict[str, object]:
    """The batch files ``names`` of an unpacked folder (``path`` itself, or ``path/<layout.folder>``)."""
    folder = path if os.path.isfile(os.path.join(path, names[0])) else os.path.join(path, layout.folder)
    files = {}
    for name in names:
        file = os.path.join(folder, name)
        try:
            info = os.stat(file)
        except OSError:
            raise CifarArchiveError(f"{path}: no {layout.folder}/{name}; expected the folder {layout.archive} "
                                    f"unpacks to ({', '.join(names)})") from None
        if not S_ISREG(info.st_mode):  # a pipe would block, a device be read for ever
            raise CifarArchiveError(f"{file}: not a regular file")
        _check_size(file, info.st_size)
        with open(file, "rb") as handle:
            files[name] = load_batch(handle.read(MAX_FILE_BYTES + 1), file)
    return files


def _read_archive(path: str, layout: _Layout, names) -> Dict[str, object]:
    """The batch files ``names`` of a ``.tar.gz`` (or plain ``.tar``) archive, read in one pass."""
    wanted = {f"{layout.folder}/{name}": name for name in names}
    files: Dict[str, object] = {}
    try:
        with open(path, "rb") as raw, _decompressed(raw) as stream, \
                tarfile.open(fileobj=_BoundedReader(stream, path), mode="r:") as archive:
            for count, member in enumerate(archive, start=1):
                if count > MAX_MEMBERS:
                    raise CifarArchiveError(f"{path}: more than {MAX_MEMBERS} members; a CIFAR archive has "
                                            f"{len(names) + 3} or so")
                _check_member(path, member)
                name = wanted.get(member.name[2:] if member.name.startswith("./") else member.name)
                if name is None or not member.isfile():
                    continue
                where = f"{path}: {member.name}"
                _check_size(where, member.size)
                files[name] = load_batch(archive.extractfile(member).read(member.size), where)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
        raise CifarArchiveError(f"{path}: not a readable tar archive ({type(error).__name__}: {error}); expected "
                                f"{layout.archive}") from None
    missing = [f"{layout.folder}/{name}" for name in names if name not in files]
    if missing:
        raise CifarArchiveError(f"{path}: lacks {', '.join(missing)}; expected the {layout.archive} archive")
    return files


def _decompressed(raw):
    """``raw`` read through gzip when it starts as a gzip file does (``.tar.gz``), else as it is (``.tar``)."""
    import contextlib
    import gzip

    magic = raw.read(2)
    raw.seek(0)
    return gzip.GzipFile(fileobj=raw, mode="rb") if magic == b"\x1f\x8b" else contextlib.nullcontext(raw)


class _BoundedReader:
    """The archive's (decompressed) bytes for ``tarfile``, refusing a single read larger than a CIFAR batch can
    be: ``tarfile`` reads an extended (pax) header whole, whatever size the archive claims for it, and a few
    compressed bytes can claim gigabytes."""

    def __init__(self, stream, path: str):
        self.stream, self.path = stream, path

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0 or size > MAX_FILE_BYTES + 1:
            raise CifarArchiveError(f"{self.path}: a header or member of {size} bytes, more than a CIFAR batch can "
                                    f"be ({MAX_FILE_BYTES}); refused")
        return self.stream.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.stream.seek(offset, whence)

    def tell(self) -> int:
        return self.stream.tell()


def _check_member(path: str, member: tarfile.TarInfo) -> None:
    parts = member.name.split("/")
    if member.name.startswith("/") or ".." in parts:
        raise CifarArchiveError(f"{path}: member {member.name!r} points outside the archive's folder; refused")
    if not (member.isfile() or member.isdir()):
        kind = "a link" if member.issym() or member.islnk() else "not a regular file or folder"
        raise CifarArchiveError(f"{path}: member {member.name!r} is {kind}; a CIFAR archive holds only files and "
                                "folders, so the archive is refused")


def _check_size(where: str, size: int) -> None:
    if size > MAX_FILE_BYTES:
        raise CifarArchiveError(f"{where}: {size} bytes, more than a CIFAR batch of at most {MAX_IMAGES} images "
                                f"can be ({MAX_FILE_BYTES}); refused")


def load_batch(raw: bytes, where: str):
    """The object in one CIFAR batch pickle ``raw``: dicts, lists, byte strings, numbers, and ``uint8`` arrays
    only. ``CifarArchiveError`` for anything else, before anything the file names could be called."""
    if len(raw) > MAX_FILE_BYTES:
        _check_size(where, len(raw))
    try:
        count = 0
        for opcode, _, _ in pickletools.genops(raw):  # counted first: each operation may make an object
            count += 1
            if count > MAX_OPCODES:
                raise CifarArchiveError(f"{where}: more than {MAX_OPCODES} pickle operations, more than a CIFAR "
                                        "batch holds; refused")
        # The memo indices and declared lengths, bounded before the C unpickler sizes anything by them (a 9-byte
        # pickle could otherwise ask for gigabytes of memo table): the check every .pdparams gets.
        scan(io.BytesIO(raw), len(raw))
        return _BatchUnpickler(io.BytesIO(raw), where).load()
    except CifarArchiveError:
        raise
    except UnsafePickleError as refusal:
        raise CifarArchiveError(f"{where}: refused: {refusal}") from None
    except _Refused as refusal:
        danger = " (reading it with pickle would run that code)" if str(refusal).startswith("it imports") else ""
        raise CifarArchiveError(f"{where}: refused: {refusal}, which a CIFAR batch never holds{danger}") from None
    except (pickle.UnpicklingError, ValueError, EOFError, TypeError, AttributeError, KeyError, IndexError,
            MemoryError, RecursionError) as error:
        raise CifarArchiveError(f"{where}: not a readable CIFAR batch ({type(error).__name__}: {error})") from None


class _Refused(PaddleResNetError):
    """A global or value the CIFAR unpickler does not allow (turned into ``CifarArchiveError`` naming the file)."""


class _UInt8Dtype:
    """``numpy.dtype("u1")``: the only dtype a CIFAR batch holds; its ``BUILD`` state is checked."""

    def __setstate__(self, state):
        if not (isinstance(state, tuple) and len(state) == 8 and state[:3] == (3, "|", None)
                and state[3:] == (None, None, -1, -1, 0)):
            raise _Refused(f"numpy dtype state {describe(state)}")


class _Pixels:
    """``numpy.core.multiarray._reconstruct(ndarray, (0,), b"b")``: becomes a ``uint8 [N, 3072]`` array when its
    ``BUILD`` gives a checked shape, dtype and exactly that many bytes."""

    def __init__(self):
        self.array = None

    def __setstate__(self, state):
        if self.array is not None or not (isinstance(state, tuple) and len(state) == 5 and state[0] == 1):
            raise _Refused("numpy array state")
        _, shape, dtype, fortran_order, raw = state
        if not isinstance(dtype, _UInt8Dtype):
            raise _Refused("an array of another type than uint8")
        if not (type(shape) is tuple and len(shape) == 2 and all(type(n) is int for n in shape)
                and 0 <= shape[0] <= MAX_IMAGES and shape[1] == IMAGE_BYTES) or fortran_order not in (False, 0):
            raise _Refused(f"an array of shape {describe(shape)} (a CIFAR batch holds [N <= {MAX_IMAGES}, "
                           f"{IMAGE_BYTES}] in C order)")
        if isinstance(raw, str):  # a Python 2 pickle's bytes, read as latin-1 text
            raw = raw.encode("latin-1")
        if type(raw) is not bytes or len(raw) != shape[0] * shape[1]:
            raise _Refused(f"array data of the wrong length for shape {shape}")
        self.array = np.frombuffer(raw, dtype=np.uint8).reshape(shape)


_NDARRAY = object()


def _reconstruct(subtype, shape, typecode):
    if subtype is not _NDARRAY or shape != (0,) or typecode not in (b"b", "b"):
        raise _Refused("numpy _reconstruct arguments")
    return _Pixels()


def _dtype(code, align=False, copy=True):
    if code not in ("u1", b"u1") or align not in (False, 0) or copy not in (True, 1):
        raise _Refused(f"numpy dtype {describe(code)} (a CIFAR batch holds uint8 pixels only)")
    return _UInt8Dtype()


def _latin1(text, encoding="utf-8", errors="strict"):
    if type(text) is not str or encoding not in ("latin1", "latin-1") or errors != "strict":
        raise _Refused("_codecs.encode other than text.encode('latin1')")
    return text.encode("latin-1")


_GLOBALS = {("numpy.core.multiarray", "_reconstruct"): _reconstruct,
            ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
            ("numpy", "dtype"): _dtype, ("_codecs", "encode"): _latin1}


class _BatchUnpickler(pickle.Unpickler):
    def __init__(self, file, where: str):
        super().__init__(file, encoding="latin1")  # a Python 2 pickle's str: text, one character per byte
        # pickle_safe's stand-in: made fresh per file, and BUILD on it (setting attributes of a shared function) is
        # refused, as in every .pdparams
        self._table = {key: AllowedCall(function, ".".join(key)) for key, function in _GLOBALS.items()}
        self._table[("numpy", "ndarray")] = _NDARRAY

    def find_class(self, module, name):
        try:
            return self._table[(module, name)]
        except (KeyError, TypeError):
            raise _Refused(f"it imports {module}.{name}") from None

    def persistent_load(self, pid):
        raise _Refused("a persistent id")

    def load(self):
        return _plain(super().load())


def _plain(obj, depth: int = 0):
    """``obj`` with array stand-ins replaced by their arrays; anything but dicts, lists, strings, numbers and
    arrays is refused (a CIFAR batch nests two levels deep)."""
    kind = type(obj)
    if kind in (str, bytes, int, float, bool, type(None)):
        return obj
    if kind is _Pixels:
        if obj.array is None:
            raise _Refused("an array without its data")
        return obj.array
    if depth >= 3:
        raise _Refused("nesting deeper than a CIFAR batch")
    if kind is dict:
        return {key if type(key) in (str, bytes) else _refuse_key(key): _plain(value, depth + 1)
                for key, value in obj.items()}
    if kind is list:
        return [_plain(value, depth + 1) for value in obj]
    raise _Refused(f"an object of type {kind.__name__}")


def _refuse_key(key):
    raise _Refused(f"a dict key of type {type(key).__name__}")


# ---- training: the 45k/5k split and a dataset of arrays ------------------------------------------------------------

def load_training_data(config, say=print):
    """``(train, val)`` ``CifarImages`` of a resolved ``TrainConfig`` whose ``data`` is a CIFAR source: the
    training split, its last ``val_split`` held out (in the archive's order) for validation."""
    if config.val_dir:
        raise ValueError(f"--val-dir {config.val_dir}: with CIFAR data the validation images are the last val_split "
                         "of its training images (the standard 45,000 / 5,000 split at the default 0.1); leave "
                         "--val-dir out")
    data = read_cifar(config.data, "train")
    n_val = round(len(data) * config.val_split)
    cut = len(data) - n_val
    say(f"{config.data}: {len(data)} training images of {len(data.classes)} classes; the last {n_val} are held out "
        "for validation")
    return CifarImages.of(data, slice(0, cut)), CifarImages.of(data, slice(cut, len(data)))


@dataclass
class CifarImages(ImageFolder):
    """A range of a CIFAR split as an ``ImageFolder``: ``samples`` name each image (``<file>[index]``) for
    messages; ``images`` holds their pixels (``uint8 [N, 32, 32, 3]``, a view of the split's array)."""

    images: Optional[np.ndarray] = None

    @classmethod
    def of(cls, data: CifarData, part: slice) -> "CifarImages":
        indices = range(len(data))[part]
        return cls(data.source, data.classes, [(data.sample_name(i), int(data.labels[i])) for i in indices],
                   images=data.images[part])


def pil_images(folder: CifarImages) -> Iterator[Image.Image]:
    """The images of ``folder`` one at a time, as RGB PIL images (as ``data.read_images`` gives a folder's)."""
    for pixels in folder.images:
        yield Image.fromarray(pixels)


class CifarDataset(ImageDataset):
    """``ImageDataset`` over a ``CifarImages``: each image becomes a PIL RGB image, then the transform, so the
    training and validation transforms apply as to an image folder's files."""

    def __init__(self, folder: CifarImages, transform, seed: int):
        super().__init__(folder.samples, transform, seed)
        self.images = folder.images

    def load(self, index: int, epoch: int):
        image = Image.fromarray(self.images[index])
        with seeded_global_rngs(sample_seed(self.seed, epoch, index)):
            array = self.transform(image)
        return np.asarray(array, dtype="float32"), np.int64(self.samples[index][1])


