"""``verify``: check models against golden structural values, and say where they differ."""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time

from tabulate import tabulate

from ..analysis.summary import FORMATS
from ..models.table import did_you_mean, list_models
from ..verification.compare import render_differences
from ..verification.golden import (GoldenFileError, default_golden_path, entry_problem, load_golden,
                                   update_entry, write_golden)
from ..specs import ModelSpecError, build_model, build_traceable, default_input_size, parse_model_spec
from ..verification.structure import check_structure, record_structure
from ..verification.verify import REPORT_LIMIT, verify_architectures
from ._args import parse_limit, parse_input_size, parse_kwargs, parser_for, program
from ._output import output_problem, write_output

DESCRIPTION = """\
Check models against golden structural values recorded from independent references (shapes, parameters, MACs,
layer counts, and every layer and operation in forward order), and say which layers differ. Nothing ever
changes a golden file unless --update is given.

exit status: 0 everything matches, 1 a mismatch, 2 a usage problem (unknown architecture, a factory that cannot
be imported or called, a missing, corrupt or damaged golden file, an entry the golden file does not have, a
report file that cannot be written).

examples:
  {program} verify                   every architecture of the table
  {program} verify --only resnet50,resnet20 --verbose --format markdown
  {program} verify --update resnet50     deliberately rewrite a golden entry (prints the changes)

  your own model (any factory returning a paddle.nn.Layer), against a golden file of your own:
  {program} verify --model mypackage.models:build --golden golden/mine.json --update --input-size 3x224x224
  {program} verify --model mypackage.models:build --kwargs '{{"num_classes": 2}}' --golden golden/mine.json
"""


def build_parser() -> argparse.ArgumentParser:
    parser = parser_for("verify", DESCRIPTION)
    parser.add_argument("--only", metavar="A,B", help="comma-separated architectures (default: all)")
    parser.add_argument("--golden", metavar="FILE", help=f"golden file (default: {default_golden_path()})")
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.add_argument("--verbose", action="store_true", help="list every metric, not only the mismatches")
    parser.add_argument("--output", metavar="FILE", help="also write the report to FILE (atomically)")
    parser.add_argument("--limit", type=parse_limit, default=REPORT_LIMIT, metavar="N",
                        help=f"differing layer rows to list per model (default {REPORT_LIMIT}; 0: all)")
    parser.add_argument("--update", nargs="*", metavar="NAME",
                        help="rewrite the golden entries of these architectures from the current models; with "
                             "--model, record that model's entry (no names)")
    own = parser.add_argument_group("your own model (instead of the table's architectures)")
    own.add_argument("--model", metavar="MODULE:FACTORY",
                     help="a factory returning a paddle.nn.Layer (mypackage.models:build), or an architecture with "
                          "options (resnet50:num_classes=2); needs --golden")
    own.add_argument("--kwargs", type=parse_kwargs, metavar="JSON", help="keyword arguments for the factory, as a "
                     "JSON object: '{\"num_classes\": 2}'")
    own.add_argument("--name", help="the golden entry's name (default: the file's only entry when it holds one, "
                     "else the --model text)")
    own.add_argument("--input-size", type=parse_input_size, metavar="SIZE",
                     help="input to trace at: H, HxW, CxHxW or NxCxHxW (default: the entry's; needed to record a "
                          "new entry of a model that does not declare one)")
    return parser


def _fail(message) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _print_changes(name, changes):
    print(f"{name}: {'new entry' if changes is None else f'{len(changes)} change(s)'}")
    if changes:
        print(tabulate([(m, _cell(old), _cell(new)) for m, old, new in changes], ["metric", "old", "new"],
                       tablefmt="simple"))


def _update(names, golden, path) -> int:
    unknown = [name for name in names if name not in list_models()]
    if unknown:
        return _fail(f"cannot update unknown architecture(s) {', '.join(unknown)}.{_suggest(unknown)} "
                     f"Known: {', '.join(list_models())}")
    problem = output_problem(path)
    if problem:
        return _fail(problem)
    stamp = datetime.date.today().isoformat()
    for name in names:
        source = (f"paddle_resnet's own {name} model, recorded by `verify.py --update {name}` on {stamp}; "
                  "tests/test_golden.py checks it against the independent references")
        damaged = name in golden["architectures"] and entry_problem(golden["architectures"][name])
        changes = update_entry(golden, name, build_model(parse_model_spec(name)), source, mode="eval")
        if damaged:
            print(f"{name}: replaced a damaged entry ({damaged})")
        else:
            _print_changes(name, changes)
    problem = write_output(path, golden, write=lambda file, data: write_golden(data, file))
    if problem:
        return _fail(problem)
    print(f"wrote {path}")
    return 0


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.model is not None:
        return _own_model(parser, args)
    if args.kwargs is not None or args.name or args.input_size:
        parser.error("--kwargs, --name and --input-size apply to --model only")
    if args.update is not None and (args.only or args.format != "text" or args.output or args.verbose):
        parser.error("--update takes the architectures to rewrite and no --only, --format, --output or --verbose")
    if args.update == []:
        parser.error("--update needs the architectures to rewrite (or --model)")
    if args.only is not None and not args.only.strip(" ,"):
        parser.error("--only needs at least one architecture name")
    if args.output and output_problem(args.output):
        parser.error(output_problem(args.output))
    path = args.golden or default_golden_path()
    try:
        golden = load_golden(path)
    except GoldenFileError as error:
        return _fail(error)
    if args.update:
        return _update(args.update, golden, path)

    names = [n.strip() for n in args.only.split(",") if n.strip()] if args.only else list_models()
    unknown = [name for name in names if name not in list_models()]
    if unknown:
        return _fail(f"unknown architecture(s) {', '.join(unknown)}.{_suggest(unknown)} "
                     f"Known: {', '.join(list_models())}")
    missing = [name for name in names if name not in golden["architectures"]]
    if missing:
        return _fail(f"the golden file {path} has no entry for {', '.join(missing)}; record one deliberately "
                     f"with `{program()} verify --update {' '.join(missing)}` (see docs/verification.md)")
    start = time.perf_counter()
    try:  # a damaged entry is a problem with the file (exit 2), not a mismatch of the model (exit 1)
        results = verify_architectures(names, golden)
    except GoldenFileError as error:
        return _fail(error)
    rows, failed, located = [], [], {}
    for name, result in results:
        if not result.ok:
            failed.append(name)
            located[name] = result.differences
        shown = [c for c in result.checks if args.verbose or not c[3]]
        shown += [(m, e, a, False) for m, e, a in result.mismatches if m == "runs"]
        if not result.ok or args.verbose:
            rows += [(name, metric, e, a, "ok" if ok else "MISMATCH") for metric, e, a, ok in shown]
        else:
            rows.append((name, result.summary(), "", "", "ok"))  # what was compared, and what was not
    seconds = time.perf_counter() - start
    verdict = (f"{len(names) - len(failed)} of {len(names)} architectures match the golden file {path}"
               + (f"; MISMATCH in {', '.join(failed)}" if failed else "") + f" ({seconds:.2f} s)")
    headers = ["architecture", "metric", "expected", "actual", "status"]
    limit = args.limit or None
    if args.format == "json":
        report = json.dumps({"ok": not failed, "failed": failed, "seconds": round(seconds, 3), "golden": str(path),
                             "rows": [dict(zip(headers, row)) for row in rows],
                             "differences": {name: [_difference_json(d) for d in differences]
                                             for name, differences in located.items()}}, indent=1)
    else:  # shapes as [1, 64, 56, 56] in a table cell; JSON keeps them as lists
        markdown = args.format == "markdown"
        cells = [(name, metric, _cell(e), _cell(a), status) for name, metric, e, a, status in rows]
        report = tabulate(cells, headers, tablefmt="github" if markdown else "simple")
        for name, differences in located.items():
            if differences:
                report += f"\n\n{name}: where the layers differ (forward order):\n"
                report += "\n".join(("- " if markdown else "  ") + line for line in render_differences(differences,
                                                                                                         limit))
        report += f"\n\n{verdict}"
    print(report)
    problem = args.output and write_output(args.output, report + "\n")
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if failed and args.format != "json":
        print("\nIf a change was intended, read docs/verification.md before running --update.", file=sys.stderr)
    return 1 if failed else 0


def _own_model(parser, args) -> int:
    """``--model``: check (or with ``--update`` record) one model against a golden file of the user's."""
    if args.only:
        parser.error("--only selects architectures of the table; with --model, name the entry with --name")
    if not args.golden:
        parser.error("--model needs --golden FILE: the golden file of your model (record it with --update)")
    if args.update:
        parser.error("--update with --model records that model: give no names (the entry is --name)")
    if args.output and output_problem(args.output):
        parser.error(output_problem(args.output))
    try:
        spec = parse_model_spec(args.model, args.kwargs)
        # Checking without --name: the golden file's only entry, if it holds one (recording names it --model).
        name = args.name or (_only_entry(args.golden) if args.update is None else None) or args.model
        size = args.input_size or _recorded_size(args.golden, name)
        model = build_traceable(spec, size)
        size = size or default_input_size(model)
        if args.update is not None:
            if size is None:
                return _fail(f"recording the new entry {name!r} needs --input-size (e.g. 3x224x224): "
                             f"{type(model).__name__} does not declare its input size")
            _print_changes(name, record_structure(model, args.golden, size, name))
            print(f"wrote {args.golden}")
            return 0
        result = check_structure(model, args.golden, name, size if args.input_size else None)
    except (ModelSpecError, GoldenFileError, OSError) as error:  # OSError: a golden file that cannot be written
        return _fail(error)
    limit = args.limit or None
    if args.format == "json":
        report = json.dumps({"ok": result.ok, "name": name, "golden": str(args.golden),
                             "input_size": result.input_size,
                             "mismatches": [{"metric": m, "expected": e, "actual": a}
                                            for m, e, a in result.metric_mismatches],
                             "differences": [_difference_json(d) for d in result.differences]}, indent=1)
    elif args.format == "markdown":
        lines = result.report(limit).splitlines()
        report = f"**{lines[0]}**\n\n" + "\n".join(f"- {line.strip()}" for line in lines[1:])
    else:
        report = result.report(limit)
    print(report)
    problem = args.output and write_output(args.output, report + "\n")
    if problem:
        return _fail(problem)
    if not result.ok and args.format != "json":
        print("\nIf this change is intended, record it again deliberately with --update (docs/verification.md).",
              file=sys.stderr)
    return 0 if result.ok else 1


def _only_entry(path):
    """The name of the golden file's single entry, or ``None`` (several, none, or no readable file)."""
    try:
        entries = list(load_golden(path)["architectures"])
    except GoldenFileError:
        return None
    return entries[0] if len(entries) == 1 else None


def _recorded_size(path, name):
    """The input size an existing entry was recorded at, so that re-recording keeps it."""
    try:
        entry = load_golden(path)["architectures"].get(name)
    except GoldenFileError:
        return None
    return entry["input_size"] if entry and not entry_problem(entry) else None  # damaged: check_structure says


def _difference_json(difference) -> dict:
    return {"change": difference.change, "where": difference.where, "description": difference.describe(),
            "attributes": {key: list(values) for key, values in difference.attributes.items()}}


def _suggest(names) -> str:
    return "".join(did_you_mean(name) for name in names)


def _cell(value):
    return "absent" if value is None else json.dumps(value) if isinstance(value, (list, dict)) else value
