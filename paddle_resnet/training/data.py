"""Image folders as training data: find and check the images, split them, and feed them in a fixed order.

An image folder holds one sub-folder per class, ``root/<class>/<image>`` (nested folders inside a class are
fine); class indices follow the sorted folder names. Files and folders whose names start with ``.`` are
ignored (``.DS_Store``, ``.ipynb_checkpoints``); every other file must be a readable image inside a class
folder. A file next to the class folders (``root/labels.csv``, ``root/stray.jpg``) is bad data like a
non-image file in a class folder: it has no class, and ignoring it would hide a misplaced image.

Reproducibility is built in rather than bolted on: the order of the samples in an epoch and the random
augmentation of each sample are functions of ``(seed, epoch, index)`` alone. They do not depend on how many
random numbers were drawn before, on the number of loader workers, or on the number of processes, which is
what lets an interrupted run resume and end with exactly the weights of an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
from stat import S_ISREG
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import paddle
from paddle.vision import transforms as T
from PIL import Image

# The image endings and the evaluation transform are the deployed model's too: one owner, deploy/preprocess.py.
from ..deploy.preprocess import (CROP_FRACTION, IMAGE_EXTENSIONS, IMAGENET_MEAN, IMAGENET_STD,  # noqa: F401
                                 eval_transform)
# One image reader for training, validation, predict and classify: the same files accepted, the same pixels.
from ..deploy.preprocess import image_failure, pixel_format_problem, read_image, to_rgb  # noqa: F401
from .._errors import PaddleResNetError

#: How many bad files an error lists by name before it summarises the rest.
MAX_LISTED = 10


class BadDataError(PaddleResNetError, ValueError):
    """The image folder cannot be trained on as it is; the message names the paths and what is wrong."""


@dataclass
class ImageFolder:
    """The checked contents of an image folder.

    Attributes:
        root: the folder.
        classes: class names, in class-index order.
        samples: ``(path, class index)`` for every usable image, sorted by path.
        skipped: ``(path, reason)`` for every file left out with ``skip_bad_images``.
    """

    root: str
    classes: List[str]
    samples: List[Tuple[str, int]]
    skipped: List[Tuple[str, str]] = field(default_factory=list)


@dataclass
class FolderListing:
    """What ``list_image_folder`` found: ``classes`` (all class names, in index order), ``folders`` (the class
    names that have a folder here), ``candidates`` (``(path, class index)`` of files in class folders with an
    image ending) and ``rejected`` (``(path, reason)`` of all other files: not images, or not in a class
    folder)."""

    classes: List[str]
    folders: List[str]
    candidates: List[Tuple[str, int]]
    rejected: List[Tuple[str, str]]
    identities: Dict[str, Tuple[int, int]] = field(default_factory=dict)  # candidate -> (device, inode)


def list_image_folder(root: str, classes: Optional[Sequence[str]] = None) -> FolderListing:
    """Walk ``root`` without opening any file.

    With ``classes`` given (a validation folder labelled like the training one), the folder's classes must be
    among them and keep their indices; a class may lack a folder.
    """
    if not os.path.isdir(root):
        raise BadDataError(f"{root}: not a directory; expected an image folder laid out as root/<class>/<image>")
    folders = sorted(e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith("."))
    if not folders:
        loose = [e.name for e in os.scandir(root) if e.is_file() and _is_image_name(e.name)]
        hint = f" (it holds {len(loose)} image files directly: move them into per-class folders)" if loose else ""
        raise BadDataError(f"{root}: no class folders{hint}; expected one sub-folder per class, root/<class>/<image>")
    if classes is None:
        classes = folders
    unknown = sorted(set(folders) - set(classes))
    if unknown:
        raise BadDataError(f"{root}: class folder(s) {', '.join(unknown)} are not among the training classes "
                           f"({', '.join(classes)})")
    candidates, identities = [], {}
    rejected = [(os.path.join(root, name), "not inside a class folder (files belong in root/<class>/)")
                for name in sorted(e.name for e in os.scandir(root) if not e.is_dir() and not e.name.startswith("."))]
    # Symbolic links are followed, but every folder and file is listed once, by what it is on disk: a link back
    # up the tree would otherwise be walked ~40 levels deep (each image read that often), and a second path to
    # an image could put it in both the training and the validation images.
    # The root and the class folders are known before any walk, so that a link to one of them is never walked.
    seen: Dict[Tuple[int, int], str] = {}
    _listed_before(root, seen, rejected)
    tops = [(name, os.path.join(root, name)) for name in folders]
    tops = [(name, top) for name, top in tops if not _listed_before(top, seen, rejected)]
    for name, top in tops:
        for directory, subdirs, files in os.walk(top, followlinks=True):
            subdirs[:] = [d for d in sorted(subdirs) if not d.startswith(".")
                          and not _listed_before(os.path.join(directory, d), seen, rejected)]
            for file in sorted(f for f in files if not f.startswith(".")):
                path = os.path.join(directory, file)
                if not _is_image_name(file):
                    rejected.append((path, f"not an image file (accepted endings: {', '.join(IMAGE_EXTENSIONS)})"))
                    continue
                identity, problem = _file_identity(path)
                if problem is None and identity in seen:
                    problem = (f"the same file as {seen[identity]} (a second link to it): it would be read twice, "
                               "and could land in both the training and the validation images")
                if problem:
                    rejected.append((path, problem))
                    continue
                seen[identity], identities[path] = path, identity
                candidates.append((path, list(classes).index(name)))
    return FolderListing(list(classes), folders, candidates, rejected, identities)


def _listed_before(folder: str, seen: Dict[Tuple[int, int], str], rejected: list) -> bool:
    """Whether ``folder`` is a folder already listed (reached again through a symbolic link); records it if
    so, and remembers it otherwise."""
    stat = os.stat(folder)
    identity = (stat.st_dev, stat.st_ino)
    if identity in seen:
        rejected.append((folder, f"the same folder as {seen[identity]} (a symbolic link to a folder listed "
                                 "already, or a loop): its images are not read twice"))
        return True
    seen[identity] = folder
    return False


def _file_identity(path: str):
    """``((device, inode), None)`` for a regular file, else ``(None, why it cannot be an image)``."""
    try:
        stat = os.stat(path)
    except OSError as error:
        if os.path.islink(path):
            return None, f"a broken symbolic link (to {os.readlink(path)})"
        return None, f"cannot read image ({type(error).__name__}: {error})"
    if not S_ISREG(stat.st_mode):  # a FIFO would block the check for ever, a device would be read endlessly
        return None, "not a regular file (a pipe, socket or device)"
    return (stat.st_dev, stat.st_ino), None


def check_image(path: str) -> Optional[str]:
    """Decode the image at ``path`` completely with the one image reader (``deploy.preprocess.read_image``);
    ``None`` if that works, else why it does not.

    A full decode, not just ``PIL.Image.verify()``: ``verify`` reads headers and checksums but passes a
    truncated JPEG, which would then fail halfway through an epoch. JPEGs decode at reduced scale (``draft``),
    which still reads every byte, so the check costs about a millisecond per image.
    """
    try:
        read_image(path, draft=(64, 64))
    except Exception as error:  # noqa: BLE001  whatever PIL raises, the file cannot be trained on
        return image_failure(error)
    return None


#: A valid 1x1 PNG, to tell a broken Pillow from broken files.
_PNG_1x1 = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde\x00"
            b"\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82")


def check_pillow() -> None:
    """Raise ``RuntimeError`` if Pillow cannot decode a valid PNG in this process.

    That happens with Paddle 2.6 when Paddle was imported before Pillow (its bundled zlib shadows Pillow's);
    without this check every PNG of the data set would be reported as a bad file.
    """
    try:
        with Image.open(io.BytesIO(_PNG_1x1)) as image:
            image.load()
    except OSError as error:
        raise RuntimeError(
            f"Pillow cannot decode PNG images in this process ({error}): with Paddle 2.6, Pillow must be imported "
            "before Paddle. Import paddle_resnet (or PIL.Image) before paddle.") from error


def find_unreadable(paths: Sequence[str], threads: int = 8) -> Dict[str, str]:
    """``{path: reason}`` for each of ``paths`` that ``check_image`` rejects (decoding runs in threads:
    PIL releases the GIL while it decodes)."""
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        reasons = pool.map(check_image, paths)
    return {path: reason for path, reason in zip(paths, reasons) if reason}


def resolve_image_folder(root: str, listing: FolderListing, unreadable: Dict[str, str],
                         skip_bad_images: bool) -> ImageFolder:
    """Combine a ``list_image_folder`` listing with the ``find_unreadable`` result into an ``ImageFolder``.

    ``unreadable`` may hold files of other folders too (one check covers the training and validation folders);
    only this listing's are considered. Raises ``BadDataError`` naming every bad file of this folder (unless
    ``skip_bad_images``, which leaves them out and records them in ``skipped``) and every class folder left
    without images (always: a class the model never sees cannot be learned, and dropping it would shift the
    class indices).
    """
    own_unreadable = [(path, unreadable[path]) for path, _ in listing.candidates if path in unreadable]
    bad = sorted(listing.rejected + own_unreadable)
    if bad and not skip_bad_images:
        raise BadDataError(f"{root}: {len(bad)} file(s) that are not readable images in a class folder:\n"
                           f"{_listing(bad)}\n"
                           "Remove or fix them, or pass --skip-bad-images to train without them.")
    samples = [(path, label) for path, label in listing.candidates if path not in unreadable]
    counts = np.bincount([label for _, label in samples], minlength=len(listing.classes))
    empty = [name for name in listing.folders if counts[listing.classes.index(name)] == 0]
    if empty and len(empty) == len(listing.folders):
        raise BadDataError(f"{root}: no readable images in any of its {len(empty)} class folders "
                           f"(accepted endings: {', '.join(IMAGE_EXTENSIONS)})")
    if empty:
        raise BadDataError(f"{root}: class folder(s) without readable images: {', '.join(empty)}; every class "
                           "needs images (or remove its folder)")
    return ImageFolder(root, listing.classes, samples, skipped=bad)


def shared_files_error(train: FolderListing, val: FolderListing) -> List[str]:
    """``[message]`` if the validation listing holds files of the training listing (the same file on disk,
    reached through links or hard links), else ``[]``: those images would be validated on after training on
    them."""
    training = {identity: path for path, identity in train.identities.items()}
    shared = sorted((path, f"the same file as {training[identity]} (training)")
                    for path, identity in val.identities.items() if identity in training)
    if not shared:
        return []
    return [f"{len(shared)} validation image(s) are training images too (validation must use images the model "
            f"was not trained on):\n{_listing(shared)}"]


def _listing(items: Sequence[Tuple[str, str]]) -> str:
    lines = [f"  {path}: {reason}" for path, reason in items[:MAX_LISTED]]
    if len(items) > MAX_LISTED:
        lines.append(f"  ... and {len(items) - MAX_LISTED} more")
    return "\n".join(lines)


def _is_image_name(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS)


def split_samples(samples: Sequence[Tuple[str, int]], fraction: float, seed: int, root: Optional[str] = None):
    """Hold out about ``fraction`` of each class for validation, deciding for each file by itself.

    A file is a validation file when ``split_score(seed, its path relative to root)`` is below ``fraction``, so
    adding or removing other files (removing a bad image and resuming, as the bad-data error advises) never
    moves it between training and validation. Only a class in which no file (or every file) falls below
    ``fraction`` borrows from the others: its lowest-scored file validates (its highest-scored one trains), so
    every class keeps at least one image on each side when it has two. Returns ``(train, val)``, each sorted.
    """
    if not 0 <= fraction < 1:
        raise ValueError(f"val_split={fraction!r}: expected a fraction in [0, 1)")
    by_class: Dict[int, List[Tuple[float, Tuple[str, int]]]] = {}
    for sample in samples:
        relative = os.path.relpath(sample[0], root) if root else sample[0]
        by_class.setdefault(sample[1], []).append((split_score(seed, relative), sample))
    train, val = [], []
    for label, scored in sorted(by_class.items()):
        scored.sort()
        held = sum(score < fraction for score, _ in scored) if fraction > 0 else 0
        if fraction > 0 and len(scored) > 1:
            held = min(len(scored) - 1, max(1, held))
        val += [sample for _, sample in scored[:held]]
        train += [sample for _, sample in scored[held:]]
    return sorted(train), sorted(val)


#: Recorded in ``trainer.json``: how validation images were held out (a checkpoint without it used the earlier
#: rule, a seeded permutation of each class's file list).
SPLIT_RULE = "sha256(seed, relative path)"


def split_score(seed: int, relative_path: str) -> float:
    """A number in [0, 1) fixed by ``seed`` and a file's path relative to its image folder (``/``-separated on
    every system): a stable hash, the same in every process, Python version and machine."""
    key = f"{seed}\0{relative_path.replace(os.sep, '/')}".encode("utf-8", "surrogateescape")
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") / 2 ** 64


def train_transform(size: int, augment: str = "imagenet", mean: Optional[np.ndarray] = None) -> Callable:
    """The training augmentation ``augment`` (``config.AUGMENTATIONS``), then the normalisation; CHW float32.

    ``imagenet``: random resized crop, horizontal flip. ``cifar`` (He et al. 2015, section 4.2): 4 pixels of zeros
    on each side, a random ``size`` crop, horizontal flip; the images must be ``size`` x ``size``. ``scale``
    (section 3.4): the shorter side resized to a random length in [8/7, 15/7] x ``size`` ([256, 480] for 224), a
    random ``size`` crop, horizontal flip, and AlexNet's colour lighting (``Lighting``). The normalisation is
    ImageNet's per-channel one, or with ``mean`` (a ``[3, size, size]`` image, ``pixel_mean``) the subtraction of
    that mean image.
    """
    if augment == "cifar":
        steps = [SizeCheck(size), T.RandomCrop(size, padding=4, fill=0), T.RandomHorizontalFlip(), T.Transpose()]
    elif augment == "scale":
        steps = [RandomShorterSide(size * 8 // 7, size * 15 // 7), T.RandomCrop(size), T.RandomHorizontalFlip(),
                 T.Transpose(), Lighting()]
    else:
        steps = [T.RandomResizedCrop(size), T.RandomHorizontalFlip(), T.Transpose()]
    return T.Compose(steps + [_normalization(mean)])


def validation_transform(size: int, augment: str = "imagenet", mean: Optional[np.ndarray] = None) -> Callable:
    """The single view a run validates on: the deployed evaluation transform (``eval_transform``), or for
    ``augment="cifar"`` the ``size`` x ``size`` image as it is (the paper's single-view CIFAR testing); with
    ``mean``, normalised by subtracting it (as ``train_transform``)."""
    if augment != "cifar" and mean is None:
        return eval_transform(size)
    return T.Compose([_view(size, augment), _normalization(mean)])


def _view(size: int, augment: str) -> Callable:
    """The evaluation view before normalisation: a uint8 ``[3, size, size]`` array."""
    if augment == "cifar":
        return T.Compose([SizeCheck(size), T.Transpose()])
    return T.Compose([T.Resize(round(size / CROP_FRACTION)), T.CenterCrop(size), T.Transpose()])


def _normalization(mean: Optional[np.ndarray]) -> Callable:
    return T.Normalize(mean=IMAGENET_MEAN, std=IMAGENET_STD) if mean is None else SubtractMean(mean)


def pixel_mean(images: Iterable[Image.Image], size: int, augment: str = "imagenet") -> np.ndarray:
    """The mean image (``[3, size, size]`` float32, 0-255 values) of ``images`` (RGB PIL images from any source,
    e.g. ``read_images(samples)``) in their evaluation view: what ``normalize="pixel-mean"`` subtracts (the
    paper's "per-pixel mean subtracted")."""
    view = _view(size, augment)
    total, count = np.zeros((3, size, size), dtype=np.float64), 0
    for image in images:
        total += view(image)
        count += 1
    return (total / max(1, count)).astype(np.float32)


def read_images(samples: Sequence[Tuple[str, int]]) -> Iterator[Image.Image]:
    """The images of ``(path, label)`` samples, one at a time, as RGB PIL images."""
    for path, _ in samples:
        yield read_image(path)


class SizeCheck:
    """Pass a ``size`` x ``size`` PIL image through; refuse any other size, naming it (the CIFAR augmentation and
    single-view testing take the images as they are)."""

    def __init__(self, size: int):
        self.size = size

    def __call__(self, image):
        if image.size != (self.size, self.size):
            raise ValueError(f"a {image.size[0]}x{image.size[1]} image: augment='cifar' takes {self.size}x{self.size} "
                             "images as they are (CIFAR's); resize the data set, or use augment='imagenet'")
        return image


class RandomShorterSide:
    """Resize a PIL image so that its shorter side has a random length in ``[low, high]`` (scale augmentation)."""

    def __init__(self, low: int, high: int):
        self.low, self.high = low, high

    def __call__(self, image):
        return T.functional.resize(image, random.randint(self.low, self.high))


class Lighting:
    """AlexNet's colour augmentation (Krizhevsky et al. 2012, the "standard colour augmentation" He et al. use):
    add ``eigvec @ (alpha * eigval)`` to every pixel, ``alpha ~ N(0, std)`` per image, along the principal
    components of ImageNet's RGB pixel values. The components are fb.resnet.torch's (``datasets/imagenet.lua``),
    computed on ImageNet, in 0-1 units (scaled to 0-255 here)."""

    EIGVAL = np.array([0.2175, 0.0188, 0.0045])
    EIGVEC = np.array([[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140], [-0.5836, -0.6948, 0.4203]])

    def __init__(self, std: float = 0.1):
        self.std = std

    def __call__(self, array):
        alpha = np.random.normal(0.0, self.std, size=3)
        offset = 255.0 * self.EIGVEC @ (alpha * self.EIGVAL)
        return np.asarray(array, dtype=np.float32) + offset.astype(np.float32)[:, None, None]


class SubtractMean:
    """Subtract a mean image (``[3, H, W]``) from a CHW array of the same shape; float32."""

    def __init__(self, mean: np.ndarray):
        self.mean = np.asarray(mean, dtype=np.float32)

    def __call__(self, array):
        return np.asarray(array, dtype=np.float32) - self.mean


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """The random seed for augmenting sample ``index`` in ``epoch``: a hash of the three numbers."""
    return int(np.random.SeedSequence([seed, epoch, index]).generate_state(1)[0])


@contextmanager
def seeded_global_rngs(seed: int):
    """Run a block with Python's and NumPy's global generators seeded, then put their old state back.

    ``paddle.vision.transforms`` draw from these global generators; seeding them per sample makes the
    augmentation independent of loader workers and of everything else that draws random numbers.
    """
    python_state, numpy_state = random.getstate(), np.random.get_state()
    random.seed(seed)
    np.random.seed(seed)
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


class ImageDataset(paddle.io.Dataset):
    """Loads ``samples`` and applies ``transform``; indexed by ``(index, epoch)`` keys from ``EpochBatchSampler``.

    Returns ``(image, label)``: a float32 CHW array and an int64 class index. A sample that cannot be loaded
    (a file that became unreadable after the start-of-run check, a transform that fails) does not raise here:
    an exception inside ``paddle.io.DataLoader`` hangs the training process for ever with ``num_workers=0``
    (its reader thread dies, the training loop waits) and ends in a long traceback from the workers
    otherwise. It is returned as ``(the error's text as uint8 bytes, -1 - index)`` instead; ``collate_samples``
    keeps such samples, and ``CheckedLoader`` raises ``BadDataError`` naming the file in the training process.
    """

    def __init__(self, samples: Sequence[Tuple[str, int]], transform: Callable, seed: int):
        super().__init__()
        self.samples, self.transform, self.seed = list(samples), transform, seed

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, key):
        index, epoch = key
        try:
            return self.load(index, epoch)
        except Exception as error:  # noqa: BLE001  reported with the file's path by CheckedLoader
            reason = f"{type(error).__name__}: {error}".encode("utf-8", "replace")[:MAX_REASON_BYTES]
            return np.frombuffer(reason, dtype=np.uint8).copy(), np.int64(-1 - index)

    def load(self, index: int, epoch: int):
        """Sample ``index`` as augmented in ``epoch``; raises whatever reading or transforming it raises."""
        path, label = self.samples[index]
        image = read_image(path)
        with seeded_global_rngs(sample_seed(self.seed, epoch, index)):
            array = self.transform(image)
        return array.astype("float32"), np.int64(label)


#: Longest error text a failed sample carries back to the training process.
MAX_REASON_BYTES = 1000


def collate_samples(samples):
    """Stack ``ImageDataset`` samples into ``(images [N, C, H, W] float32, labels [N] int64)``.

    If any sample failed, the batch is the failed samples alone: ``(error texts, one uint8 row each, padded
    with zeros; their -1 - index codes)``, which ``CheckedLoader`` turns into an error. (Paddle's default
    collation would fail on the mixed shapes, inside the loader, which is what must not happen.)
    """
    failed = [(reason, code) for reason, code in samples if code < 0]
    if failed:
        width = max(len(reason) for reason, _ in failed)
        return (np.stack([np.pad(reason, (0, width - len(reason))) for reason, _ in failed]),
                np.array([code for _, code in failed], dtype=np.int64))
    return np.stack([image for image, _ in samples]), np.array([label for _, label in samples], dtype=np.int64)


class CheckedLoader:
    """Iterate a ``paddle.io.DataLoader`` over an ``ImageDataset`` (with ``collate_fn=collate_samples``),
    raising ``BadDataError`` in this process, with each file's path and error, for a batch of failed samples."""

    def __init__(self, loader, samples: Sequence[Tuple[str, int]]):
        self.loader, self.samples = loader, samples
        self._iterator = None

    def __iter__(self):
        self.close()  # an earlier pass left unfinished (an error in its loop) stops its workers first
        self._iterator = iter(self.loader)
        for images, labels in self._iterator:
            if images.dtype == paddle.uint8:  # a normal batch is float32
                raise failed_samples_error(np.asarray(images), np.asarray(labels), self.samples)
            yield images, labels

    def close(self) -> None:
        """Stop the loader's workers (and its reader thread) now, if a pass is under way: a pass that an
        exception (Ctrl-C, SIGTERM) left unfinished would otherwise keep them until garbage collection, or leave
        them behind as orphans."""
        iterator, self._iterator = self._iterator, None
        shutdown = getattr(iterator, "_try_shutdown_all", None)  # Paddle's iterators, 2.6 and 3.x
        if shutdown is not None:
            shutdown()

    def __len__(self) -> int:
        return len(self.loader)


def failed_samples_error(reasons: np.ndarray, codes: np.ndarray, samples: Sequence[Tuple[str, int]]) -> BadDataError:
    """The error for a batch of failed samples (``collate_samples``): each file and why it failed."""
    failures = [(samples[-1 - int(code)][0], bytes(row).rstrip(b"\0").decode("utf-8", "replace"))
                for row, code in zip(reasons, codes)]
    lines = [f"{path}: cannot load image ({reason})" for path, reason in failures[:MAX_LISTED]]
    if len(failures) > MAX_LISTED:
        lines.append(f"... and {len(failures) - MAX_LISTED} more")
    return BadDataError("\n".join(lines) + "\nIt was readable when training started. Every finished epoch is saved: "
                        "fix or remove the file and continue with --resume.")


class EpochBatchSampler:
    """Batches of ``(index, epoch)`` keys for one process of ``world_size``; call ``set_epoch`` each epoch.

    With ``shuffle``, the epoch's order is a permutation drawn from ``(seed, epoch)``, padded (by repeating its
    start) to a multiple of ``world_size`` so every process runs the same number of steps; process ``rank``
    takes every ``world_size``-th sample from position ``rank``. Without ``shuffle`` (evaluation), processes
    take disjoint strided shards with no padding, so every sample counts exactly once.
    ``paddle.io.DataLoader`` takes any such iterable of index lists as its ``batch_sampler``.
    """

    def __init__(self, size: int, batch_size: int, seed: int = 0, shuffle: bool = True, rank: int = 0,
                 world_size: int = 1):
        self.size, self.batch_size, self.seed, self.shuffle = size, batch_size, seed, shuffle
        self.rank, self.world_size, self.epoch = rank, world_size, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def indices(self) -> List[int]:
        """This process's sample indices for the current epoch, in order."""
        if not self.shuffle:
            return list(range(self.rank, self.size, self.world_size))
        order = np.random.default_rng([self.seed, self.epoch]).permutation(self.size).tolist()
        padded = -(-self.size // self.world_size) * self.world_size
        order = (order * (padded // max(1, self.size) + 1))[:padded]
        return order[self.rank::self.world_size]

    def __iter__(self):
        indices = self.indices()
        for start in range(0, len(indices), self.batch_size):
            yield [(index, self.epoch) for index in indices[start:start + self.batch_size]]

    def __len__(self) -> int:
        return -(-len(self.indices()) // self.batch_size)
