"""``verify``: build every architecture and compare its structure with the golden values under tests/.

    python scripts/verify.py                       # all architectures; exit 0 if all match, 1 if not
    python scripts/verify.py --only resnet50,resnet20 --verbose --format markdown
    python scripts/verify.py --update resnet50     # deliberately rewrite a golden entry (prints the changes)

Exit status: 0 everything matches, 1 a mismatch, 2 a usage problem (unknown architecture, missing or corrupt
golden file, an architecture the golden file does not have). Nothing ever changes the golden file unless
--update names the entries to rewrite.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time

from tabulate import tabulate

from ..analysis.summary import FORMATS
from ..builders import create_model
from ..models.table import list_models
from ..verification.golden import (GoldenFileError, default_golden_path, entry_problem, golden_entry, load_golden,
                                   update_entry, write_golden)
from ..verification.verify import verify_model
from ._output import output_problem, write_output


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="verify", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
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
        return _fail(f"cannot update unknown architecture(s) {', '.join(unknown)}; known: {', '.join(list_models())}")
    problem = output_problem(path)
    if problem:
        return _fail(problem)
    stamp = datetime.date.today().isoformat()
    for name in names:
        source = (f"paddle_resnet's own {name} model, recorded by `verify.py --update {name}` on {stamp}; "
                  "tests/test_golden.py checks it against the independent references")
        damaged = name in golden["architectures"] and entry_problem(golden["architectures"][name])
        changes = update_entry(golden, name, _build(name), source)
        print(f"{name}: " + (f"replaced a damaged entry ({damaged})" if damaged else
                             "new entry" if changes is None else f"{len(changes)} change(s)"))
        if changes:
            print(tabulate(changes, ["metric", "old", "new"], tablefmt="simple"))
    problem = write_output(path, golden, write=lambda file, data: write_golden(data, file))
    if problem:
        return _fail(problem)
    print(f"wrote {path}")
    return 0


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.update and (args.only or args.format != "text" or args.output or args.verbose):
        parser.error("--update takes the architectures to rewrite and no --only, --format, --output or --verbose")
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
        return _fail(f"unknown architecture(s) {', '.join(unknown)}; known: {', '.join(list_models())}")
    missing = [name for name in names if name not in golden["architectures"]]
    if missing:
        return _fail(f"the golden file {path} has no entry for {', '.join(missing)}; record one deliberately "
                     f"with `scripts/verify.py --update {' '.join(missing)}` (see docs/verification.md)")
    try:  # a damaged entry is a problem with the file (exit 2), not a mismatch of the model (exit 1)
        for name in names:
            golden_entry(name, golden)
    except GoldenFileError as error:
        return _fail(error)

    start = time.perf_counter()
    rows, failed = [], []
    for name in names:
        result = verify_model(_build(name), name, golden=golden)
        if not result.ok:
            failed.append(name)
        shown = [c for c in result.checks if args.verbose or not c[3]]
        shown += [(m, e, a, False) for m, e, a in result.mismatches if m == "runs"]
        if not result.ok or args.verbose:
            rows += [(name, metric, _cell(e), _cell(a), "ok" if ok else "MISMATCH") for metric, e, a, ok in shown]
        else:
            rows.append((name, f"all {len(result.checks)} metrics", "", "", "ok"))
    seconds = time.perf_counter() - start
    verdict = (f"{len(names) - len(failed)} of {len(names)} architectures match the golden file {path}"
               + (f"; MISMATCH in {', '.join(failed)}" if failed else "") + f" ({seconds:.2f} s)")
    headers = ["architecture", "metric", "expected", "actual", "status"]
    if args.format == "json":
        report = json.dumps({"ok": not failed, "failed": failed, "seconds": round(seconds, 3), "golden": str(path),
                             "rows": [dict(zip(headers, row)) for row in rows]}, indent=1)
    else:
        report = tabulate(rows, headers, tablefmt="github" if args.format == "markdown" else "simple")
        report += f"\n\n{verdict}"
    print(report)
    problem = args.output and write_output(args.output, report + "\n")
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if failed and args.format != "json":
        print("\nIf a change was intended, read docs/verification.md before running --update.", file=sys.stderr)
    return 1 if failed else 0


def _cell(value):
    return "" if value is None else json.dumps(value) if isinstance(value, (list, dict)) else value
