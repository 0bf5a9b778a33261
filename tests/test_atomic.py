"""Atomic writes: an interrupted write leaves the previous file or directory as it was."""

from __future__ import annotations

import pytest

from paddle_resnet._files import atomic_dir, atomic_path, atomic_write_text


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
