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
            assert pickle_safe.scan(file, path.stat().st_size) > 5


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
