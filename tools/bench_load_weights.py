"""How long loading a ResNet-152 state dict takes with this checkout's code and with an earlier commit's.

    python tools/bench_load_weights.py                        # vs d4c6abc (before the restricted unpickler)
    python tools/bench_load_weights.py --base main --rounds 5

Not a test (timings depend on the machine and its load): run it on a quiet machine. It writes the state dict of
a randomly initialised ResNet-152 (230 MB, 777 tensors) with ``paddle.save`` and as safetensors into a temporary
folder, extracts the base commit's ``paddle_resnet`` with ``git archive``, and then, in alternating fresh
processes (same files, warm page cache), times for each checkout the median of several

* ``read``: ``weights.files.read_state(path)``, the file into numpy arrays (``paddle.load`` before);
* ``load_weights``: the whole ``load_weights(model, path)``, checks and copy into the model included.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import PIL.Image  # Paddle 2.6 wants Pillow first
import paddle
from paddle_resnet import create_model, load_weights
from paddle_resnet.weights.files import read_state
path, loads = sys.argv[1], int(sys.argv[2])
model = create_model(sys.argv[3])
results = {}
for name, run in (("read", lambda: read_state(path)), ("load_weights", lambda: load_weights(model, path))):
    run()  # warm-up
    times = []
    for _ in range(loads):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    results[name] = sorted(times)[len(times) // 2]
print(json.dumps(results))
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="d4c6abcc9aa820054beefdecfb191326c552c8a3", help="commit to compare with")
    parser.add_argument("--model", default="resnet152")
    parser.add_argument("--rounds", type=int, default=3, help="fresh processes per checkout (alternating)")
    parser.add_argument("--loads", type=int, default=5, help="timed loads per process")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        base = folder / "base"
        base.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.base, "paddle_resnet"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
        files = _write_weights(folder, args.model)
        checkouts = {"before": base, "after": ROOT}
        print(f"{args.model}, {os.path.getsize(files[0]) / 2**20:.0f} MB; before = {args.base[:10]}, after = "
              f"this checkout; median of {args.loads} loads x {args.rounds} processes each, seconds")
        for path in files:
            samples = {name: {"read": [], "load_weights": []} for name in checkouts}
            for round_ in range(args.rounds):
                order = list(checkouts) if round_ % 2 == 0 else list(checkouts)[::-1]
                for name in order:
                    result = _child(checkouts[name], path, args)
                    for key, value in result.items():
                        samples[name][key].append(value)
            for key in ("read", "load_weights"):
                before = statistics.median(samples["before"][key])
                after = statistics.median(samples["after"][key])
                print(f"  {path.suffix:12s} {key:13s} before {before:.4f}  after {after:.4f}  "
                      f"after/before {after / before:.3f}")
    return 0


def _write_weights(folder: Path, model_name: str):
    code = ("import sys, PIL.Image, paddle\nfrom paddle_resnet import create_model, save_weights\n"
            f"model = create_model({model_name!r})\npaddle.save(model.state_dict(), sys.argv[1])\n"
            "save_weights(model, sys.argv[2])\n")
    files = [folder / "weights.pdparams", folder / "weights.safetensors"]
    subprocess.run([sys.executable, "-c", code, *map(str, files)], check=True, cwd=ROOT,
                   env=dict(os.environ, PYTHONPATH=str(ROOT)), stderr=subprocess.DEVNULL)
    return files


def _child(root: Path, path: Path, args) -> dict:
    completed = subprocess.run([sys.executable, "-c", _CHILD, str(path), str(args.loads), args.model], cwd=root,
                               env=dict(os.environ, PYTHONPATH=str(root)), capture_output=True, text=True, check=True)
    return json.loads(completed.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    sys.exit(main())
