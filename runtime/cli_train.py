"""`syn train` and `syn sample`: run a tensor program with a corpus, a checkpoint and a progress bar.

Both compile FILE and run it in the sandbox like `syn run`, with no wall-clock limit, and tell
the tensor host module (`runtime/tensors.py`) what the program may not choose itself: the
corpus (`--corpus`, default: the project's .syn sources) and the checkpoint file
(`--checkpoint`, default `checkpoints/charlm.safetensors`); `syn train --init BASE` makes
`tensor.ckpt_load` read BASE instead, so a program fine-tunes BASE and saves the result to the
checkpoint without overwriting BASE. `syn train` draws a progress bar
from the program's `tensor.progress` reports (step, loss, tokens/s, ETA) on standard error,
and afterwards writes the loss curve as a PNG (`--plot`, default beside the checkpoint).
`--steps` / `--chars` become the program's input.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

DEFAULT_CHECKPOINT = Path("checkpoints") / "charlm.safetensors"


class ProgressBar:
    """Turns `tensor.progress(step, total, loss, tokens)` reports into a tqdm bar and a history."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.losses: list[tuple[int, float]] = []
        self.tokens = 0
        self.started = time.perf_counter()
        self.bar: Any = None

    def __call__(self, step: int, total: int, loss: float, tokens: int) -> None:
        self.losses.append((step, loss))
        self.tokens += tokens
        if not self.enabled:
            return
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        rate = f"loss {loss:.4f}, {self.tokens / elapsed:,.0f} tok/s"
        if self.bar is None:
            try:
                from tqdm import tqdm
            except ImportError:  # without the `train` extra: a line every 5% instead of a bar
                self.bar = False
            else:
                self.bar = tqdm(total=total, unit="step", dynamic_ncols=True, file=sys.stderr)
        if self.bar is False:
            if step == total or step % max(total // 20, 1) == 0:
                eta = elapsed / step * (total - step)
                print(f"step {step}/{total}, {rate}, {eta:.0f} s left", file=sys.stderr)
            return
        self.bar.set_postfix_str(rate)
        self.bar.update(step - self.bar.n)

    def close(self) -> None:
        if self.bar:
            self.bar.close()


def write_loss_plot(losses: list[tuple[int, float]], path: Path, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    steps = [s for s, _ in losses]
    values = [v for _, v in losses]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    ax.plot(steps, values, linewidth=1, alpha=0.5, label="loss per step")
    window = max(1, len(values) // 50)
    if window > 1:
        smooth = [sum(values[max(0, i - window + 1):i + 1]) / len(values[max(0, i - window + 1):i + 1])
                  for i in range(len(values))]
        ax.plot(steps, smooth, linewidth=2, label=f"mean of {window} steps")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (nats per character)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def _run(args: argparse.Namespace, program_input: bytes, bar: ProgressBar | None) -> Any:
    from synapse.runtime import cli, tensors
    from synapse.runtime.sandbox import DEFAULT_FUEL, Sandbox, SandboxError
    result = cli._compile(args.file)
    cli._print_diagnostics(result)
    if not cli._compiled_ok(result):
        return cli.EXIT_COMPILE
    config = tensors.TensorConfig(corpus=Path(args.corpus) if args.corpus else None,
                                  checkpoint=Path(args.checkpoint), on_progress=bar,
                                  seed=args.seed,
                                  init=Path(args.init) if getattr(args, "init", None) else None)
    try:
        with tensors.host_config(config):
            run = Sandbox(time_limit=None).run(result.wasm, program_input,
                                               fuel=args.fuel or DEFAULT_FUEL)
    except SandboxError as err:
        cli._err(f"syn: error: module refused: {err}")
        return cli.EXIT_COMPILE
    finally:
        if bar is not None:
            bar.close()
    cli._stdout_bytes(run.output)
    if run.status != "ok":
        cli._print_failure(run)
        return cli.EXIT_TRAP
    return cli.EXIT_OK


def cmd_train(args: argparse.Namespace) -> int:
    from synapse.runtime import cli
    if args.corpus and not Path(args.corpus).is_file():
        raise cli.UsageError(f"cannot read corpus {args.corpus}: no such file")
    if args.init and not Path(args.init).is_file():
        raise cli.UsageError(f"cannot read initial checkpoint {args.init}: no such file")
    bar = ProgressBar(enabled=not args.no_bar)
    program_input = str(args.steps).encode() if args.steps is not None else b""
    status = _run(args, program_input, bar)
    if bar.losses and args.plot != "none":
        plot = Path(args.plot) if args.plot else Path(args.checkpoint).with_suffix(".loss.png")
        try:
            write_loss_plot(bar.losses, plot, f"{Path(args.file).name}: training loss")
            cli._err(f"loss curve: {plot}")
        except ImportError:
            cli._err("no loss curve: matplotlib is not installed (pip install synapse-lang[train])")
    if bar.losses:
        first, last = bar.losses[0][1], bar.losses[-1][1]
        elapsed = time.perf_counter() - bar.started
        cli._err(f"{len(bar.losses)} steps in {elapsed:.1f} s, loss {first:.3f} -> {last:.3f}, "
                 f"checkpoint: {args.checkpoint}")
    return status


def cmd_sample(args: argparse.Namespace) -> int:
    from synapse.runtime import cli
    if not Path(args.checkpoint).is_file():
        raise cli.UsageError(f"cannot read checkpoint {args.checkpoint}: no such file "
                             "(train one with syn train)")
    program_input = str(args.chars).encode() if args.chars is not None else b""
    return _run(args, program_input, None)


def _common(parser: argparse.ArgumentParser) -> None:
    from synapse.runtime.cli import parse_fuel
    parser.add_argument("file", metavar="FILE", help=".syn program using the tensor module")
    parser.add_argument("--corpus", metavar="TEXT",
                        help="text file for the data loader (default: the project's .syn sources)")
    parser.add_argument("--checkpoint", metavar="FILE", default=str(DEFAULT_CHECKPOINT),
                        help=f"checkpoint (safetensors) to write / read (default {DEFAULT_CHECKPOINT})")
    parser.add_argument("--fuel", type=parse_fuel, metavar="N", help="fuel budget")
    parser.add_argument("--seed", type=int, default=0, metavar="N",
                        help="seed of the host's generators until the program sets one (default 0)")


def add_commands(sub: Any) -> None:
    """Registers `train` and `sample` on the `syn` argument parser."""
    train = sub.add_parser("train", help="train a model with a progress bar, checkpoint and plot",
                           description="Run a training program (e.g. examples/train_charlm.syn).")
    _common(train)
    train.add_argument("--steps", type=int, metavar="N", help="training steps (program input)")
    train.add_argument("--init", metavar="CKPT",
                       help="checkpoint that tensor.ckpt_load reads (fine-tuning); "
                            "tensor.ckpt_save still writes --checkpoint")
    train.add_argument("--plot", metavar="PNG",
                       help="loss-curve image (default: beside the checkpoint; 'none' for none)")
    train.add_argument("--no-bar", action="store_true", help="no progress bar")
    train.set_defaults(handler=cmd_train)
    sample = sub.add_parser("sample", help="sample text from a checkpoint",
                            description="Run a sampling program (e.g. examples/sample_charlm.syn).")
    _common(sample)
    sample.add_argument("--chars", type=int, metavar="N", help="characters to write (program input)")
    sample.set_defaults(handler=cmd_sample)
