"""`syn prove autograd`, `syn bounds` and `syn verify-finetune`: the verified-ML commands.

`syn prove autograd` proves every gradient rule of the tensor module with Z3
(`runtime/prove_autograd.py`) and prints one line per case: the shapes, the solver time, Z3's
resource count, the exact remainder (polynomial ops), the float64 finite-difference error and
the mutants killed. `syn bounds CHECKPOINT` certifies interval bounds of a char model
(`runtime/bounds.py`); `syn verify-finetune BASE TUNED` proves an output bound for every
model between two checkpoints. Exit codes: 0 everything proved, 1 something was not, 2 usage.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=float))


def cmd_prove(args: argparse.Namespace) -> int:
    from synapse.runtime import prove_autograd
    report = prove_autograd.prove_all(with_mutants=not args.no_mutants,
                                      ops=args.op or None)
    if args.json:
        _print_json(report.to_json())
        return EXIT_OK if report.ok else EXIT_FAILED
    print(f"{'case':34} {'proof':>6} {'ms':>7} {'rlimit':>7} {'remainder':>10} "
          f"{'fd error':>9} {'mutants':>8}")
    for c in report.cases:
        remainder = "-" if c.remainder is None else ("proved" if c.remainder_proved else "FAILED")
        print(f"{c.case:34} {'proved' if c.proved else 'FAILED':>6} {c.ms:7.2f} "
              f"{c.rlimit:7d} {remainder:>10} {c.fd_max_error:9.1e} "
              f"{c.mutants_killed:>3}/{c.mutants:<4}")
        if not c.proved and c.detail:
            print(f"    counterexample: {c.detail}")
        for name in c.survivors:
            print(f"    mutant survived: {name}")
    for name, ok in report.conventions.items():
        print(f"convention {'proved' if ok else 'FAILED'}: {name}")
    if report.no_gradient:
        print("no gradient (nothing to prove): " + ", ".join(report.no_gradient))
    print(f"{len(report.ops_proved)} of {len(report.ops)} ops proved, solver time "
          f"{report.proof_ms:.1f} ms; mutants killed {report.mutants_killed} of "
          f"{report.mutants}; {report.wall_s:.1f} s in all")
    return EXIT_OK if report.ok else EXIT_FAILED


def _parse_box(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid box {text!r} (use LO,HI)") from None
    if not lo <= hi:
        raise argparse.ArgumentTypeError(f"invalid box {text!r}: LO > HI")
    return lo, hi


def cmd_bounds(args: argparse.Namespace) -> int:
    from synapse.runtime import bounds, cli
    try:
        model = bounds.load_charlm(args.checkpoint)
    except bounds.BoundsError as err:
        raise cli.UsageError(str(err)) from None
    try:
        report = bounds.certify_charlm(model, box=args.box, positions=args.positions,
                                       samples=args.samples, heads=args.heads, seed=args.seed)
    except bounds.BoundsError as err:
        raise cli.UsageError(str(err)) from None
    if args.certificate:
        bounds.save_certificate(args.certificate, report.logits, args.box)
    if args.json:
        _print_json(report.to_json())
    else:
        print(report.render())
        if args.certificate:
            print(f"certificate written to {args.certificate}")
    return EXIT_OK if report.checked else EXIT_FAILED


def cmd_verify_finetune(args: argparse.Namespace) -> int:
    from synapse.runtime import bounds, cli
    try:
        base = bounds.load_charlm(args.base)
        tuned = bounds.load_charlm(args.tuned)
        result = bounds.verify_finetune(base, tuned, args.bound, box=args.box,
                                        positions=args.positions)
    except bounds.BoundsError as err:
        raise cli.UsageError(str(err)) from None
    if args.json:
        _print_json(result.to_json())
    else:
        print(result.render())
    return EXIT_OK if result.proved else EXIT_FAILED


def add_commands(sub: Any) -> None:
    prove = sub.add_parser("prove", help="prove the autograd rules with Z3",
                           description="Prove the adjoint identity of every gradient rule.")
    prove.add_argument("target", choices=["autograd"], help="what to prove")
    prove.add_argument("--json", action="store_true", help="print the report as JSON")
    prove.add_argument("--no-mutants", action="store_true", help="skip the mutation suite")
    prove.add_argument("--op", action="append", metavar="OP", help="only this op (repeatable)")
    prove.set_defaults(handler=cmd_prove)

    box_help = "input box LO,HI for every embedding coordinate (default: the embedding hull)"
    bounds_cmd = sub.add_parser("bounds", help="certify output bounds of a char model",
                                description="Interval bounds through a char-model checkpoint.")
    bounds_cmd.add_argument("checkpoint", metavar="CHECKPOINT", help="safetensors file")
    bounds_cmd.add_argument("--box", type=_parse_box, metavar="LO,HI", help=box_help)
    bounds_cmd.add_argument("--positions", type=int, default=None, metavar="T",
                            help="token positions (default: the model's context)")
    bounds_cmd.add_argument("--samples", type=int, default=200, metavar="N",
                            help="random inputs for the tightness report")
    bounds_cmd.add_argument("--seed", type=int, default=0)
    bounds_cmd.add_argument("--heads", type=int, default=4,
                            help="attention heads, for the sampled forward passes only")
    bounds_cmd.add_argument("--certificate", metavar="FILE",
                            help="write the certified logits for tensor.check_bounds")
    bounds_cmd.add_argument("--json", action="store_true", help="print the report as JSON")
    bounds_cmd.set_defaults(handler=cmd_bounds)

    finetune = sub.add_parser(
        "verify-finetune", help="prove an output bound for every model between two checkpoints",
        description="Interval weights spanning BASE and TUNED; prove logits within --bound.")
    finetune.add_argument("base", metavar="BASE")
    finetune.add_argument("tuned", metavar="TUNED")
    finetune.add_argument("--bound", type=_parse_box, required=True, metavar="LO,HI",
                          help="the safety property: every logit in [LO, HI] (write --bound=-5,5)")
    finetune.add_argument("--box", type=_parse_box, metavar="LO,HI", help=box_help)
    finetune.add_argument("--positions", type=int, default=None, metavar="T")
    finetune.add_argument("--json", action="store_true")
    finetune.set_defaults(handler=cmd_verify_finetune)
