"""Hostile input costs seconds and megabytes, never minutes and gigabytes (docs/reliability.md, "Resource bounds").

Each hostile file is generated here. The fast tests call the reader in-process and check the refusal; the
``slow`` ones repeat the worst cases in a subprocess under an address-space limit (``resource.RLIMIT_AS``), so
that a regression fails with a MemoryError instead of exhausting the machine.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from paddle_resnet.weights import UnsafePickleError, pickle_safe

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class _Reduce:
    """Pickles as ``function(*args)`` with ``state`` for BUILD: how a file hands a callable its arguments."""

    def __init__(self, function, args, state):
        self.function, self.args, self.state = function, args, state

    def __reduce__(self):
        return self.function, self.args, self.state


def _shared_tuples(levels: int):
    """A tuple holding the previous level twice, ``levels`` deep: a few bytes per level pickled, but a repr of
    2**levels items."""
    item = (0,)
    for _ in range(levels):
        item = (item, item)
    return item


def _memo_bomb() -> bytes:
    """9 bytes: PROTO 2, NONE, LONG_BINPUT 2**27, STOP (the C unpickler sizes its memo table by the index)."""
    return b"\x80\x02N" + b"r" + (2 ** 27).to_bytes(4, "little") + b"."


def _nested_dtype_state(levels: int) -> bytes:
    return pickle.dumps({"w": _Reduce(np.dtype, ("f4", False, True), _shared_tuples(levels))}, protocol=2)


def _nested_shape(levels: int) -> bytes:
    reconstruct = np.empty(0).__reduce__()[0]
    state = (1, _shared_tuples(levels), np.dtype("f4"), False, b"")
    return pickle.dumps({"w": _Reduce(reconstruct, (np.ndarray, (0,), b"b"), state)}, protocol=3)


def _shared_slices(count: int) -> bytes:
    """paddle.save's big-tensor table whose ``count`` slice names all refer to one shared 1 MiB array."""
    shared = np.zeros(1 << 18, np.float32)
    state = {f"w.slice_{i}": shared for i in range(count)}
    state[pickle_safe.BIG_PARAMS] = {"w": {"OriginShape": [count << 18], "slices": list(state)}}
    return pickle.dumps(state, protocol=2)


HOSTILE = {
    "memo index 2**27": (_memo_bomb, "refused to load: a memo index 134217728 where 0 entries are stored so far"),
    "dtype state of 40 shared levels": (lambda: _nested_dtype_state(40), r"refused to load: numpy dtype state \("),
    "array shape of 40 shared levels": (lambda: _nested_shape(40), r"refused to load: numpy array shape \("),
    "big-tensor table of 2000 shared slices": (lambda: _shared_slices(2000), "several of its slices are one shared"),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_pickles_are_refused_quickly_with_a_short_message(case, tmp_path):
    make, refused = HOSTILE[case]
    path = tmp_path / "w.pdparams"
    path.write_bytes(make())
    assert path.stat().st_size < 2_000_000
    with pytest.raises(ValueError, match=refused) as error:
        pickle_safe.load(str(path)) if "table" not in case else _read(path)
    assert str(path) in str(error.value) and len(str(error.value)) < 1000


def _read(path):
    from paddle_resnet.weights.files import read_pickle

    return read_pickle(str(path))


def test_refusal_messages_describe_values_boundedly():
    # Two levels shown, whatever the depth (repr would be 2**60 items long).
    assert pickle_safe.describe(_shared_tuples(60)) == \
        "((a tuple of 2 items, a tuple of 2 items), (a tuple of 2 items, a tuple of 2 items))"
    assert pickle_safe.describe("x" * 10 ** 6).endswith("... (1000000 long)")
    assert pickle_safe.describe(10 ** 5000) == "an int of 16610 bits"


@pytest.mark.parametrize("data, problem", [
    (b"\x80\x02B" + (2 ** 31).to_bytes(4, "little") + b"x.", "BINBYTES of 2147483648 bytes at byte 2 runs past"),
    (b"\x80\x04\x95" + (2 ** 40).to_bytes(8, "little") + b"N.", "a frame of 1099511627776 bytes runs past"),
    (b"\x80\x02\x8b" + (10 ** 6).to_bytes(4, "little") + b"\0" * 10 ** 6 + b".", "an integer of 1000000 bytes"),
    (b"\x80\x02" + b"(" * 2000 + b"t" * 2000 + b".", "more than 1000 nested marks"),
])
def test_declared_lengths_are_checked_before_anything_is_read(tmp_path, data, problem):
    path = tmp_path / "w.pdparams"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=problem):
        _read(path)


def test_what_paddle_save_writes_passes_the_scan(tmp_path):
    import paddle

    from paddle_resnet import resnet20

    path = tmp_path / "w.pdparams"
    paddle.save(resnet20().state_dict(), str(path))
    for protocol in (2, 3, 4):
        paddle.save({"w": paddle.ones([3]), "n": [1, 2.5, "x"]}, str(path), protocol=protocol)
        with open(path, "rb") as file:
            assert pickle_safe.scan(file, path.stat().st_size) == path.stat().st_size  # the whole file


# ----------------------------------------------------------------------------------- memory, in a subprocess

_UNDER_LIMIT = textwrap.dedent("""
    import resource, sys
    {setup}
    used = int(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmSize"))) * 1024
    resource.setrlimit(resource.RLIMIT_AS, (used + {megabytes} * 2 ** 20, resource.RLIM_INFINITY))
    try:
        {call}
    except MemoryError:
        print("MemoryError")
        raise SystemExit(3)
    except Exception as error:
        print(type(error).__name__, str(error)[:300])
""")


def run_under_memory_limit(setup: str, call: str, megabytes: int) -> str:
    """Run ``call`` after ``setup`` in a fresh Python whose address space may grow by ``megabytes`` only;
    returns what it printed (the error's type and message)."""
    code = _UNDER_LIMIT.format(setup=setup, call=call, megabytes=megabytes)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": ROOT}, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_pickles_stay_within_a_few_megabytes(case, tmp_path):
    make, refused = HOSTILE[case]
    path = tmp_path / "w.pdparams"
    path.write_bytes(make())
    output = run_under_memory_limit("from paddle_resnet.weights import files", f"files.read_pickle({str(path)!r})",
                                    megabytes=100)
    assert output.startswith(("UnsafePickleError", "ValueError")), output


# ------------------------------------------------------------------------------------- weights: bad errors

def _safetensors_with_shape(path, shape):
    import json
    import struct

    header = json.dumps({"w": {"dtype": "F32", "shape": shape, "data_offsets": [0, 0]}}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header)


@pytest.mark.parametrize("shape", [[0, 2 ** 62, 2 ** 62], [0, 2 ** 64], "5000 digits"])
def test_huge_safetensors_shapes_are_a_clear_error(tmp_path, shape):
    from paddle_resnet.weights.safetensors import SafetensorsError, load

    path = tmp_path / "w.safetensors"
    if shape == "5000 digits":
        header = b'{"w": {"dtype": "F32", "shape": [' + b"9" * 5000 + b'], "data_offsets": [0, 0]}}'
        path.write_bytes(len(header).to_bytes(8, "little") + header)
    else:
        _safetensors_with_shape(path, shape)
    with pytest.raises(SafetensorsError, match=rf"{path}: ") as error:
        load(str(path))
    assert len(str(error.value)) < 600


def test_a_message_about_300000_unknown_keys_stays_short(tmp_path):
    from paddle_resnet import resnet20
    from paddle_resnet.weights import IncompatibleWeightsError, load_weights

    state = {f"layer{i}.weight": np.zeros(1, np.float32) for i in range(300_000)}
    with pytest.raises(IncompatibleWeightsError) as error:
        load_weights(resnet20(), state)
    message = str(error.value)
    assert len(message) < 5000 and "and 299988 more keys in 299988 other layers" in message


def test_non_string_keys_are_a_clear_error(tmp_path):
    from paddle_resnet import resnet20
    from paddle_resnet.weights import load_weights

    path = tmp_path / "w.pdparams"
    path.write_bytes(pickle.dumps({"fc.bias": np.zeros(10, np.float32), 7: np.zeros(1, np.float32)}, protocol=2))
    with pytest.raises(ValueError, match=rf"{path}: 1 key\(s\) are not strings \(7\)"):
        load_weights(resnet20(), path)
    with pytest.raises(ValueError, match=r"<state dict>: 1 key\(s\) are not strings \(\(1, 2\)\)"):
        load_weights(resnet20(), {(1, 2): np.zeros(1)})


def test_export_weights_with_a_non_string_key_exits_2(tmp_path, capsys):
    from paddle_resnet.cli import main

    path = tmp_path / "w.pdparams"
    path.write_bytes(pickle.dumps({7: np.zeros(1, np.float32)}, protocol=2))
    assert main(["export", "resnet20", "--weights", str(path), "--out", str(tmp_path / "m")]) == 2
    assert f"{path}: 1 key(s) are not strings" in capsys.readouterr().err


def test_one_stray_pytorch_key_in_paddle_weights_is_refused_not_guessed():
    from paddle_resnet import resnet20
    from paddle_resnet.weights import load_weights
    from paddle_resnet.weights.naming import NamingConflictError

    model = resnet20(num_classes=64)  # fc.weight 64x64: square, so a transposition would fit silently
    state = {key: value.numpy() for key, value in model.state_dict().items()}
    statistics = sum(key.endswith(("._mean", "._variance")) for key in state)
    state["extra.running_mean"] = np.zeros(3, np.float32)
    with pytest.raises(NamingConflictError, match=r"<state dict>: the weights mix two namings: 1 key\(s\) in "
                                                  rf"PyTorch's \(extra.running_mean\) and {statistics} in Paddle's"):
        load_weights(model, state, strict=False)


# ------------------------------------------------------------------------------ images, settings, flags

def _png_header(width: int, height: int) -> bytes:
    """A 65-byte 1-bit grayscale PNG whose header declares ``width`` x ``height`` pixels (its data is empty)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow warns above the same count
@pytest.mark.parametrize("draft", [None, (64, 64)])
def test_a_huge_image_is_refused_from_its_header_before_any_pixel_is_decoded(tmp_path, monkeypatch, draft):
    from PIL import ImageFile

    from paddle_resnet.deploy.preprocess import MAX_IMAGE_PIXELS, ImageFileError, read_image
    from paddle_resnet.training.data import check_image

    assert MAX_IMAGE_PIXELS == 89_478_485  # Pillow's DecompressionBombWarning threshold (Image.MAX_IMAGE_PIXELS)

    def decoded(self):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", decoded)  # any decoding (and its allocation) fails the test
    (tmp_path / "huge.png").write_bytes(_png_header(9500, 9500))  # 90,250,000 pixels, 65 bytes on disk
    with pytest.raises(ImageFileError, match=r"^9500 x 9500 pixels \(90,250,000\): more than the 89,478,485 "
                                             r"accepted \(MAX_IMAGE_PIXELS\)"):
        read_image(str(tmp_path / "huge.png"), draft=draft)
    assert check_image(str(tmp_path / "huge.png")).startswith("9500 x 9500 pixels")
    # Just within the limit (9459 x 9459 = 89,472,681): the header passes, and decoding starts.
    (tmp_path / "large.png").write_bytes(_png_header(9459, 9459))
    with pytest.raises(AssertionError, match="pixels were decoded"):
        read_image(str(tmp_path / "large.png"), draft=draft)


def test_the_image_reader_applies_the_exif_orientation(tmp_path):
    from PIL import Image, ImageOps

    from paddle_resnet.deploy.preprocess import read_image
    from paddle_resnet.training.data import ImageDataset

    pixels = np.arange(6 * 4 * 3, dtype=np.uint8).reshape(4, 6, 3) * 3
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    Image.fromarray(pixels).save(tmp_path / "photo.png", exif=exif)
    with Image.open(tmp_path / "photo.png") as image:
        upright = np.asarray(ImageOps.exif_transpose(image).convert("RGB"))  # Pillow's own reading of the tag
    assert upright.shape == (6, 4, 3)
    assert np.array_equal(np.asarray(read_image(str(tmp_path / "photo.png"))), upright)
    # Training reads it through the same function.
    sample = ImageDataset([(str(tmp_path / "photo.png"), 0)], lambda image: np.asarray(image), seed=0).load(0, 0)
    assert np.array_equal(sample[0], upright.astype("float32"))


def test_thread_counts_are_bounded_by_the_cpus_this_process_may_use(tmp_path, monkeypatch):
    from paddle_resnet import _checks
    from paddle_resnet.training import loop
    from paddle_resnet.training.config import TrainConfig

    monkeypatch.setattr(_checks, "available_cpus", lambda: 2)
    config = TrainConfig(data=str(tmp_path), model="resnet20", threads=100000)
    with pytest.raises(ValueError, match=r"threads=100000: expected 1 to 2 \(the CPUs this process may run on\)"):
        loop._use_cpu_threads(config)


def test_a_seed_beyond_32_bits_is_a_clear_error():
    from paddle_resnet.training.config import TrainConfig

    with pytest.raises(ValueError, match=r"seed=99999999999999999999999: expected an integer 0 to 4294967295"):
        TrainConfig(data="x", model="resnet20", seed=99999999999999999999999)


def test_a_files_split_does_not_depend_on_the_other_files():
    """Removing a file (the bad-data error's own advice) or adding one moves no other file between training and
    validation."""
    from paddle_resnet.training.data import split_samples

    samples = [(f"/data/{name}/{i:03}.png", label) for label, name in enumerate(["a", "b"]) for i in range(40)]
    train, val = split_samples(samples, 0.25, seed=3, root="/data")
    assert 0 < len(val) < len(samples) // 2 and {label for _, label in val} == {0, 1}
    for removed in (val[0], train[0], train[-1]):
        rest = [sample for sample in samples if sample != removed]
        train_after, val_after = split_samples(rest, 0.25, seed=3, root="/data")
        assert set(val_after) == set(val) - {removed} and set(train_after) == set(train) - {removed}
    added = split_samples(samples + [("/data/a/new.png", 0)], 0.25, seed=3, root="/data")
    assert set(val) <= set(added[1]) and set(train) <= set(added[0])
    # The same folder elsewhere splits the same way (paths are taken relative to the folder).
    moved = [(path.replace("/data/", "/mnt/copy/"), label) for path, label in samples]
    assert [p for p, _ in split_samples(moved, 0.25, seed=3, root="/mnt/copy")[1]] == \
        [p.replace("/data/", "/mnt/copy/") for p, _ in val]
    # Every class keeps an image on each side, even a class of two.
    tiny = split_samples([("/d/a/1.png", 0), ("/d/a/2.png", 0), ("/d/b/1.png", 1), ("/d/b/2.png", 1)], 0.1, 0, "/d")
    assert len(tiny[0]) == len(tiny[1]) == 2


# --------------------------------------------------------------------------------------------- downloads

class _HostileServer:
    """An HTTP server on 127.0.0.1 that sends headers and then ``body`` (a callable writing to the socket); with
    ``headers=None``, only ``body``."""

    def __init__(self, headers: bytes, body):
        import socket
        import threading

        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/w.safetensors"
        self.stop = threading.Event()

        def serve():
            connection, _ = self.listener.accept()
            with connection:
                connection.recv(65536)
                if headers is not None:
                    connection.sendall(b"HTTP/1.1 200 OK\r\n" + headers + b"\r\n")
                body(connection, self.stop)

        self.thread = threading.Thread(target=serve, daemon=True)
        self.thread.start()

    def close(self):
        self.stop.set()
        self.listener.close()


def _stall(connection, stop):
    connection.sendall(b"\0" * 100)
    stop.wait(30)


def _endless(connection, stop):
    chunk = b"\0" * 65536
    try:
        while not stop.is_set():
            connection.sendall(chunk)
    except OSError:
        pass


def _every(seconds: float, data: bytes):
    """A body sending ``data`` every ``seconds`` until the test ends."""
    def body(connection, stop):
        try:
            while not stop.wait(seconds):
                connection.sendall(data)
        except OSError:
            pass

    return body


#: One byte every 20 ms: each read comes well within the timeout, the whole file never would.
_trickle = _every(0.02, b"\0")
#: ``100 Continue`` responses, which Python's http.client skips one after another without a limit.
_continue_for_ever = _every(0.01, b"HTTP/1.1 100 Continue\r\n\r\n")


def _trickled_headers(connection, stop):
    connection.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    _trickle(connection, stop)


_NO_HEADERS = r"no complete response \(status line and headers\) within 1 s \(twice DOWNLOAD_TIMEOUT\)"
_TRICKLED = r"bytes received in [\d.]+ s, slower than the accepted minimum average of 1000 bytes/s after the first 0.5"


@pytest.mark.parametrize("headers, body, problem", [
    (b"Content-Length: 1000\r\n", _stall, "timed out"),
    (b"Content-Length: 100000\r\n", _trickle, _TRICKLED),
    (b"", _trickle, _TRICKLED),
    (None, _trickled_headers, _NO_HEADERS),
    (None, _continue_for_ever, _NO_HEADERS),
    (b"", _endless, r"more than 1048576 bytes \(MAX_DOWNLOAD_BYTES; the server declares no size\)"),
    (b"Content-Length: 99999999999\r\n", _endless, r"the server declares 99999999999 bytes; accepted: at most"),
])
def test_a_download_is_bounded_in_time_and_size(tmp_path, monkeypatch, headers, body, problem):
    from paddle.utils import download

    from paddle_resnet.weights import official

    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setattr(download, "WEIGHTS_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(official, "DOWNLOAD_TIMEOUT", 0.5)
    monkeypatch.setattr(official, "MAX_DOWNLOAD_BYTES", 2 ** 20)
    monkeypatch.setattr(official, "MIN_DOWNLOAD_RATE", 1000)  # the trickle's 50 bytes/s is cut off after ~0.5 s
    monkeypatch.delenv(official.MIN_RATE_ENV, raising=False)
    server = _HostileServer(headers, body)
    try:
        with pytest.raises(official.WeightsDownloadError, match=problem) as error:
            official.download_url(server.url)
    finally:
        server.close()
    assert server.url in str(error.value)
    assert not list((tmp_path / "cache").rglob("*.safetensors*"))  # nothing half-written is left


def test_the_minimum_download_rate_is_read_from_the_environment(tmp_path, monkeypatch):
    from paddle_resnet.weights import official

    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setattr(official, "DOWNLOAD_TIMEOUT", 0.5)
    monkeypatch.setenv(official.MIN_RATE_ENV, "800")
    server = _HostileServer(b"Content-Length: 100000\r\n", _trickle)
    try:
        with pytest.raises(official.WeightsDownloadError, match="minimum average of 800 bytes/s"):
            official.fetch(server.url, str(tmp_path / "w.safetensors"))
    finally:
        server.close()
    for setting in ("fast", "0", "-5", "inf"):
        monkeypatch.setenv(official.MIN_RATE_ENV, setting)
        with pytest.raises(ValueError, match=f"{official.MIN_RATE_ENV}='{setting}': expected a positive number"):
            official.fetch("http://127.0.0.1:9/w.safetensors", str(tmp_path / "w.safetensors"))


# ------------------------------------------------------------------------------------ runs always continue

@pytest.fixture
def tiny_data(tmp_path):
    from helpers.images import make_image_folder

    return make_image_folder(tmp_path / "data", per_class=6, size=16)


def _train(**settings):
    import io

    from helpers.training import TINY

    from paddle_resnet.training import TrainConfig, train

    return train(TrainConfig(**{**TINY, "epochs": 2, **settings}), stream=io.StringIO())


def test_sigterm_stops_the_workers_releases_the_lock_and_leaves_the_last_epoch_resumable(tmp_path, tiny_data,
                                                                                         monkeypatch):
    import json
    import signal

    from paddle_resnet.training import loop, rundir
    from paddle_resnet.training.config import resume_config

    real_epoch, loaders = loop.train_one_epoch, []

    def terminated_in_epoch_2(model, loader, *args, **kwargs):
        loaders.append(loader)
        if loader.loader.batch_sampler.epoch == 2:
            next(iter(loader))  # the workers are running
            os.kill(os.getpid(), signal.SIGTERM)
        return real_epoch(model, loader, *args, **kwargs)

    monkeypatch.setattr(loop, "train_one_epoch", terminated_in_epoch_2)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt, match="stopped by signal SIGTERM"):
        _train(data=str(tiny_data), out=str(out), num_workers=1)
    assert loaders[-1]._iterator is None  # closed: its workers were stopped
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler is the run's only
    with rundir.locked(out):  # released
        pass
    assert json.loads((out / "last" / "trainer.json").read_text())["epoch"] == 1
    monkeypatch.setattr(loop, "train_one_epoch", real_epoch)
    import io

    assert loop.train(resume_config(str(out)), stream=io.StringIO()).history[-1]["epoch"] == 2


def test_a_stale_lock_of_a_dead_run_is_recognised_by_process_id_and_start_time(tmp_path):
    import fcntl
    import socket

    from paddle_resnet.training import rundir

    out = tmp_path / "out"
    out.mkdir()
    orphan = subprocess.Popen([sys.executable, "-c", "import sys, time; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        with open(out / rundir.LOCK_FILE, "a+") as handle:  # held like the loader workers of a killed run held it
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            handle.write(f"pid {orphan.pid} on {socket.gethostname()} started {rundir._start_time(orphan.pid)}\n")
            handle.flush()
            with pytest.raises(FileExistsError, match=rf"in use by another training run \(pid {orphan.pid} "):
                rundir.locked(out).__enter__()  # its recorded holder is alive
            # The recorded holder is dead (its start time differs: the id could even have been reused) ...
            handle.seek(0), handle.truncate()
            handle.write(f"pid {orphan.pid} on {socket.gethostname()} started 1\n")
            handle.flush()
            with rundir.locked(out):  # ... so the lock is stale: taken over, though the old file is still held
                assert f"pid {os.getpid()} " in (out / rundir.LOCK_FILE).read_text()
    finally:
        orphan.kill()
        orphan.wait()


def test_symlinked_checkpoints_are_refused_before_training(tmp_path, tiny_data):
    out = tmp_path / "out"
    _train(data=str(tiny_data), out=str(out), epochs=1)
    (out / "last").rename(tmp_path / "elsewhere")
    os.symlink(tmp_path / "elsewhere", out / "last")
    from paddle_resnet.training import loop
    from paddle_resnet.training.config import resume_config

    with pytest.raises(FileExistsError, match=rf"{out / 'last'} is a symbolic link .* Replace the link"):
        loop.train(resume_config(str(out), epochs=2))


def test_a_run_stopped_during_its_first_checkpoint_can_start_again_in_place(tmp_path, tiny_data, monkeypatch):
    import errno
    import json

    from paddle_resnet.training import checkpoint as ckpt
    from paddle_resnet.training import loop

    real_save = ckpt.save_checkpoint

    def disk_full_on_last(directory, *args, **kwargs):
        if directory.name == "last":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(directory, *args, **kwargs)

    out = tmp_path / "out"
    monkeypatch.setattr(ckpt, "save_checkpoint", disk_full_on_last)
    with pytest.raises(OSError, match="No space left"):
        _train(data=str(tiny_data), out=str(out), epochs=1)
    monkeypatch.setattr(ckpt, "save_checkpoint", real_save)
    assert sorted(os.listdir(out)) == [".lock", "best"]  # best is written before last
    with pytest.raises(FileNotFoundError, match=rf"no resumable checkpoint in {out}: the run stopped while writing "
                                                r"its first one .* without --resume: the folder is reused"):
        ckpt.find_checkpoint(out)
    import io

    stream = io.StringIO()
    result = loop.train(_config(data=str(tiny_data), out=str(out), epochs=1), stream=stream)
    assert "held a run stopped while writing its first checkpoint" in stream.getvalue()
    assert result.history[-1]["epoch"] == 1 and json.loads((out / "last" / "trainer.json").read_text())["epoch"] == 1


def _config(**settings):
    from helpers.training import TINY

    from paddle_resnet.training import TrainConfig

    return TrainConfig(**{**TINY, **settings})


def test_a_full_disk_names_the_file_being_written(tmp_path, monkeypatch):
    import errno

    from paddle_resnet import resnet20, save_weights
    from paddle_resnet.weights import files

    def full(path, state, suffix):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("paddle_resnet.weights.loading.write_state", full)
    target = tmp_path / "w.safetensors"
    with pytest.raises(OSError, match=rf"\[Errno 28\] cannot write {target}: No space left on device"):
        save_weights(resnet20(), target)
    assert os.listdir(tmp_path) == []


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigterm_to_the_train_command_leaves_no_worker_and_a_resumable_run(tmp_path, tiny_data):
    """The subprocess version of the in-process test above: the real command, two loader workers, a real kill."""
    import json
    import signal
    import time

    from helpers import HANG_GUARD_SECONDS

    out = tmp_path / "out"
    command = [sys.executable, "-m", "paddle_resnet", "train", str(tiny_data), "--model", "resnet20", "--input-size",
               "16", "--batch-size", "4", "--epochs", "500", "--num-workers", "2", "--out", str(out)]
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + HANG_GUARD_SECONDS
    while not (out / "last" / "trainer.json").is_file() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    try:
        _, err = process.communicate(timeout=120)  # ends within seconds, not a hang
    finally:
        if process.poll() is None:  # it hung: do not leave it training for 500 epochs
            process.kill()
    assert process.returncode == 130, err

    def still_running():
        found = []
        for entry in os.listdir("/proc"):
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as file:
                    if str(out).encode() in file.read():
                        found.append(entry)
            except OSError:
                continue
        return found

    for _ in range(50):  # the workers are stopped before the command exits; allow the kernel a moment
        if not still_running():
            break
        time.sleep(0.1)
    assert not still_running()
    done = json.loads((out / "last" / "trainer.json").read_text())["epoch"]
    assert done >= 1
    resumed = subprocess.run([sys.executable, "-m", "paddle_resnet", "train", "--resume", str(out), "--epochs",
                              str(done + 1), "--num-workers", "0"], cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT},
                             capture_output=True, text=True, timeout=HANG_GUARD_SECONDS)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((out / "last" / "trainer.json").read_text())["epoch"] == done + 1
