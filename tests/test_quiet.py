"""Quiet by default: Paddle's notes are silenced around our own calls only, and real warnings still show.

Paddle prints some of its notes once per process, so those checks run in a fresh interpreter each, with a
control that shows the note does appear there without us (otherwise the check could not fail).
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings

import paddle
import pytest
from helpers import run_python
from helpers.images import make_image_folder

import paddle_resnet
from paddle_resnet import _quiet, create_model, resnet20, save_weights
from paddle_resnet.training import TrainConfig, train
from paddle_resnet.weights import WeightsWarning


def _run(code: str, env=None) -> str:
    """Standard error of ``python -c code`` in a fresh interpreter."""
    return run_python(code, env).stderr


def _default_logging() -> dict:
    """This environment without the variables that set Paddle's C++ logging (``GLOG_minloglevel=2`` and the
    like, which a user may export to quiet Paddle): the notes are checked against Paddle's default logging."""
    return {name: value for name, value in os.environ.items() if not name.startswith("GLOG_")}


@pytest.mark.slow  # two fresh interpreters; fast sibling: test_the_ccache_note_is_filtered_where_paddle_warns_it
def test_importing_paddle_through_us_shows_no_ccache_note():
    control = _run("import paddle")
    if "No ccache found" not in control:
        pytest.skip("this Paddle does not warn about ccache here (ccache installed, or Paddle 2.6)")
    assert "No ccache found" not in _run("import paddle_resnet; paddle_resnet.resnet18()")
    assert "No ccache found" not in _run("from paddle_resnet.cli import main; main(['summary', 'resnet20'])")


def test_the_ccache_note_is_filtered_where_paddle_warns_it():
    """In process (Paddle is imported already): importing paddle_resnet installed the filter for exactly the
    note of ``paddle.utils.cpp_extension``; another module's warning of the same text is kept."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        importlib.reload(paddle_resnet)  # installs the filter again, in front of "always"
        for module in ("paddle.utils.cpp_extension.extension_utils", "mine"):
            warnings.warn_explicit("No ccache found. Please be aware ...", UserWarning, "x.py", 1, module=module)
    assert [w.message.args[0][:15] for w in caught] == ["No ccache found"]


@pytest.mark.slow  # two fresh interpreters; fast sibling: test_native_notes_are_dropped_and_every_other_line_kept
def test_exporting_shows_none_of_paddles_log_notes():
    save = ("import tempfile, os; from paddle_resnet import create_model; "
            "from paddle_resnet.deploy.export import save_program; m = create_model('resnet20'); m.eval(); "
            "save_program(m, os.path.join(tempfile.mkdtemp(), 'm'), (3, 32, 32))")
    # Paddle's default logging, whatever GLOG_* variables the user exported (GLOG_minloglevel=2 hides the notes,
    # so the control below could not show them).
    env = _default_logging()
    control = _run(save, env)
    notes = [note for note in _quiet.NATIVE_NOTES if note in control]
    if not notes:
        pytest.skip("this Paddle printed none of the notes this test expects while exporting, even with its "
                    f"default logging (a version whose notes are not in _quiet.NATIVE_NOTES?): {control[-500:]!r}")
    exported = _run("import tempfile, os; from paddle_resnet import create_model, export; "
                    "export(create_model('resnet20'), os.path.join(tempfile.mkdtemp(), 'm'), (3, 32, 32))", env)
    assert not [note for note in notes if note in exported], exported


def test_native_notes_are_dropped_and_every_other_line_kept(capfd):
    with _quiet.native_notes_silenced(["New Executor is Running"]):
        os.write(2, b"I1123 program_interpreter.cc:212] New Executor is Running.\n")
        os.write(2, b"W1123 something.cc:1] a real problem\n")
        os.write(2, b"a second line")
    os.write(2, b"\nafter the block\n")
    assert capfd.readouterr().err.splitlines() == ["W1123 something.cc:1] a real problem", "a second line",
                                                   "after the block"]
    with pytest.raises(RuntimeError), _quiet.native_notes_silenced():
        os.write(2, b"said before the failure\n")
        raise RuntimeError("the block fails")
    assert capfd.readouterr().err == "said before the failure\n"


def test_training_hides_the_batchnorm_note_but_a_users_own_forward_still_shows_it(tmp_path):
    data = make_image_folder(tmp_path / "data", per_class=3, size=16)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # pytest's configuration ignores the note: undo that here
        train(TrainConfig(data=str(data), model="resnet20", input_size=16, batch_size=4, epochs=1, num_workers=0,
                          val_split=0.0, out=str(tmp_path / "out")), stream=open(os.devnull, "w"))
        assert not [w for w in caught if _quiet.BATCHNORM_NOTE in str(w.message)]
        model = create_model("resnet20")
        model.train()
        model(paddle.zeros([2, 3, 16, 16]))
    assert [w for w in caught if _quiet.BATCHNORM_NOTE in str(w.message)], "outside our calls it is not hidden"


def test_weights_warning_through_a_builder_points_at_the_callers_line(tmp_path):
    path = tmp_path / "three_classes.pdparams"
    save_weights(create_model("resnet20", num_classes=3), path)
    with pytest.warns(WeightsWarning, match=r"fc\.weight \(weights \[64, 3\], model \[64, 10\]\)") as caught:
        resnet20(pretrained=str(path)); line = sys._getframe().f_lineno  # noqa: E702  the call's own line
    assert (caught[0].filename, caught[0].lineno) == (__file__, line)


def test_a_failing_download_shows_our_error_not_paddles_log_lines(tmp_path, monkeypatch, caplog):
    """Paddle 2.6 prints its downloader's INFO lines ("[INFO] download.py: Downloading ..."): the logger at INFO
    here stands for that. Without retries Paddle gives up at once (no network is touched)."""
    import logging

    from paddle.utils import download
    from paddle_resnet.weights import official
    from paddle_resnet.weights.official import WeightsDownloadError

    monkeypatch.setattr(download, "WEIGHTS_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(download, "DOWNLOAD_RETRY_LIMIT", 0)
    monkeypatch.setitem(official.OFFICIAL_WEIGHTS, "resnet20", ("http://127.0.0.1:9/resnet20.pdparams", "0" * 32))
    caplog.set_level(logging.INFO, logger=_quiet.DOWNLOAD_LOGGER)
    with pytest.raises(RuntimeError):  # the control: Paddle's downloader alone logs its steps
        download.get_weights_path_from_url(official.OFFICIAL_WEIGHTS["resnet20"][0], "0" * 32)
    assert any(record.name == _quiet.DOWNLOAD_LOGGER for record in caplog.records)
    caplog.clear()
    with pytest.raises(WeightsDownloadError, match="place it at"):
        resnet20(pretrained=True)
    assert not [record.getMessage() for record in caplog.records if record.name == _quiet.DOWNLOAD_LOGGER]
    assert logging.getLogger(_quiet.DOWNLOAD_LOGGER).level == logging.INFO  # put back
