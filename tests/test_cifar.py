"""CIFAR archives as data: read without running code, bounded, split 45k/5k-style, trained on."""

import io
import os
import pickle
import tarfile

import numpy as np
import pytest

from helpers.cifar import cifar_batches, make_cifar_archive, make_cifar_folder, write_tar
from paddle_resnet.training import cifar
from paddle_resnet.training.cifar import CifarArchiveError, read_cifar


def _paddle_reader(archive, mode, kind="cifar10"):
    """paddle.vision's own reader of the archive (it unpickles with pickle: fine for a file we generated)."""
    from paddle.vision.datasets import Cifar10, Cifar100

    return (Cifar10 if kind == "cifar10" else Cifar100)(data_file=str(archive), mode=mode, download=False)


@pytest.mark.parametrize("kind", ["cifar10", "cifar100"])
def test_archive_reads_as_paddle_vision_reads_it(tmp_path, kind):
    archive = make_cifar_archive(tmp_path, kind, per_batch=6, test=7)
    for split in ("train", "test"):
        data = read_cifar(f"{kind}:{archive}", split)
        reference = _paddle_reader(archive, split, kind)
        assert len(data) == len(reference) == (30 if split == "train" else 7)
        for index in (0, len(data) - 1):
            image, label = reference[index]
            np.testing.assert_array_equal(data.images[index], np.asarray(image))
            assert data.labels[index] == int(label)
    assert len(data.classes) == (10 if kind == "cifar10" else 100)


def test_extracted_folder_and_its_parent_read_like_the_archive(tmp_path):
    archive = make_cifar_archive(tmp_path, per_batch=4)
    folder = make_cifar_folder(tmp_path / "unpacked", per_batch=4)
    expected = read_cifar(f"cifar10:{archive}")
    for path in (folder, folder / "cifar-10-batches-py"):
        data = read_cifar(f"cifar10:{path}")
        np.testing.assert_array_equal(data.images, expected.images)
        np.testing.assert_array_equal(data.labels, expected.labels)
        assert data.classes[:2] == ["airplane", "automobile"]


def _evil_pickle(marker):
    class Payload:
        def __reduce__(self):
            return exec, (f"open({str(marker)!r}, 'w').close()",)

    return pickle.dumps({b"data": Payload(), b"labels": []}, protocol=2)


def test_hostile_archive_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "marker"
    files = cifar_batches(per_batch=4)
    files["cifar-10-batches-py/data_batch_3"] = _evil_pickle(marker)
    archive = write_tar(tmp_path / "cifar-10-python.tar.gz", files)
    with pytest.raises(CifarArchiveError, match=r"data_batch_3: refused: it imports (__builtin__|builtins).exec"):
        read_cifar(f"cifar10:{archive}")
    assert not marker.exists()
    pickle.loads(files["cifar-10-batches-py/data_batch_3"])  # the payload is real: plain pickle runs it
    assert marker.exists()


def _tar_entry(name, kind, target="x"):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


@pytest.mark.parametrize("entry, message", [
    (_tar_entry("cifar-10-batches-py/link", tarfile.SYMTYPE, "/etc/passwd"), "is a link"),
    (_tar_entry("cifar-10-batches-py/hard", tarfile.LNKTYPE, "cifar-10-batches-py/test_batch"), "is a link"),
    (_tar_entry("cifar-10-batches-py/fifo", tarfile.FIFOTYPE), "not a regular file"),
    (_tar_entry("../escape", tarfile.DIRTYPE), "points outside"),
    (_tar_entry("/abs", tarfile.DIRTYPE), "points outside"),
])
def test_links_and_escaping_members_refuse_the_archive(tmp_path, entry, message):
    archive = write_tar(tmp_path / "c.tar.gz", cifar_batches(per_batch=2), extra=[entry])
    with pytest.raises(CifarArchiveError, match=message):
        read_cifar(f"cifar10:{archive}")


def _replace(tmp_path, member, content):
    files = cifar_batches(per_batch=3)
    files[f"cifar-10-batches-py/{member}"] = content
    return write_tar(tmp_path / "c.tar.gz", files)


@pytest.mark.parametrize("content, message", [
    (pickle.dumps({b"data": np.zeros((3, 3072), np.float32), b"labels": [0, 1, 2]}, protocol=2), "uint8"),
    (pickle.dumps({b"data": np.zeros((3, 3071), np.uint8), b"labels": [0, 1, 2]}, protocol=2), "shape"),
    (pickle.dumps({b"data": np.zeros((3, 3072), np.uint8), b"labels": [0, 1]}, protocol=2), "labels"),
    (pickle.dumps({b"data": np.zeros((3, 3072), np.uint8), b"labels": [0, 1, 10]}, protocol=2), "labels"),
    (pickle.dumps({b"data": np.zeros((3, 3072), np.uint8), b"labels": (0, 1, 2)}, protocol=2), "tuple"),
    (pickle.dumps({b"labels": [0]}, protocol=4), "lacks 'data'"),
    (pickle.dumps([1, 2], protocol=2), "not a CIFAR batch"),
    (b"\x80\x02not a pickle", "not a readable CIFAR batch"),
    (pickle.dumps({b"data": np.zeros((3, 3072), np.uint8), b"labels": [0, 1, 2], b"x": [[[[]]]]}, protocol=2),
     "nesting"),
    (pickle.dumps({b"data": np.zeros((3, 3072), np.uint8), b"labels": [0, 1, 2], 3: 4}, protocol=2), "key of type int"),
])
def test_batches_of_another_shape_or_type_are_refused(tmp_path, content, message):
    with pytest.raises(CifarArchiveError, match=message):
        read_cifar(f"cifar10:{_replace(tmp_path, 'data_batch_2', content)}")


def test_sizes_are_checked_before_reading(tmp_path, monkeypatch):
    archive = make_cifar_archive(tmp_path, per_batch=4)
    monkeypatch.setattr(cifar, "MAX_FILE_BYTES", 1000)  # a batch of 4 images is 12 KB
    with pytest.raises(CifarArchiveError, match=r"bytes, more than a CIFAR batch"):
        read_cifar(f"cifar10:{archive}")
    monkeypatch.undo()
    many_lists = b"\x80\x02" + b"]" * 5000 + b"."  # 5000 EMPTY_LIST operations: memory from nothing
    monkeypatch.setattr(cifar, "MAX_OPCODES", 1000)
    with pytest.raises(CifarArchiveError, match="more than 1000 pickle operations"):
        read_cifar(f"cifar10:{_replace(tmp_path, 'data_batch_1', many_lists)}")


def test_pickle_bombs_in_a_batch_are_refused_before_unpickling(tmp_path):
    """The bounds every .pdparams gets (weights/pickle_safe.scan) hold for CIFAR batches too: a 9-byte pickle whose
    memo index would size the C unpickler's table at gigabytes, and a refused value whose repr is exponential."""
    memo_bomb = b"\x80\x02N" + b"r" + (2 ** 27).to_bytes(4, "little") + b"."
    with pytest.raises(CifarArchiveError, match="memo index 134217728"):
        read_cifar(f"cifar10:{_replace(tmp_path, 'data_batch_1', memo_bomb)}")
    nested = ()
    for _ in range(40):  # each level holds the previous one twice: its repr would be 2**40 items long
        nested = (nested, nested)
    shared = pickle.dumps({b"data": np.zeros((3, 3072), np.uint8), b"labels": [0, 1, 2], b"x": nested}, protocol=2)
    with pytest.raises(CifarArchiveError) as refused:
        read_cifar(f"cifar10:{_replace(tmp_path, 'data_batch_1', shared)}")
    assert len(str(refused.value)) < 1000


def test_array_longer_than_a_batch_is_refused_before_its_data(tmp_path, monkeypatch):
    monkeypatch.setattr(cifar, "MAX_IMAGES", 2)
    with pytest.raises(CifarArchiveError, match=r"an array of shape \(3, 3072\)"):
        read_cifar(f"cifar10:{make_cifar_archive(tmp_path, per_batch=3)}")


def test_missing_and_wrong_sources_are_named(tmp_path):
    with pytest.raises(CifarArchiveError, match="no such file or folder"):
        read_cifar(f"cifar10:{tmp_path / 'nothing'}")
    with pytest.raises(CifarArchiveError, match="no cifar-10-batches-py/batches.meta"):
        read_cifar(f"cifar10:{tmp_path}")
    (tmp_path / "x.tar.gz").write_bytes(b"not a tar")
    with pytest.raises(CifarArchiveError, match="not a readable tar archive"):
        read_cifar(f"cifar10:{tmp_path / 'x.tar.gz'}")
    archive = make_cifar_archive(tmp_path, "cifar100", per_batch=2)
    with pytest.raises(CifarArchiveError, match="lacks cifar-10-batches-py/batches.meta"):
        read_cifar(f"cifar10:{archive}")
    with pytest.raises(ValueError, match="not a CIFAR source"):
        read_cifar(str(archive))
    with pytest.raises(ValueError, match="split='val'"):
        read_cifar(f"cifar100:{archive}", "val")


def test_sources_are_parsed_and_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cifar.absolute_source("cifar100:data/c.tar.gz") == f"cifar100:{tmp_path}/data/c.tar.gz"
    assert cifar.absolute_source("photos") == str(tmp_path / "photos")
    assert cifar.parse_source("cifar10") is None  # a folder named cifar10
    assert cifar.parse_source("cifar10:") == ("cifar10", "")


def test_training_split_is_the_last_val_split_in_archive_order(tmp_path):
    from paddle_resnet.training import TrainConfig

    archive = make_cifar_archive(tmp_path, per_batch=10)
    config = TrainConfig(data=f"cifar10:{archive}", model="resnet20").resolved()
    train, val = cifar.load_training_data(config, say=lambda message: None)
    data = read_cifar(config.data)
    assert (len(train.samples), len(val.samples)) == (45, 5)  # 50 images at the default 0.1: 45k/5k scaled
    np.testing.assert_array_equal(val.images, data.images[45:])
    assert [label for _, label in val.samples] == data.labels[45:].tolist()
    assert val.samples[0][0].endswith("[45]")
    with pytest.raises(ValueError, match="--val-dir"):
        cifar.load_training_data(TrainConfig(data=f"cifar10:{archive}", val_dir=str(tmp_path)).resolved())


def test_dataset_items_are_those_of_an_image_folder(tmp_path):
    """A CIFAR image goes through the same transform as an image file: PIL RGB image in, CHW float32 out."""
    from PIL import Image

    from paddle_resnet.training.data import eval_transform

    archive = make_cifar_archive(tmp_path, per_batch=2)
    data = read_cifar(f"cifar10:{archive}")
    images = cifar.CifarImages.of(data, slice(0, 4))
    image, label = cifar.CifarDataset(images, eval_transform(32), seed=0)[(3, 0)]
    Image.fromarray(data.images[3]).save(tmp_path / "3.png")
    with Image.open(tmp_path / "3.png") as file:
        expected = eval_transform(32)(file.convert("RGB"))
    np.testing.assert_array_equal(image, expected)
    assert image.dtype == np.float32 and label == data.labels[3]


def test_training_on_a_cifar_archive(tmp_path):
    from helpers.training import TINY, run_training

    archive = make_cifar_archive(tmp_path, per_batch=4)
    result, output = run_training(**{**TINY, "val_split": 0.1}, data=f"cifar10:{archive}", epochs=1,
                                  out=str(tmp_path / "run"))
    assert result.classes[0] == "airplane" and len(result.classes) == 10
    assert "the last 2 are held out for validation" in output  # 20 images, 0.1 of them
    assert result.history[0]["val_acc"] is not None
    assert (tmp_path / "run" / "last").is_dir()


@pytest.mark.slow
def test_train_command_on_a_cifar_folder_resumes(tmp_path, capsys):
    from helpers import run_cli

    folder = make_cifar_folder(tmp_path / "data", per_batch=8)
    common = ["--input-size", "16", "--batch-size", "8", "--num-workers", "0", "--out", str(tmp_path / "run")]
    code, out, err = run_cli(capsys, "train", f"cifar10:{folder}", "--model", "resnet20", "--epochs", "1", *common)
    assert code == 0, err
    code, out, err = run_cli(capsys, "train", "--resume", str(tmp_path / "run"), "--epochs", "2")
    assert code == 0, err
    assert "resumed from" in out and "after epoch 1" in out


def test_an_empty_path_reads_the_archive_from_paddles_download(tmp_path, monkeypatch):
    """``cifar10:`` asks Paddle's downloader for the archive (stood in for here: no network in tests)."""
    archive = make_cifar_archive(tmp_path, per_batch=2)
    asked = []
    monkeypatch.setattr(cifar, "download", lambda kind: asked.append(kind) or str(archive))
    assert len(read_cifar("cifar10:", "test")) == 20 and asked == ["cifar10"]


def test_an_extended_header_claiming_gigabytes_is_refused_before_it_is_read(tmp_path):
    """tarfile reads a pax header whole; a gzip of a few bytes can claim gigabytes for one."""
    import gzip

    header = tarfile.TarInfo("././@PaxHeader")
    header.type, header.size = tarfile.XHDTYPE, 4 * 2 ** 30
    path = tmp_path / "bomb.tar.gz"
    with gzip.open(path, "wb") as file:
        file.write(header.tobuf(format=tarfile.USTAR_FORMAT))
        file.write(b"\0" * 2 ** 20)  # the start of the claimed 4 GiB: zeros, compressed to almost nothing
    assert path.stat().st_size < 10_000
    with pytest.raises(CifarArchiveError, match="more than a CIFAR batch can be"):
        read_cifar(f"cifar10:{path}")
