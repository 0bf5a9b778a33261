"""Official pretrained weights: the ``paddle.vision`` ImageNet files, PaddleClas's files for the ResNet-D rows,
and downloading weights by URL.

``resnet50(pretrained=True)`` downloads the official file once through Paddle's own downloader (cached under
``~/.cache/paddle/hapi/weights``, shared with ``paddle.vision``, md5-checked, fetched again when the cached copy
is corrupt). ``resnet50_vd(pretrained=True)`` (or ``pretrained="ssld"``) downloads PaddleClas's file the same way
into ``paddleclas/`` in that cache. PaddleClas publishes no checksums, so there the first download is trusted:
its sha256 is recorded next to it, and a cached copy that no longer matches the record is fetched again (and
must then match it). Any other ``http(s)://`` weights URL is downloaded once into a folder of its own in the
cache.
"""

from __future__ import annotations

import hashlib
import os
import socket
import sys
import threading
from typing import TYPE_CHECKING, Callable, Dict, Optional, Tuple, Union

from .._files import atomic_path, atomic_write_text
from .._progress import Progress
from ..models.config import TRAINED_FIELDS
from ..models.table import ARCHITECTURES
from .._errors import PaddleResNetError

if TYPE_CHECKING:  # the table of official weights needs no Paddle (training's settings check it)
    from paddle import nn

# fmt: off
#: The official ImageNet weights of ``paddle.vision.models.resnet``: URL and md5 sum of each file (a test
#: checks that this table still equals ``paddle.vision.models.resnet.model_urls``).
OFFICIAL_WEIGHTS: Dict[str, Tuple[str, str]] = {
    "resnet18":         ("https://paddle-hapi.bj.bcebos.com/models/resnet18.pdparams",
                         "cf548f46534aa3560945be4b95cd11c4"),
    "resnet34":         ("https://paddle-hapi.bj.bcebos.com/models/resnet34.pdparams",
                         "8d2275cf8706028345f78ac0e1d31969"),
    "resnet50":         ("https://paddle-hapi.bj.bcebos.com/models/resnet50.pdparams",
                         "ca6f485ee1ab0492d38f323885b0ad80"),
    "resnet101":        ("https://paddle-hapi.bj.bcebos.com/models/resnet101.pdparams",
                         "02f35f034ca3858e1e54d4036443c92d"),
    "resnet152":        ("https://paddle-hapi.bj.bcebos.com/models/resnet152.pdparams",
                         "7ad16a2f1e7333859ff986138630fd7a"),
    "resnext50_32x4d":  ("https://paddle-hapi.bj.bcebos.com/models/resnext50_32x4d.pdparams",
                         "dc47483169be7d6f018fcbb7baf8775d"),
    "resnext50_64x4d":  ("https://paddle-hapi.bj.bcebos.com/models/resnext50_64x4d.pdparams",
                         "063d4b483e12b06388529450ad7576db"),
    "resnext101_32x4d": ("https://paddle-hapi.bj.bcebos.com/models/resnext101_32x4d.pdparams",
                         "967b090039f9de2c8d06fe994fb9095f"),
    "resnext101_64x4d": ("https://paddle-hapi.bj.bcebos.com/models/resnext101_64x4d.pdparams",
                         "98e04e7ca616a066699230d769d03008"),
    "resnext152_32x4d": ("https://paddle-hapi.bj.bcebos.com/models/resnext152_32x4d.pdparams",
                         "18ff0beee21f2efc99c4b31786107121"),
    "resnext152_64x4d": ("https://paddle-hapi.bj.bcebos.com/models/resnext152_64x4d.pdparams",
                         "77c4af00ca42c405fa7f841841959379"),
    "wide_resnet50_2":  ("https://paddle-hapi.bj.bcebos.com/models/wide_resnet50_2.pdparams",
                         "0282f804d73debdab289bd9fea3fa6dc"),
    "wide_resnet101_2": ("https://paddle-hapi.bj.bcebos.com/models/wide_resnet101_2.pdparams",
                         "d4360a2d23657f059216f5d5a1a9ac93"),
}

_PADDLECLAS = "https://paddle-imagenet-models-name.bj.bcebos.com/dygraph/legendary_models/"

#: PaddleClas's ImageNet weights of the ResNet-D rows, by ``pretrained`` variant: "imagenet" (``pretrained=True``)
#: is ``MODEL_URLS`` of ``ppcls/arch/backbone/legendary_models/resnet.py`` in PaddleClas 2.6.0 (a test compares
#: them with the installed module); "ssld" the SSLD-distilled weights PaddleClas's model zoo lists (its
#: ``use_ssld=True`` turns "_pretrained" into "_ssld_pretrained"), only for these three. No checksums published.
PADDLECLAS_WEIGHTS: Dict[str, Dict[str, str]] = {
    "resnet18_vd":  {"imagenet": _PADDLECLAS + "ResNet18_vd_pretrained.pdparams"},
    "resnet34_vd":  {"imagenet": _PADDLECLAS + "ResNet34_vd_pretrained.pdparams",
                     "ssld":     _PADDLECLAS + "ResNet34_vd_ssld_pretrained.pdparams"},
    "resnet50_vd":  {"imagenet": _PADDLECLAS + "ResNet50_vd_pretrained.pdparams",
                     "ssld":     _PADDLECLAS + "ResNet50_vd_ssld_pretrained.pdparams"},
    "resnet101_vd": {"imagenet": _PADDLECLAS + "ResNet101_vd_pretrained.pdparams",
                     "ssld":     _PADDLECLAS + "ResNet101_vd_ssld_pretrained.pdparams"},
    "resnet152_vd": {"imagenet": _PADDLECLAS + "ResNet152_vd_pretrained.pdparams"},
    "resnet200_vd": {"imagenet": _PADDLECLAS + "ResNet200_vd_pretrained.pdparams"},
}
# fmt: on

#: Values of ``pretrained`` that name other published weights of the same architecture (besides ``True``).
VARIANTS = ("ssld",)


class WeightsDownloadError(PaddleResNetError, OSError):
    """A weights file could not be downloaded (offline, unreachable, or a corrupt download)."""


def official_names(variant: Union[bool, str] = True) -> Tuple[str, ...]:
    """The architectures with official weights of ``variant`` (``True``: ImageNet; ``"ssld"``)."""
    if variant is True:
        return (*OFFICIAL_WEIGHTS, *PADDLECLAS_WEIGHTS)
    return tuple(name for name, urls in PADDLECLAS_WEIGHTS.items() if variant in urls)


def official_weights_path(name: str, variant: Union[bool, str] = True) -> str:
    """Local path of the official weights of ``name`` (``variant=True``; ``"ssld"`` for PaddleClas's distilled
    ones), downloading them into Paddle's cache if needed."""
    if variant is not True:
        if variant not in VARIANTS:
            raise ValueError(f"pretrained={variant!r}: expected True, {', '.join(map(repr, VARIANTS))}, or a path")
        with_ssld = [row for row, urls in PADDLECLAS_WEIGHTS.items() if variant in urls]
        if variant not in PADDLECLAS_WEIGHTS.get(name, {}):
            raise ValueError(f"no {variant.upper()} weights for {name!r}: PaddleClas publishes them for "
                             f"{', '.join(with_ssld)}; pretrained=True loads the ImageNet weights")
        return _paddleclas_weights_path(PADDLECLAS_WEIGHTS[name][variant])
    if name in PADDLECLAS_WEIGHTS:
        return _paddleclas_weights_path(PADDLECLAS_WEIGHTS[name]["imagenet"])
    if name not in OFFICIAL_WEIGHTS:
        raise ValueError(
            f"no official pretrained weights for {name!r}; architectures with official weights: "
            f"{', '.join(OFFICIAL_WEIGHTS)} (paddle.vision's) and {', '.join(PADDLECLAS_WEIGHTS)} (PaddleClas's). "
            "Use pretrained='path/or/url' to load another file."
        )
    from paddle.utils import download

    url, md5 = OFFICIAL_WEIGHTS[name]
    cached = os.path.join(download.WEIGHTS_HOME, _url_filename(url))
    if os.path.isfile(cached) and _md5(cached) == md5:
        return cached

    def fetch_checked() -> str:
        for _ in range(2):  # a corrupt transfer is fetched once more
            fetch(url, cached)
            if _md5(cached) == md5:
                return cached
        raise OSError(f"the downloaded file has md5 {_md5(cached)}, expected {md5}")

    return _download(fetch_checked, url, cached, md5)


def download_url(url: str) -> str:
    """Download any weights URL once into Paddle's cache, in a folder of its own (different URLs often share
    a file name such as ``model.safetensors``); return the local path."""
    from paddle.utils import download

    folder = os.path.join(download.WEIGHTS_HOME, "urls", hashlib.sha256(url.encode()).hexdigest()[:16])
    cached = os.path.join(folder, _url_filename(url))
    if os.path.isfile(cached):
        return cached
    return _download(lambda: fetch(url, cached), url, cached, None)


def _paddleclas_weights_path(url: str) -> str:
    """Download a PaddleClas file once into ``paddleclas/`` in Paddle's cache, guarding the cached copy with the
    sha256 recorded at its first download (PaddleClas publishes no checksum to check against)."""
    from paddle.utils import download

    folder = os.path.join(download.WEIGHTS_HOME, "paddleclas")
    cached = os.path.join(folder, _url_filename(url))
    record = cached + ".sha256"
    recorded = _read_record(record)
    if recorded is not None and os.path.isfile(cached):
        if _sha256(cached) == recorded:
            return cached
        os.remove(cached)  # changed since it was downloaded (a bad disk, a partial copy): fetch it again
    note = (" (PaddleClas publishes no checksum; the sha256 of the file you place there is recorded at its first "
            "use and checked at every later one)")
    path = cached if os.path.isfile(cached) else _download(lambda: fetch(url, cached), url, cached, None, note)
    digest = _sha256(path)
    if recorded is None:
        atomic_write_text(record, f"{digest}  {os.path.basename(path)}\n")
    elif digest != recorded:
        raise WeightsDownloadError(
            f"{url}: the copy downloaded now has sha256 {digest}, but the first download (recorded in {record}) "
            f"had {recorded}. PaddleClas publishes no checksum, so which one is right cannot be checked: if "
            f"PaddleClas replaced the file, delete {record} to accept the new one."
        )
    return path


def _read_record(record: str) -> Optional[str]:
    if not os.path.isfile(record):
        return None
    with open(record) as file:
        fields = file.read().split()
    return fields[0] if fields else None


def check_official(model: nn.Layer, name: str) -> None:
    """The official weights were trained for the table's architecture: refuse options that change it."""
    config, trained = getattr(model, "config", None), ARCHITECTURES[name]
    if config is None:
        return
    for field in TRAINED_FIELDS:
        if field == "first_block_projection" and not (config.first_stage_keeps_shape or
                                                      trained.first_stage_keeps_shape):
            continue  # no block it would change: the network is the one the weights were trained for
        if getattr(config, field) != getattr(trained, field):
            raise ValueError(
                f"the official {name} weights were trained with {field}={getattr(trained, field)!r}; this "
                f"model has {field}={getattr(config, field)!r}. Build it without that option, or use "
                "pretrained=False (or a weights file trained for it)."
            )


def _download(fetch_it: Callable[[], str], url: str, cached: str, md5: Union[str, None], note: str = "") -> str:
    """Run a download; turn its failures into an error that says where to put the file by hand."""
    try:
        return fetch_it()
    except OSError as error:  # urllib's URLError, socket timeouts, a disk full: all OSError
        if md5 and os.path.exists(cached):
            reason = (f"the file at {cached} has md5 {_md5(cached)}, expected {md5} (a corrupt or changed "
                      f"download), and downloading it again did not fix that ({error})")
        else:
            reason = f"could not download it ({error})"
        check = f" with md5 {md5}" if md5 else ""
        raise WeightsDownloadError(
            f"{url}: {reason}. If this machine is offline, download the file elsewhere and place it at "
            f"{cached}{check}; it will be used from there{note}."
        ) from error


#: Seconds a download may wait for the connection, and then for each next piece of data: a server that stalls
#: is given up instead of waited for for ever.
DOWNLOAD_TIMEOUT = 60
#: The most bytes a download may bring (the largest published ResNet weights are about 300 MB): a server that
#: sends no ``Content-Length``, or declares more, is not read beyond it.
MAX_DOWNLOAD_BYTES = 2 * 2 ** 30
#: The slowest average a download may keep, in bytes per second, after its first ``DOWNLOAD_TIMEOUT`` seconds:
#: a server sending a byte now and then (each read within the timeout) is given up once the file has taken
#: longer than ``DOWNLOAD_TIMEOUT + received / MIN_DOWNLOAD_RATE`` seconds, so no download lasts longer than
#: ``DOWNLOAD_TIMEOUT + size / MIN_DOWNLOAD_RATE`` (plus one read timeout). 64 KiB/s: ResNet-50's 100 MB file
#: may take 27 minutes. The environment variable ``PADDLE_RESNET_MIN_DOWNLOAD_RATE`` (bytes per second)
#: overrides it for a slower connection.
MIN_DOWNLOAD_RATE = 64 * 1024
MIN_RATE_ENV = "PADDLE_RESNET_MIN_DOWNLOAD_RATE"


def fetch(url: str, path: str, timeout: Optional[float] = None, max_bytes: Optional[int] = None,
          min_rate: Optional[float] = None) -> str:
    """Download ``url`` to ``path`` (atomically: a failed download leaves nothing there) and return ``path``.

    Bounded in time and size: ``timeout`` (default ``DOWNLOAD_TIMEOUT``) seconds for the connection and for
    each read, ``2 * timeout`` for the response's status line and headers (redirects included), an average of at
    least ``min_rate`` bytes per second of the body after its first ``timeout`` seconds
    (default ``MIN_DOWNLOAD_RATE``, or ``$PADDLE_RESNET_MIN_DOWNLOAD_RATE``), ``max_bytes`` (default
    ``MAX_DOWNLOAD_BYTES``) at most, and exactly the ``Content-Length`` the server declares when it declares
    one. Raises ``OSError`` (``WeightsDownloadError`` for a bound) otherwise.
    """
    import urllib.request

    timeout = DOWNLOAD_TIMEOUT if timeout is None else timeout
    limit = MAX_DOWNLOAD_BYTES if max_bytes is None else max_bytes
    min_rate = _min_download_rate() if min_rate is None else min_rate
    request = urllib.request.Request(url, headers={"User-Agent": "paddle_resnet"})
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)  # where the error says to put the file by hand
    with _open(request, timeout) as response:
        declared = response.headers.get("Content-Length")
        if declared is not None:
            if not declared.strip().isdigit() or int(declared) > limit:
                raise WeightsDownloadError(f"{url}: the server declares {declared[:40]} bytes; accepted: at most "
                                           f"{limit} (MAX_DOWNLOAD_BYTES)")
            limit = int(declared)
        progress = Progress(f"downloading {_url_filename(url)}", limit if declared else 0, stream=sys.stderr,
                            counter=_mebibytes)
        received = 0
        try:
            with atomic_path(path) as temporary, open(temporary, "wb") as file:
                while True:
                    # read1: whatever one read of the socket brings (read() would wait for the whole MiB, a
                    # byte at a time from a trickling server); each read waits at most `timeout` seconds.
                    chunk = response.read1(1 << 20)
                    if not chunk:
                        break
                    received += len(chunk)
                    now = progress.clock()
                    elapsed = now - progress.start
                    if elapsed > timeout + received / min_rate:
                        raise WeightsDownloadError(
                            f"{url}: {received} bytes received in {elapsed:.1f} s, slower than the accepted "
                            f"minimum average of {min_rate:g} bytes/s after the first {timeout:g} s "
                            f"(MIN_DOWNLOAD_RATE; set {MIN_RATE_ENV} for a slower connection)")
                    if received > limit:
                        raise WeightsDownloadError(
                            f"{url}: more than {limit} bytes " + ("(its declared Content-Length)" if declared else
                                                                  "(MAX_DOWNLOAD_BYTES; the server declares no size)"))
                    file.write(chunk)
                    rate = received / 2 ** 20 / max(elapsed, 1e-9)
                    progress.update(received, f"{rate:.1f} MiB/s", now=now)
                if declared is not None and received != limit:
                    raise WeightsDownloadError(f"{url}: the connection closed after {received} of the {limit} "
                                               "bytes declared")
        except BaseException:
            progress.close(" (failed)")
            raise
        progress.close()
    return path


def _open(request, timeout: float):
    """``urlopen(request, timeout=timeout)``, given up when the status line and headers (of every redirect) have
    not all arrived ``2 * timeout`` seconds after the start: Python's ``http.client`` reads them with a timeout
    per read only, so a server could trickle them, or send ``100 Continue`` responses, for ever."""
    import urllib.request

    watchdog = _Watchdog(2 * timeout)

    def watched(handler):
        class Watched(handler):
            def do_open(self, http_class, req, **kwargs):
                class Connection(http_class):
                    def connect(self):
                        super().connect()
                        watchdog.watch(self.sock)

                return super().do_open(Connection, req, **kwargs)

        return Watched()

    handlers = [watched(urllib.request.HTTPHandler)]
    if hasattr(urllib.request, "HTTPSHandler"):  # absent when Python has no ssl module
        handlers.append(watched(urllib.request.HTTPSHandler))
    try:
        response = urllib.request.build_opener(*handlers).open(request, timeout=timeout)
    except Exception as error:
        if watchdog.stop():
            raise WeightsDownloadError(f"{request.full_url}: no complete response (status line and headers) "
                                       f"within {2 * timeout:g} s (twice DOWNLOAD_TIMEOUT)") from error
        raise
    if watchdog.stop():  # it fired just as the headers came: the connection is shut
        response.close()
        raise WeightsDownloadError(f"{request.full_url}: no complete response (status line and headers) within "
                                   f"{2 * timeout:g} s (twice DOWNLOAD_TIMEOUT)")
    return response


class _Watchdog:
    """Shuts down the sockets it watches ``seconds`` after it starts, unless stopped first: a read blocked on
    them then returns at once."""

    def __init__(self, seconds: float):
        self.sockets: list = []
        self.fired = self.stopped = False
        self.lock = threading.Lock()
        self.timer = threading.Timer(seconds, self._fire)
        self.timer.daemon = True
        self.timer.start()

    def watch(self, sock) -> None:
        with self.lock:
            self.sockets.append(sock)
            if self.fired:
                self._shut(sock)

    def stop(self) -> bool:
        """Stop watching; whether it had fired."""
        with self.lock:
            self.stopped = True
            self.timer.cancel()
            return self.fired

    def _fire(self) -> None:
        with self.lock:
            if self.stopped:
                return
            self.fired = True
            for sock in self.sockets:
                self._shut(sock)

    @staticmethod
    def _shut(sock) -> None:
        try:  # the plain socket's shutdown, also under TLS: the blocked read sees the end, the TLS state is not touched
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass  # already closed


def _min_download_rate() -> float:
    """``MIN_DOWNLOAD_RATE``, or the positive number of bytes per second in ``$PADDLE_RESNET_MIN_DOWNLOAD_RATE``."""
    setting = os.environ.get(MIN_RATE_ENV, "").strip()
    if not setting:
        return MIN_DOWNLOAD_RATE
    try:
        rate = float(setting)
    except ValueError:
        rate = float("nan")
    if not 0 < rate < float("inf"):
        raise ValueError(f"{MIN_RATE_ENV}={setting[:40]!r}: expected a positive number of bytes per second "
                         f"(default {MIN_DOWNLOAD_RATE})")
    return rate


def _mebibytes(done: int, total: int) -> str:
    return f"{done / 2 ** 20:.1f}/{total / 2 ** 20:.1f} MiB" if total else f"{done / 2 ** 20:.1f} MiB"


def _url_filename(url: str) -> str:
    return os.path.split(url)[-1]  # the name Paddle's downloader gives the cached file


def _md5(path: str) -> str:
    return _file_digest(path, hashlib.md5())


def _sha256(path: str) -> str:
    return _file_digest(path, hashlib.sha256())


def _file_digest(path: str, digest) -> str:
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
