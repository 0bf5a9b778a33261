"""Progress where people look: a bar on a terminal, plain lines at a steady interval in notebooks and logs.

Time is a fake clock here (no wall-clock limits): each test says which readings the progress sees.
"""

from __future__ import annotations

import functools
import http.server
import io
import re
import threading

import pytest
from helpers.images import make_image_folder

from paddle_resnet import _progress
from paddle_resnet._progress import Progress
from paddle_resnet.training import TrainConfig, train
from paddle_resnet.training import report as training_report


class Terminal(io.StringIO):
    def isatty(self):
        return True


def clock(*readings):
    return iter(readings).__next__


def test_in_a_log_a_plain_line_comes_every_interval_with_the_time_left():
    log = io.StringIO()
    # Readings: start 0; updates at 5, 21, 30, 45 and 50 (the last one finishes the task).
    progress = Progress("epoch 2/3", 10, stream=log, log_interval=20, clock=clock(0, 5, 21, 30, 45, 50))
    for done in (1, 4, 5, 8, 10):
        progress.update(done, f"loss {1 / done:.4f}")
    progress.close(" | val acc 50.0%")
    assert log.getvalue().splitlines() == [
        "epoch 2/3 4/10 loss 0.2500, 0:00:32 left",  # 21 s for 4 steps: 6 more take 31.5 s
        "epoch 2/3 8/10 loss 0.1250, 0:00:11 left",  # 20 s after the last line; 45 s for 8: 2 more take 11.25 s
        "epoch 2/3 [####################] 10/10 loss 0.1000 | val acc 50.0%",
    ]
    assert "\r" not in log.getvalue()


def test_on_a_terminal_the_bar_is_redrawn_in_place():
    screen = Terminal()
    progress = Progress("downloading w.pdparams", 4, stream=screen, clock=clock(0, 0.1, 0.3, 0.35, 0.4))
    for done in (1, 2, 3, 4):
        progress.update(done)
    progress.close()
    # 0.1 s: too soon (redraws at most every 0.2 s); 0.3 s: drawn; 0.35 s: too soon; 0.4 s: finished, drawn.
    assert screen.getvalue() == ("\rdownloading w.pdparams [##########..........] 2/4"
                                 "\rdownloading w.pdparams [####################] 4/4"
                                 "\rdownloading w.pdparams [####################] 4/4\n")


def test_training_in_a_notebook_prints_progress_before_the_epoch_ends(tmp_path, monkeypatch):
    """stdout of a notebook or a log is not a terminal: the epoch must not stay silent until it ends."""
    monkeypatch.setattr(_progress, "LOG_INTERVAL", 0.0)  # a line at every step (by default, every 20 s)
    data = make_image_folder(tmp_path / "data", per_class=4, size=16)
    log = io.StringIO()
    train(TrainConfig(data=str(data), model="resnet20", input_size=16, batch_size=3, epochs=2, num_workers=0,
                      val_split=0.25, out=str(tmp_path / "out")), stream=log)
    lines = log.getvalue().splitlines()
    # 9 training images in batches of 3: steps 1 and 2 get a line with the time left, step 3 ends the epoch.
    for epoch in (1, 2):
        steps = [line for line in lines if line.startswith(f"epoch {epoch}/2 ") and " left" in line]
        assert [line.split()[2] for line in steps] == ["1/3", "2/3"], lines
        assert all(re.search(r"loss \d+\.\d{4} acc \d+\.\d% \d+\.\d img/s, \d:\d\d:\d\d left$", s) for s in steps)
        assert sum(line.startswith(f"epoch {epoch}/2 [####################] 3/3") for line in lines) == 1
    assert "\r" not in log.getvalue()


def test_training_progress_keeps_its_own_line_format(monkeypatch):
    log = io.StringIO()
    progress = training_report.Progress(1, 5, 4, stream=log, log_interval=10, clock=clock(0, 12, 20))
    progress.update(2, loss=0.5, accuracy=0.25, images=24)  # 24 images in 12 s
    progress.update(4, loss=0.25, accuracy=0.5, images=48)
    progress.close(" | val loss 0.3000 acc 75.0%")
    assert log.getvalue().splitlines() == [
        "epoch 1/5 2/4 loss 0.5000 acc 25.0% 2.0 img/s, 0:00:12 left",
        "epoch 1/5 [####################] 4/4 loss 0.2500 acc 50.0% 2.4 img/s | val loss 0.3000 acc 75.0%"]


@pytest.fixture
def weights_server(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp_path/served (no internet needed)."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join()


def test_a_download_reports_its_progress_in_plain_lines(weights_server, tmp_path, monkeypatch, capsys):
    from paddle.utils import download

    from paddle_resnet import create_model, save_weights
    from paddle_resnet.weights.official import download_url

    served, url = weights_server
    save_weights(create_model("resnet20"), served / "w.safetensors")  # about 1 MiB
    monkeypatch.setattr(download, "WEIGHTS_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(_progress, "LOG_INTERVAL", 0.0)
    original = download.tqdm
    path = download_url(f"{url}/w.safetensors")
    assert open(path, "rb").read() == (served / "w.safetensors").read_bytes()
    assert download.tqdm is original, "Paddle's downloader is left as it was"
    err = capsys.readouterr().err
    size = (served / "w.safetensors").stat().st_size
    total = f"{size / 2 ** 20:.1f}"
    plain = [line for line in err.splitlines() if line.endswith(" left")]
    assert plain and all(line.startswith("downloading w.safetensors ") and f"/{total} MiB " in line for line in plain)
    assert err.splitlines()[-1].startswith(f"downloading w.safetensors [####################] {total}/{total} MiB ")
