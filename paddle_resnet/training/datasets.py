"""The datasets and loaders of a training run: the image folder (or CIFAR archive) checked before any training,
split into training and validation images, and the loaders that feed them to the loop."""

from __future__ import annotations

import paddle

from . import cifar, distributed
from .config import TrainConfig
from .data import (BadDataError, CheckedLoader, EpochBatchSampler, ImageDataset, ImageFolder, check_pillow,
                   collate_samples, find_unreadable, list_image_folder, resolve_image_folder, shared_files_error,
                   split_samples)


def make_loader(folder: ImageFolder, transform, sampler: EpochBatchSampler, config: TrainConfig) -> CheckedLoader:
    """The loader of ``folder``'s images in the batches ``sampler`` draws, each image prepared by ``transform``
    (an image folder's files or a CIFAR archive's arrays), its failures raised by ``CheckedLoader``."""
    if isinstance(folder, cifar.CifarImages):  # images from a CIFAR archive (data cifar10:PATH)
        dataset = cifar.CifarDataset(folder, transform, config.seed)
    else:
        dataset = ImageDataset(folder.samples, transform, config.seed)
    loader = paddle.io.DataLoader(dataset, batch_sampler=sampler, num_workers=config.num_workers,
                                  collate_fn=collate_samples)
    return CheckedLoader(loader, folder.samples)


def load_data(config: TrainConfig, say=print):
    """The training and validation ``ImageFolder``s of a resolved config, checked before any training.

    Each process decodes its share of the images and the processes exchange what they found, so the check
    takes no longer with more processes. A CIFAR source (``cifar10:PATH``) is read by ``cifar``.
    """
    if cifar.parse_source(config.data):
        return cifar.load_training_data(config, say)
    check_pillow()
    listings = [(config.data, list_image_folder(config.data))]
    if config.val_dir:
        listings.append((config.val_dir, list_image_folder(config.val_dir, classes=listings[0][1].classes)))
    paths = [path for _, listing in listings for path, _ in listing.candidates]
    unreadable = {}
    own_share = paths[distributed.rank()::distributed.world_size()]
    for part in distributed.all_gather_objects(find_unreadable(own_share)):
        unreadable.update(part)
    folders, errors = [], []
    for root, listing in listings:  # check both folders before stopping, so every bad file is named at once
        try:
            folders.append(resolve_image_folder(root, listing, unreadable, config.skip_bad_images))
        except BadDataError as error:
            errors.append(str(error))
    if len(listings) == 2:
        errors += shared_files_error(*(listing for _, listing in listings))
    if errors:
        raise BadDataError("\n".join(errors))
    train_set = folders[0]
    if len(train_set.classes) < 2:
        raise BadDataError(f"{config.data}: found only the class folder {train_set.classes[0]!r}; a classifier "
                           "needs at least two classes")
    if config.val_dir:
        val_set = folders[1]
    else:
        train_samples, val_samples = split_samples(train_set.samples, config.val_split, config.seed,
                                                   root=config.data)
        val_set = ImageFolder(config.data, train_set.classes, val_samples)
        train_set = ImageFolder(config.data, train_set.classes, train_samples, train_set.skipped)
    skipped = train_set.skipped + val_set.skipped
    if skipped:
        say(f"skipping {len(skipped)} bad file(s) (--skip-bad-images):\n"
            + "\n".join(f"  {path}: {reason}" for path, reason in skipped))
    return train_set, val_set

