"""The examples in the docstrings, the README and docs/ run and show what they say, and the generated parts of
the docs match the code they are generated from.

Markdown examples: every ```` ```python ```` block of a file runs, in order, in one namespace, in a temporary
folder (so a later block may use what an earlier one made). A block preceded by
``<!-- example: skip, <reason> -->`` is not run; the reason is required. The official-weights download is
replaced by a local file (this test needs no network); everything else runs for real. Each file may have a
fixture below that makes what its prose says the reader already has (an image batch, a finished run).
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import numpy as np
import paddle
import pytest

import paddle_resnet
from paddle_resnet.models.config import OPTIONS, describe_fields

ROOT = Path(__file__).resolve().parents[1]
MARKDOWN = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]
SKIP = re.compile(r"<!-- example: skip, (.+?) -->\s*$")


def _modules_with_examples():
    names = ["paddle_resnet"] + [info.name for info in pkgutil.walk_packages(paddle_resnet.__path__, "paddle_resnet.")
                                 if not info.name.endswith("__main__")]
    return sorted(name for name in names
                  if any(test.examples for test in doctest.DocTestFinder().find(importlib.import_module(name))))


MODULES = _modules_with_examples()


def test_the_docstring_examples_cover_the_main_modules():
    """Guards the collection above: a refactor that loses the examples would otherwise pass silently."""
    for name in ("paddle_resnet", "paddle_resnet.models.network", "paddle_resnet.builders",
                 "paddle_resnet.analysis.summary", "paddle_resnet.verification.verify"):
        assert name in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def python_blocks(text: str):
    """``(line, code, skip reason or None)`` for every ```` ```python ```` block of a markdown text."""
    blocks = []
    for match in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M):
        before = text[:match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        skip = SKIP.match(before.strip())
        blocks.append((text[:match.start()].count("\n") + 1, match.group(1), skip.group(1) if skip else None))
    return blocks


def _images(batch=1, size=224):
    return np.random.RandomState(0).rand(batch, 3, size, size).astype("float32")


def _readme(tmp_path):
    return {"images": _images()}


def _performance(tmp_path):
    return {"images": _images()}


def _weights(tmp_path):
    from paddle_resnet import resnet50, save_weights

    save_weights(resnet50(num_classes=2), tmp_path / "weights.safetensors")
    save_weights(resnet50(), tmp_path / "weights.pdparams")  # a 1000-class head: loads only with strict=False
    return {"images": _images()}


def _training(tmp_path):
    """A finished run in runs/cats, made the way the page describes (a tiny one: resnet20, 1 epoch)."""
    from helpers.images import make_image_folder
    from paddle_resnet.training import TrainConfig, train

    data = make_image_folder(tmp_path / "cats_vs_dogs" / "train", per_class=4, size=16, classes=("horizontal",
                                                                                                 "vertical"))
    train(TrainConfig(data=str(data), model="resnet20", epochs=1, warmup_epochs=0, batch_size=4, input_size=16,
                      num_workers=0, out=str(tmp_path / "runs" / "cats")), stream=open(tmp_path / "log", "w"))
    return {}


FIXTURES = {"README.md": _readme, "docs/performance.md": _performance, "docs/weights.md": _weights,
            "docs/training.md": _training}


@pytest.fixture
def local_official_weights(monkeypatch, tmp_path_factory):
    """``pretrained=True`` reads a file written from paddle.vision's model of that architecture (random weights,
    official naming) instead of downloading the ImageNet file; for PaddleClas's rows (``pretrained=True`` or
    ``"ssld"``), a file written from our own model of that row."""
    from paddle.vision.models import resnet as vision

    folder = tmp_path_factory.mktemp("official")

    def local(name, variant=True):
        path = folder / f"{name}-{variant}.pdparams"
        if not path.exists():
            model = getattr(vision, name)() if hasattr(vision, name) else paddle_resnet.create_model(name)
            paddle.save(model.state_dict(), str(path))
        return str(path)

    monkeypatch.setattr("paddle_resnet.weights.loading.official_weights_path", local)


@pytest.mark.parametrize("document", MARKDOWN)
def test_markdown_python_examples_run(document, tmp_path, monkeypatch, local_official_weights):
    blocks = python_blocks((ROOT / document).read_text())
    runnable = [(line, code) for line, code, skip in blocks if skip is None]
    if not runnable:
        pytest.skip(f"{document} has no Python examples to run")
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__example__"}
    namespace.update(FIXTURES.get(document, lambda path: {})(tmp_path))
    for line, code in runnable:
        try:
            exec(compile(code, f"{document}:{line}", "exec"), namespace)
        except Exception as error:  # noqa: BLE001  the failing example and why
            pytest.fail(f"the example at {document}:{line} fails: {type(error).__name__}: {error}")


def test_skipped_examples_say_why():
    for document in MARKDOWN:
        for line, _, skip in python_blocks((ROOT / document).read_text()):
            assert skip is None or len(skip) > 15, f"{document}:{line}: give a reason for skipping the example"


def test_the_docs_list_the_builder_options_the_code_accepts():
    """The options are described once (ResNetConfig's field metadata); the README and docs/architecture.md show
    the table generated from it, so an option added or renamed in code fails here until the docs follow."""
    table = options_table()
    for document in ("README.md", "docs/architecture.md"):
        text = (ROOT / document).read_text()
        assert table in text, f"{document}: paste the options table generated by tests/test_docs.py:\n{table}"


def options_table() -> str:
    """The markdown table of builder options, generated from ``ResNetConfig``'s metadata."""
    rows = ["| option | default | what it does |", "|---|---|---|"]
    for name, info in describe_fields(OPTIONS).items():
        rows.append(f"| `{name}` | `{info['default']!r}` | {info['help']} |")
    return "\n".join(rows)


def test_every_public_function_has_a_docstring():
    for name in paddle_resnet.__all__:
        member = getattr(paddle_resnet, name)
        if inspect.isfunction(member) or inspect.isclass(member):
            assert inspect.getdoc(member), name
