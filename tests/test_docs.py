"""The examples in the docstrings, the README and docs/ run and show what they say, and the generated parts of
the docs match the code they are generated from.

Markdown examples: every ```` ```python ```` and ```` ```bash ```` block of a file runs, in document order, in a
temporary folder (so a later block may use what an earlier one made); the Python blocks share one namespace.
Each line of a bash block is a command of this package (``python scripts/<command>.py ...``,
``python -m paddle_resnet ...`` or ``paddle-resnet ...``), run as written through the command line's ``main``
in this process, and must exit with 0 (or with N when its comment starts ``# exits N``). A Python block whose first
line is a file name (``# mypackage/models.py``) is also written to that file, so that commands can import it.
A block preceded by ``<!-- example: skip, <reason> -->`` is not run;
the reason is required (network, GPUs, several processes, minutes of measuring). The official-weights download
is replaced by a local file (this test needs no network); everything else runs for real. Each file may have a
fixture below that makes what its prose says the reader already has (an image batch, an image folder, weights).
"""

from __future__ import annotations

import ast
import doctest
import importlib
import inspect
import pkgutil
import re
import shlex
from pathlib import Path
from typing import List, NamedTuple, Optional, Tuple

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


#: Docstring examples that build and check whole ResNets (seconds each): end-to-end, so slow; the functions they show
#: have fast tests of their own (test_golden, test_structure, test_diff, test_core, test_summary).
SLOW_EXAMPLES = {"paddle_resnet.verification.verify", "paddle_resnet.verification.structure",
                 "paddle_resnet.verification.diff", "paddle_resnet.models.network", "paddle_resnet.analysis.counting"}


@pytest.mark.parametrize("name", [pytest.param(name, marks=pytest.mark.slow) if name in SLOW_EXAMPLES else name
                                  for name in MODULES])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


class Example(NamedTuple):
    line: int  # where the block starts
    kind: str  # "python" or "bash"
    code: str
    skip: Optional[str]  # the reason it is not run, or None


def examples(text: str) -> List[Example]:
    """Every ```` ```python ```` and ```` ```bash ```` block of a markdown text, in order (indented ones, inside a
    list item, too)."""
    found = []
    for match in re.finditer(r"^(?P<indent> *)```(?P<kind>python|bash)\n(?P<code>.*?)^(?P=indent)```", text,
                             re.S | re.M):
        before = text[:match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        skip = SKIP.match(before.strip())
        indent = len(match.group("indent"))
        code = "".join(line[indent:] for line in match.group("code").splitlines(keepends=True))
        found.append(Example(text[:match.start()].count("\n") + 1, match.group("kind"), code,
                             skip.group(1) if skip else None))
    return found


def python_blocks(text: str):
    """``(line, code, skip reason or None)`` for every ```` ```python ```` block of a markdown text."""
    return [(e.line, e.code, e.skip) for e in examples(text) if e.kind == "python"]


#: A Python block that starts with ``# path/to/module.py`` shows that file: it is written there, then run.
FILE_BLOCK = re.compile(r"# ([\w/]+\.py)\n")

#: A command's comment that starts with "exits N" says the exit status it must have (0 otherwise): a ``diff`` that
#: finds a difference exits 1 by design.
EXPECTED_EXIT = re.compile(r"#\s*exits (\d+)\b")


def bash_commands(code: str) -> List[List[str]]:
    """The words of each command of a bash block: continued lines joined, comments and empty lines dropped."""
    return [words for words, _ in bash_commands_and_exits(code)]


def bash_commands_and_exits(code: str) -> List[Tuple[List[str], int]]:
    """``(words, expected exit status)`` of each command of a bash block (see ``EXPECTED_EXIT``)."""
    commands = []
    for line in code.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if words:
            expected = EXPECTED_EXIT.search(line)
            commands.append((words, int(expected.group(1)) if expected else 0))
    return commands


def cli_arguments(words: List[str]) -> Optional[List[str]]:
    """The ``paddle_resnet.cli.main`` arguments of a command of this package, or None for any other command."""
    script = re.fullmatch(r"scripts/(\w+)\.py", words[1]) if len(words) > 1 and words[0] == "python" else None
    if script:
        return [script.group(1), *words[2:]]
    if words[:3] == ["python", "-m", "paddle_resnet"]:
        return words[3:]
    return words[1:] if words[0] == "paddle-resnet" else None


def test_bash_commands_are_read_as_a_shell_reads_them():
    block = ("python scripts/train.py DATA --model resnet18 \\\n    --epochs 2   # a comment\n\n"
             "python -m paddle_resnet predict runs/x 'photos/*.jpg'\npip install .\n"
             "python -m paddle_resnet diff a b   # exits 1: they differ\n")
    commands = bash_commands_and_exits(block)
    assert [(cli_arguments(words), expected) for words, expected in commands] == [
        (["train", "DATA", "--model", "resnet18", "--epochs", "2"], 0), (["predict", "runs/x", "photos/*.jpg"], 0),
        (None, 0), (["diff", "a", "b"], 1)]


def _images(batch=1, size=224):
    return np.random.RandomState(0).rand(batch, 3, size, size).astype("float32")


def _image_folder(root, per_class, names=("cat", "dog"), seed=0):
    """``root/cat/*.jpg``, ``root/dog/*.jpg``: two learnable texture classes, renamed as the docs call them."""
    from helpers.images import make_image_folder

    make_image_folder(root, per_class=per_class, size=24, seed=seed, classes=("horizontal", "vertical")[:len(names)],
                      suffix=".jpg")
    for texture, name in zip(("horizontal", "vertical"), names):
        (root / texture).rename(root / name)
    return root


def _readme(tmp_path):
    """The reader's image folder DATA and a folder of photos to classify."""
    _image_folder(tmp_path / "DATA", per_class=2)
    _image_folder(tmp_path / "photos", per_class=1, seed=1)
    return {"images": _images()}


def _performance(tmp_path):
    """The weights files the export commands name: ImageNet ResNet-50 and a 10-class ResNet-18."""
    from paddle_resnet import create_model, save_weights

    save_weights(create_model("resnet50"), tmp_path / "resnet50.pdparams")
    save_weights(create_model("resnet18", num_classes=10), tmp_path / "finetuned.pdparams")
    return {"images": _images()}


def _weights(tmp_path):
    from paddle_resnet import resnet50, save_weights

    save_weights(resnet50(num_classes=2), tmp_path / "weights.safetensors")
    save_weights(resnet50(), tmp_path / "weights.pdparams")  # a 1000-class head: loads only with strict=False
    return {"images": _images()}


def _training(tmp_path):
    """The page's image folder, tiny: cats_vs_dogs/train and cats_vs_dogs/val (its examples make runs/cats)."""
    _image_folder(tmp_path / "cats_vs_dogs" / "train", per_class=1)
    _image_folder(tmp_path / "cats_vs_dogs" / "val", per_class=1, seed=1)
    return {}


def _evaluation(tmp_path):
    """The page's CIFAR archive, tiny: data/cifar-10-python.tar.gz with 10 training and 3 test images."""
    from helpers.cifar import make_cifar_archive

    (tmp_path / "data").mkdir()
    make_cifar_archive(tmp_path / "data", per_batch=2, test=3)
    return {}


FIXTURES = {"README.md": _readme, "docs/performance.md": _performance, "docs/weights.md": _weights,
            "docs/training.md": _training, "docs/evaluation.md": _evaluation}


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


class ValueMismatch(AssertionError):
    """A documented value (the comment after an expression) is not what the expression returns."""


#: The value a comment shows: its text up to the first ": " or "; " (what follows is prose about it).
_SHOWN = re.compile(r"#\s*(?P<shown>.*?)(?:[:;]\s.*)?$")


def documented_value(line: str) -> Optional[str]:
    """The value the comment of ``line`` shows after an expression (``# 4089184256: convs ...`` -> ``4089184256``;
    ``# ParamCount(total=1, ...)``), or None when the comment is prose (``# every architecture ...``)."""
    if "#" not in line:
        return None
    shown = _SHOWN.search(line[line.index("#"):]).group("shown").strip()
    if re.fullmatch(r"[A-Z]\w*\(.*\)", shown):  # a repr: ParamCount(total=..., ...)
        return shown
    try:
        ast.literal_eval(shown)
    except (ValueError, SyntaxError):
        return None
    return shown


def run_and_check_values(code: str, where: str, namespace: dict) -> None:
    """Run ``code`` statement by statement in ``namespace``; an expression statement whose line ends with a
    comment showing a value (``documented_value``) must return that value: equal as a literal, or as a repr."""
    lines = code.splitlines()
    for statement in ast.parse(code).body:
        shown = documented_value(lines[statement.end_lineno - 1]) if isinstance(statement, ast.Expr) else None
        if shown is None:
            exec(compile(ast.Module([statement], type_ignores=[]), where, "exec"), namespace)
            continue
        value = eval(compile(ast.Expression(statement.value), where, "eval"), namespace)
        try:
            same = ast.literal_eval(shown) == value
        except (ValueError, SyntaxError):
            same = repr(value) == shown
        if not same:
            raise ValueMismatch(f"{where} (+{statement.lineno - 1} lines): `{ast.get_source_segment(code, statement)}` "
                                f"returns {value!r}, but its comment shows {shown}")


def test_documented_values_are_compared_with_what_the_expression_returns():
    """The fast sibling of the value check in test_markdown_examples_run."""
    assert documented_value("count_macs(model)   # 4089184256: convs + linears") == "4089184256"
    assert documented_value("verify_model(m).ok  # True; .report() names ...") == "True"
    assert documented_value("count_params(m)  # ParamCount(total=1, trainable=1)") == "ParamCount(total=1, trainable=1)"
    assert documented_value("list_models()  # every architecture in the table: resnet18, ...") is None
    assert documented_value("model = resnet50()") is None
    namespace = {}
    run_and_check_values("x = 2\nx + 2  # 4: shown\nx  # a comment in prose\nstr(x)  # '2'\n", "doc.md:1", namespace)
    with pytest.raises(ValueMismatch, match=r"`x \+ 1` returns 3, but its comment shows 4"):
        run_and_check_values("x + 1  # 4\n", "doc.md:9", namespace)
    from paddle_resnet.analysis import ParamCount

    namespace["ParamCount"] = ParamCount
    run_and_check_values("ParamCount(1, 1, 0)  # ParamCount(total=1, trainable=1, non_trainable=0)", "d", namespace)
    with pytest.raises(ValueMismatch):
        run_and_check_values("ParamCount(1, 1, 0)  # ParamCount(total=2, trainable=1, non_trainable=0)", "d", namespace)


def test_markdown_examples_compile_and_name_our_commands():
    """The fast sibling of ``test_markdown_examples_run`` (which runs them, end to end, with ``--runslow``): every
    Python example compiles, and every line of a bash example that is run is a command of this package."""
    from paddle_resnet.cli import COMMANDS

    for document in MARKDOWN:
        for example in examples((ROOT / document).read_text()):
            if example.skip is not None:
                continue
            where = f"{document}:{example.line}"
            if example.kind == "python":
                compile(example.code, where, "exec")
                continue
            for words, _ in bash_commands_and_exits(example.code):
                arguments = cli_arguments(words)
                assert arguments is not None, f"{where}: `{shlex.join(words)}` is not a command of this package"
                assert not arguments or arguments[0] in COMMANDS or arguments[0].startswith("-"), \
                    f"{where}: unknown command {arguments[0]!r}; commands: {', '.join(COMMANDS)}"


@pytest.mark.slow  # end to end (trains, exports, verifies); fast sibling: the test above and the docstring examples
@pytest.mark.parametrize("document", MARKDOWN)
def test_markdown_examples_run(document, tmp_path, monkeypatch, local_official_weights, capsys):
    from paddle_resnet.cli import main

    runnable = [example for example in examples((ROOT / document).read_text()) if example.skip is None]
    if not runnable:
        pytest.skip(f"{document} has no examples to run")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))  # a module an example writes (FILE_BLOCK) is importable
    namespace = {"__name__": "__example__"}
    namespace.update(FIXTURES.get(document, lambda path: {})(tmp_path))
    for example in runnable:
        where = f"{document}:{example.line}"
        if example.kind == "python":
            file = FILE_BLOCK.match(example.code)
            if file:
                (tmp_path / file.group(1)).parent.mkdir(parents=True, exist_ok=True)
                (tmp_path / file.group(1)).write_text(example.code)
            try:
                run_and_check_values(example.code, where, namespace)
            except ValueMismatch as mismatch:
                pytest.fail(str(mismatch))
            except Exception as error:  # noqa: BLE001  the failing example and why
                pytest.fail(f"the example at {where} fails: {type(error).__name__}: {error}")
            continue
        for words, expected in bash_commands_and_exits(example.code):
            arguments = cli_arguments(words)
            assert arguments is not None, (f"{where}: `{shlex.join(words)}` is not a command of this package, so "
                                           "the test cannot run it; mark the block <!-- example: skip, <reason> -->")
            code = main(arguments)
            out, err = capsys.readouterr()
            if code != expected:
                pytest.fail(f"the command at {where} exits {code}, not {expected}: {shlex.join(words)}\n"
                            f"{out[-2000:]}{err[-2000:]}")


def test_skipped_examples_say_why():
    for document in MARKDOWN:
        for example in examples((ROOT / document).read_text()):
            assert example.skip is None or len(example.skip) > 15, \
                f"{document}:{example.line}: give a reason for skipping the example"


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


def _exception_classes():
    """Every exception class defined in a module of paddle_resnet: ``{name: class}`` (private ones included)."""
    found = {}
    for info in pkgutil.walk_packages(paddle_resnet.__path__, "paddle_resnet."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, member in vars(module).items():
            if (inspect.isclass(member) and issubclass(member, BaseException) and not issubclass(member, Warning)
                    and member.__module__ == module.__name__):
                found[name] = member
    return found


def test_every_exception_is_a_paddle_resnet_error_and_has_a_row_in_the_errors_table():
    """docs/design.md's "Errors" table lists every public exception class: what raises it, what the user does.
    Every exception class we define (private ones too) derives from PaddleResNetError and a built-in."""
    from paddle_resnet import PaddleResNetError

    classes = _exception_classes()
    assert {"PaddleResNetError", "IncompatibleWeightsError", "TraceError"} <= set(classes)  # the walk works
    for name, cls in classes.items():
        assert issubclass(cls, PaddleResNetError), f"{cls.__module__}.{name} does not derive from PaddleResNetError"
    text = (ROOT / "docs" / "design.md").read_text()
    table = text[text.index("\n## Errors"):]
    rows = set(re.findall(r"^\| `(\w+)` \(", table, re.M))
    assert rows == {name for name in classes if not name.startswith("_")}, \
        "docs/design.md's Errors table must list exactly the public exception classes"


def test_the_places_design_md_sends_a_change_to_exist():
    """docs/design.md's "Where a change goes": every file or folder it names (`models/table.py`, `tools/`,
    `tests/test_trace.py`) is in the tree, so the table cannot point at a module that was moved."""
    text = (ROOT / "docs" / "design.md").read_text()
    table = text[text.index("## Where a change goes"):text.index("\n## ", text.index("## Where a change goes") + 3)]
    named = set(re.findall(r"`((?:[\w.]+/)*[\w.<>]+(?:\.py|/))`", table))
    assert len(named) > 10, named  # the pattern still finds them
    for path in sorted(named):
        if "<" in path:  # a pattern such as cli/<name>.py: its folder
            path = path[:path.index("<")]
        assert (ROOT / path).exists() or (ROOT / "paddle_resnet" / path).exists(), \
            f"docs/design.md sends a change to {path}, which is not in the tree"
