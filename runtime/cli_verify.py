"""`syn check --verify` and `syn build --verify`: static verification from the command line.

Registered by runtime/cli.py (`register(check_parser, build_parser)`), this module adds
`--verify`, `--no-cache` and `--json` (for build; check has its own) and wraps the two
subcommands. The verifier itself is `synapse.compiler.verify`: it proves every contract and
every run-time check of every function, prints counterexamples confirmed by running the
compiled code, and caches results in `.syn-cache/verify` (or `$SYN_CACHE_DIR/verify`).

`syn check --verify FILE` verifies instead of only checking; `syn build --verify FILE` builds
as usual (verification never changes the bytes) and verifies. The exit status is 1 when the
program does not compile or some obligation is not proved, else what the subcommand returns.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable

Handler = Callable[[argparse.Namespace], int]

EXIT_OK = 0
EXIT_FAILED = 1


def register(check: argparse.ArgumentParser, build: argparse.ArgumentParser) -> None:
    """Add the verification options to `syn check` and `syn build`."""
    for parser, has_json in ((check, True), (build, False)):
        parser.add_argument("--verify", action="store_true",
                            help="prove every contract and run-time check with Z3")
        parser.add_argument("--no-cache", dest="no_cache", action="store_true",
                            help="with --verify: prove again instead of reusing cached results")
        if not has_json:
            parser.add_argument("--json", action="store_true",
                                help="with --verify: print the verification report as JSON")
        inner = parser.get_default("handler")
        parser.set_defaults(handler=_wrap(inner, build=parser is build))


def _wrap(inner: Handler, *, build: bool) -> Handler:
    def handler(args: argparse.Namespace) -> int:
        if not getattr(args, "verify", False):
            return inner(args)
        if build:
            status = inner(args)
            if status != EXIT_OK:
                return status
            return run_verify(args, lib=True, stream=sys.stderr)
        return run_verify(args, lib=getattr(args, "lib", False), stream=sys.stdout)
    return handler


def run_verify(args: argparse.Namespace, *, lib: bool, stream: Any) -> int:
    from synapse.runtime.cli import UsageError, _check_source
    _check_source(args.file)
    try:
        from synapse.compiler.verify import VerifyCache, verify_file
    except ImportError as err:     # z3 missing
        raise UsageError(f"the verifier is not available: {err}") from None
    cache = VerifyCache()
    report = verify_file(args.file, lib=lib, cache=cache, read_cache=not args.no_cache)
    if args.json:
        data = report.to_json()
        data["diagnostics"] = [d.to_json() for d in report.diagnostics]
        print(json.dumps(data, indent=2))
    else:
        for diag in report.diagnostics:
            print(diag.render(report.sources.get(diag.span.file)), file=sys.stderr)
        if not report.diagnostics:
            print(report.render(), file=stream)
    return EXIT_OK if report.ok else EXIT_FAILED
