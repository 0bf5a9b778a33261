"""Atomic writes: an interrupted write leaves the previous file or directory as it was, a killed one leaves
nothing for ever, and writing follows symlinks and keeps permissions."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from paddle_resnet._files import atomic_dir, atomic_path, atomic_write_text, recover, remove_leftovers

ROOT = Path(__file__).resolve().parents[1]


def test_atomic_writes_leave_the_old_file_when_interrupted(tmp_path):
    target = atomic_write_text(tmp_path / "report.txt", "old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["report.txt"]

    folder = tmp_path / "ckpt"
    with atomic_dir(folder) as tmp:
        (tmp / "a").write_text("1")
    with pytest.raises(RuntimeError):
        with atomic_dir(folder) as tmp:
            (tmp / "a").write_text("2")
            raise RuntimeError("crash")
    assert (folder / "a").read_text() == "1" and sorted(p.name for p in tmp_path.iterdir()) == ["ckpt", "report.txt"]


def _age(path, seconds=3600):
    """Pretend ``path`` was last written ``seconds`` ago (leftovers younger than a few seconds are kept)."""
    stamp = time.time() - seconds
    os.utime(path, (stamp, stamp))


def test_a_killed_writer_leaves_temporaries_that_the_next_write_removes(tmp_path):
    """kill -9 in the middle of a save: the half-written temporary stays behind (nothing can remove it at that
    moment); the next save of the same file, or recover() for a directory, removes it."""
    script = ("import sys, time; from paddle_resnet._files import atomic_path, atomic_dir\n"
              "with atomic_path(sys.argv[1]) as tmp, atomic_dir(sys.argv[2]) as folder:\n"
              "    tmp.write_bytes(b'x' * 1000); (folder / 'model').write_bytes(b'y' * 1000)\n"
              "    print('writing', flush=True); time.sleep(60)\n")
    writer = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "w.bin"), str(tmp_path / "last")],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert writer.stdout.readline() == "writing\n"
        leftovers = sorted(p.name for p in tmp_path.iterdir())
        assert len(leftovers) == 2 and leftovers[0].startswith(".last.tmp-") and leftovers[1].startswith(".w.bin.")
        assert remove_leftovers(tmp_path / "w.bin") == []  # a running writer holds its lock: kept, even when old
        _age(tmp_path / leftovers[1])
        assert remove_leftovers(tmp_path / "w.bin") == []
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    for name in leftovers:
        _age(tmp_path / name)
    foreign = [tmp_path / ".w.bin.notours.tmp", tmp_path / ".last.tmp-mine"]  # similar names, not our pattern
    for path in foreign:
        path.write_text("keep")
        _age(path)
    atomic_write_text(tmp_path / "w.bin", "new")
    recover(tmp_path / "last")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([".last.tmp-mine", ".w.bin.notours.tmp", "w.bin"])


def test_a_fresh_unlocked_temporary_is_kept(tmp_path):
    """Between creating its temporary file and locking it, a writer holds no lock: a young file is left alone."""
    fresh = tmp_path / ".w.bin.abcd1234.tmp"
    fresh.write_text("just created")
    assert remove_leftovers(tmp_path / "w.bin") == [] and fresh.exists()
    _age(fresh)
    assert remove_leftovers(tmp_path / "w.bin") == [fresh] and not fresh.exists()


def test_writing_through_a_symlink_replaces_its_target_and_keeps_permissions(tmp_path):
    target = atomic_write_text(tmp_path / "real.txt", "old")
    os.chmod(target, 0o600)
    link = tmp_path / "link.txt"
    link.symlink_to("real.txt")
    atomic_write_text(link, "new")
    assert link.is_symlink() and target.read_text() == "new" and stat.S_IMODE(target.stat().st_mode) == 0o600
    fresh = atomic_write_text(tmp_path / "fresh.txt", "x")  # a new file gets the mode open() would give it
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask


def test_a_directory_in_the_way_is_refused_before_writing(tmp_path):
    (tmp_path / "out.txt").mkdir()
    with pytest.raises(IsADirectoryError, match="out.txt is a directory"):
        with atomic_path(tmp_path / "out.txt"):
            pytest.fail("the block ran")
    (tmp_path / "ckpt").write_text("a file")
    with pytest.raises(NotADirectoryError, match="ckpt is a file"):
        with atomic_dir(tmp_path / "ckpt"):
            pytest.fail("the block ran")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt", "out.txt"]


def test_an_unwritable_folder_is_named_not_the_temporary_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"cannot write {tmp_path / 'missing' / 'r.txt'}") as error:
        atomic_write_text(tmp_path / "missing" / "r.txt", "x")
    assert ".tmp" not in str(error.value)
