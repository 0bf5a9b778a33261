"""``verify``: build every architecture and compare its structure with the recorded golden values."""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time

from tabulate import tabulate

from .._files import atomic_write_text
from ..analysis.summary import FORMATS
from ..builders import create_model
from ..models.table import did_you_mean, list_models
from ..verification.golden import GoldenFileError, default_golden_path, load_golden, update_entry, write_golden
from ..verification.verify import verify_model
from ._args import parser_for, program

DESCRIPTION = """\
Build every architecture and compare its structure (shapes, parameters, MACs, layer counts, a digest) with the
golden values recorded from independent references. Nothing ever changes the golden file unless --update names
the entries to rewrite.

exit status: 0 everything matches, 1 a mismatch, 2 a usage problem (unknown architecture, missing or corrupt
golden file, an architecture the golden file does not have).

examples:
  {program} verify                   all architectures
  {program} verify --only resnet50,resnet20 --verbose --format markdown
  {program} verify --update resnet50     deliberately rewrite a golden entry (prints the changes)
"""


def build_parser() -> argparse.ArgumentParser:
    parser = parser_for("verify", DESCRIPTION)
    parser.add_argument("--only", metavar="A,B", help="comma-separated architectures (default: all)")
    parser.add_argument("--golden", metavar="FILE", help=f"golden file (default: {default_golden_path()})")
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.add_argument("--verbose", action="store_true", help="list every metric, not only the mismatches")
    parser.add_argument("--output", metavar="FILE", help="also write the report to FILE (atomically)")
    parser.add_argument("--update", nargs="+", metavar="NAME",
                        help="rewrite the golden entries of these architectures from the current models")
    return parser


def _build(name):
    import paddle

    with paddle.LazyGuard():  # structure only: shapes without allocating or initialising weights
        return create_model(name)


def _fail(message) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _update(names, golden, path) -> int:
    unknown = [name for name in names if name not in list_models()]
    if unknown:
        return _fail(f"cannot update unknown architecture(s) {', '.join(unknown)}.{_suggest(unknown)} "
                     f"Known: {', '.join(list_models())}")
    stamp = datetime.date.today().isoformat()
    for name in names:
        source = (f"paddle_resnet's own {name} model, recorded by `verify.py --update {name}` on {stamp}; "
                  "tests/test_golden.py checks it against the independent references")
        changes = update_entry(golden, name, _build(name), source)
        print(f"{name}: {'new entry' if changes is None else f'{len(changes)} change(s)'}")
        if changes:
            print(tabulate(changes, ["metric", "old", "new"], tablefmt="simple"))
    write_golden(golden, path)
    print(f"wrote {path}")
    return 0


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.update and (args.only or args.format != "text" or args.output or args.verbose):
        parser.error("--update takes the architectures to rewrite and no --only, --format, --output or --verbose")
    if args.only is not None and not args.only.strip(" ,"):
        parser.error("--only needs at least one architecture name")
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
    rows, failed = [], []
    for name in names:
        result = verify_model(_build(name), name, golden=golden)
        if not result.ok:
            failed.append(name)
        shown = [c for c in result.checks if args.verbose or not c[3]]
        shown += [(m, e, a, False) for m, e, a in result.mismatches if m == "runs"]
        if not result.ok or args.verbose:
            rows += [(name, metric, e, a, "ok" if ok else "MISMATCH") for metric, e, a, ok in shown]
        else:
            rows.append((name, f"all {len(result.checks)} metrics", "", "", "ok"))
    seconds = time.perf_counter() - start
    verdict = (f"{len(names) - len(failed)} of {len(names)} architectures match the golden file {path}"
               + (f"; MISMATCH in {', '.join(failed)}" if failed else "") + f" ({seconds:.2f} s)")
    headers = ["architecture", "metric", "expected", "actual", "status"]
    if args.format == "json":
        report = json.dumps({"ok": not failed, "failed": failed, "seconds": round(seconds, 3), "golden": str(path),
                             "rows": [dict(zip(headers, row)) for row in rows]}, indent=1)
    else:  # shapes as [1, 64, 56, 56] in a table cell; JSON keeps them as lists
        rows = [(name, metric, _cell(e), _cell(a), status) for name, metric, e, a, status in rows]
        report = tabulate(rows, headers, tablefmt="github" if args.format == "markdown" else "simple")
        report += f"\n\n{verdict}"
    print(report)
    if args.output:
        atomic_write_text(args.output, report + "\n")
    if failed and args.format != "json":
        print("\nIf a change was intended, read docs/verification.md before running --update.", file=sys.stderr)
    return 1 if failed else 0


def _suggest(names) -> str:
    return "".join(did_you_mean(name) for name in names)


def _cell(value):
    return "" if value is None else json.dumps(value) if isinstance(value, (list, dict)) else value
