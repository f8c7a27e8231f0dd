"""Re-execution of modules on a second, independent engine: node's WebAssembly (V8).

Beside the sandbox (wasmtime), `replay` runs modules through `node_host.mjs`, a JavaScript
implementation of the "syn" host imports with the same output, number formatting, trap
messages and output cap as `host.py`. `compare` names the differences between the two runs.
Used by tests to show that a program's output bytes are a property of the module, not of one
engine. Node has no fuel: only modules known to end (e.g. that ended in the sandbox without
exhausting fuel or time) may be replayed; a timeout guards against mistakes.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from synapse.runtime.host import DEFAULT_OUTPUT_LIMIT

NODE_HOST = Path(__file__).resolve().parent / "node_host.mjs"


@dataclass(frozen=True)
class NodeRun:
    status: str            # "ok" | "trap" | "exhausted" | "refused"
    output: bytes
    message: str | None
    exhausted: str | None
    origin: str | None     # "host": the message comes from the host imports; "wasm": from V8


def node_executable() -> str | None:
    """The `node` on PATH, or None."""
    return shutil.which("node")


def replay(cases: Sequence[tuple[bytes, bytes]], *, output_limit: int = DEFAULT_OUTPUT_LIMIT,
           timeout: float = 120.0) -> list[NodeRun]:
    """Run each (module, input) in node, all in one node process; results in order."""
    node = node_executable()
    if node is None:
        raise FileNotFoundError("node is not installed")
    with tempfile.TemporaryDirectory(prefix="syn-node-") as tmp:
        folder = Path(tmp)
        manifest: list[dict[str, Any]] = []
        for number, (module, data) in enumerate(cases):
            module_path, input_path = folder / f"{number}.wasm", folder / f"{number}.input"
            module_path.write_bytes(module)
            input_path.write_bytes(data)
            manifest.append({"module": str(module_path), "input": str(input_path),
                             "output_limit": output_limit})
        (folder / "manifest.json").write_text(json.dumps({"cases": manifest}))
        process = subprocess.run([node, str(NODE_HOST), str(folder / "manifest.json")],
                                 capture_output=True, text=True, timeout=timeout)
    if process.returncode != 0:
        raise RuntimeError(f"node failed ({process.returncode}): {process.stderr.strip()}")
    lines = process.stdout.splitlines()
    if len(lines) != len(cases):
        raise RuntimeError(f"node answered {len(lines)} of {len(cases)} cases")
    return [_node_run(json.loads(line)) for line in lines]


def _node_run(record: dict[str, Any]) -> NodeRun:
    return NodeRun(record["status"], base64.b64decode(record["output"]), record["message"],
                   record["exhausted"], record["origin"])


def compare(result: Any, node: NodeRun) -> list[str]:
    """Differences between a sandbox `RunResult` and a node run; empty when they agree.

    Output bytes and status must be equal; so must the message when the host produced it
    (both hosts word those identically). Wasm's own traps are worded by each engine, and V8
    does not separate a NaN from an out-of-range float-to-int conversion, so for them only
    the status is compared.
    """
    problems: list[str] = []
    if bytes(result.output) != node.output:
        problems.append(f"output: wasmtime {bytes(result.output)[:200]!r} "
                        f"node {node.output[:200]!r}")
    if result.status != node.status:
        problems.append(f"status: wasmtime {result.status} ({result.message}), "
                        f"node {node.status} ({node.message})")
    elif node.origin == "host" and result.message != node.message:
        problems.append(f"message: wasmtime {result.message!r}, node {node.message!r}")
    if result.exhausted != node.exhausted:
        problems.append(f"exhausted: wasmtime {result.exhausted}, node {node.exhausted}")
    return problems
