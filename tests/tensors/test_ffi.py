"""The tensor host module as a guest sees it: handles, errors, no_grad, data, checkpoints, seeds.

Programs are compiled from text and run in the sandbox with a recorder; expected values are
computed independently here (numpy, the safetensors layout read by hand, a PyTorch rollout).
"""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from synapse.runtime import tensor_data
from tensor_support import compile_text, run_wasm


def run(body: str, *, input: bytes = b"", **config):
    wasm = compile_text("import tensor;\narena 1 MiB;\n\nfn main() {\n" + body + "\n}\n")
    return run_wasm(wasm, input, **config)


def output(body: str, **config) -> str:
    result, _ = run(body, **config)
    assert result.status == "ok", f"{result.message} in {result.function}"
    return result.output.decode()


# -- values and ops ----------------------------------------------------------------------------

def test_ops_compute_what_numpy_computes() -> None:
    text = output("""
    let a = tensor.reshape2(tensor.arange(6), 2, 3);
    let b = tensor.full1(2.0, 3);
    tensor.show(tensor.add(a, b));
    tensor.show(tensor.matmul(a, tensor.transpose(a, 0, 1)));
    tensor.show(tensor.sum(a, 1, false));
    tensor.show(tensor.max(a, 0, true));
    tensor.show(tensor.where(tensor.gt(a, b), a, tensor.neg(a)));
    println(tensor.item(tensor.mean_all(a)), " ", tensor.get(a, 4), " ", tensor.shape_str(a));
    """)
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert text.splitlines() == [
        "[[2.0, 3.0, 4.0], [5.0, 6.0, 7.0]]",
        "[[5.0, 14.0], [14.0, 50.0]]",      # a @ a.T
        "[3.0, 12.0]",
        "[[3.0, 4.0, 5.0]]",
        "[[-0.0, -1.0, -2.0], [3.0, 4.0, 5.0]]",
        f"{float(a.mean())} 4.0 [2, 3]",
    ]


def test_gradients_reach_parameters() -> None:
    # loss = sum(w * x)^2 with w = [1, 2], x = [3, 4]: d/dw = 2 * 11 * x = [66, 88].
    text = output("""
    let w = tensor.reshape(tensor.add_scalar(tensor.arange(2), 1.0), 1, 2, 0, 0, 0);
    tensor.param(w, "w");
    let x = tensor.add_scalar(tensor.arange(2), 3.0);
    let loss = tensor.square(tensor.sum_all(tensor.mul(w, x)));
    tensor.backward(loss);
    tensor.show(tensor.grad(w));
    tensor.backward(tensor.square(tensor.sum_all(tensor.mul(w, x))));
    tensor.show(tensor.grad(w));
    tensor.zero_grad();
    tensor.show(tensor.grad(w));
    """)
    assert text.splitlines() == ["[66.0, 88.0]", "[132.0, 176.0]", "[0.0, 0.0]"]


def test_no_grad_records_nothing_and_assign_updates_in_place() -> None:
    result, _ = run("""
    let w = tensor.full1(1.0, 2);
    tensor.param(w, "w");
    tensor.no_grad_begin();
    tensor.assign(w, tensor.mul_scalar(w, 3.0));
    let y = tensor.sum_all(w);
    tensor.no_grad_end();
    tensor.show(w);
    tensor.backward(y);
    """)
    assert result.output == b"[3.0, 3.0]\n"
    assert result.status == "trap"
    assert result.message.startswith("tensor.backward: handle")
    assert "records no gradient" in result.message


def test_mark_and_release_free_a_steps_tensors() -> None:
    text = output("""
    let w = tensor.zeros2(2, 2);
    tensor.param(w, "w");
    let keep = tensor.scalar(1.0);
    let before = tensor.live();
    for i in 0..50 {
        let m = tensor.mark();
        let y = tensor.sum_all(tensor.add(tensor.mul(w, w), keep));
        tensor.backward(y);
        tensor.release(m);
    }
    println(before, " ", tensor.live());
    """)
    assert text == "2 2\n"


# -- errors ------------------------------------------------------------------------------------

@pytest.mark.parametrize("body, message", [
    ("tensor.show(tensor.add(tensor.zeros2(2, 3), 999));", "tensor.add: invalid handle 999"),
    ("let a = tensor.zeros1(2); tensor.free(a); tensor.show(a);",
     "tensor.show: handle 1 was freed"),
    ("tensor.matmul(tensor.zeros2(2, 3), tensor.zeros2(2, 3));",
     "tensor.matmul: shapes [2, 3] and [2, 3]: inner dimensions 3 and 2 differ"),
    ("tensor.add(tensor.zeros2(2, 3), tensor.zeros1(4));",
     "tensor.add: shapes [2, 3] and [4] cannot be broadcast together"),
    ("tensor.reshape2(tensor.zeros2(2, 3), 4, 2);",
     "tensor.reshape: cannot reshape [2, 3] (6 elements) to [4, 2] (8 elements)"),
    ("tensor.zeros(5, 1, 1, 1, 1);", "tensor.zeros: rank 5 is not in 0..4"),
    ("tensor.sum(tensor.zeros2(2, 3), 2, false);",
     "tensor.sum: axis 2 is out of range for shape [2, 3]"),
    ("tensor.slice(tensor.zeros2(2, 3), 1, 2, 5);",
     "tensor.slice: range 2..5 is out of bounds for axis 1 of [2, 3]"),
    ("tensor.gather(tensor.zeros2(3, 2), tensor.full1(3.0, 1));",
     "tensor.gather: index 3.0 is not a row of the table of shape [3, 2]"),
    ("tensor.item(tensor.zeros1(2));", "tensor.item: item needs one element, found shape [2]"),
    ("tensor.no_grad_end();", "tensor.no_grad_end: no_grad_end without a matching no_grad_begin"),
    ("let w = tensor.zeros1(2); tensor.param(w, \"w\"); tensor.backward(tensor.mul(w, w));",
     "tensor.backward: the loss must have one element, found shape [2]"),
    ("let w = tensor.zeros1(2); tensor.param(w, \"w\"); tensor.param(tensor.zeros1(1), \"w\");",
     "tensor.param: a parameter named 'w' already exists"),
    ("let w = tensor.zeros1(2); tensor.param(w, \"w\"); tensor.assign(w, tensor.zeros1(2));",
     "tensor.assign: handle 1 requires a gradient: assign to it inside no_grad"),
    ("tensor.assign(tensor.zeros1(2), tensor.zeros1(3));",
     "tensor.assign: shapes [2] and [3] differ"),
    ("tensor.permute3(tensor.zeros2(2, 3), 0, 1, 2);",
     "tensor.permute: [0, 1, 2] is not a permutation of the axes of [2, 3]"),
    ("tensor.broadcast2(tensor.zeros1(3), 2, 4);", "tensor.broadcast: cannot broadcast [3] to [2, 4]"),
    ("tensor.concat(tensor.zeros2(2, 3), tensor.zeros2(3, 3), 1);",
     "tensor.concat: cannot concatenate [2, 3] and [3, 3] along axis 1"),
    ("tensor.get(tensor.zeros1(2), 2);",
     "tensor.get: index 2 is out of range for shape [2] (2 elements)"),
    ("tensor.grad(tensor.zeros1(2));", "tensor.grad: handle 1 is not a parameter"),
    ("tensor.data_targets();", "tensor.data_targets: no batch was drawn yet"),
    ("tensor.data_batch(0, 4, 0);", "tensor.data_batch: batch 0 and context 4 must be positive"),
    ("tensor.data_char(97);", "tensor.data_char: token 97 is not in 0..96"),
])
def test_bad_calls_trap_with_the_function_and_shapes(body: str, message: str) -> None:
    result, _ = run(body)
    assert result.status == "trap"
    assert result.message.startswith(message), result.message
    assert result.function == "main.main" or result.function.startswith("tensor.")


def test_the_memory_limit_traps_before_allocating() -> None:
    result, _ = run("tensor.zeros2(1000, 1000);", max_elements=10_000)
    assert result.status == "trap"
    assert "tensor.zeros: a result of 1000000 elements would pass the limit of 10000" in result.message
    result, _ = run("let a = tensor.zeros2(100, 1); tensor.add(a, tensor.zeros2(1, 100));",
                    max_elements=1000)
    assert "tensor.add: a result of 10000 elements" in result.message


def test_a_trap_leaves_the_next_run_unaffected() -> None:
    from synapse.runtime import tensors
    from synapse.runtime.sandbox import Sandbox
    bad = compile_text("import tensor;\nfn main() {\n    let a = tensor.zeros1(3);\n"
                       "    tensor.matmul(a, a);\n}\n")
    good = compile_text("import tensor;\nfn main() {\n    let a = tensor.arange(3);\n"
                        "    println(a, \" \", tensor.live());\n    tensor.show(a);\n}\n")
    sandbox = Sandbox(time_limit=None)
    with tensors.host_config(tensors.TensorConfig()):
        first = sandbox.run(good)
        failed = sandbox.run(bad)
        again = sandbox.run(good)
    assert failed.status == "trap" and failed.message.startswith("tensor.matmul")
    assert first.output == again.output == b"1 1\n[0.0, 1.0, 2.0]\n"


def test_handles_do_not_survive_their_run() -> None:
    wasm = compile_text("import tensor;\nfn main() {\n    let h = parse_i64(input()) as i32;\n"
                        "    if h == 0 {\n        println(tensor.zeros1(2));\n    } else {\n"
                        "        tensor.show(h);\n    }\n}\n")
    made, _ = run_wasm(wasm, b"0")
    handle = made.output.decode().strip()
    later, _ = run_wasm(wasm, handle.encode())
    assert later.status == "trap" and later.message == f"tensor.show: invalid handle {handle}"


def test_a_wrong_tensor_signature_is_refused() -> None:
    import wasmtime

    from synapse.runtime.sandbox import Sandbox, SandboxError
    wasm = wasmtime.wat2wasm('(module (import "tensor" "add" (func (param i32) (result i32)))'
                             ' (memory (export "memory") 1 1) (func (export "main")))')
    with pytest.raises(SandboxError, match="tensor.add has the wrong signature"):
        Sandbox(cache_dir=False).load(wasm)


# -- seeds, data and checkpoints --------------------------------------------------------------

def test_seeds_fix_the_random_numbers() -> None:
    body = "tensor.seed(5);\ntensor.show(tensor.randn1(1.0, 3));\nprintln(tensor.rand());"
    first, second = output(body), output(body)
    other = output(body.replace("seed(5)", "seed(6)"))
    assert first == second != other
    init = np.random.Generator(np.random.PCG64(np.random.SeedSequence([5, 0])))
    values = init.standard_normal(3).astype(np.float32)
    sample = np.random.Generator(np.random.PCG64(np.random.SeedSequence([5, 2])))
    from synapse.runtime.host import format_f32, format_f64
    assert first.splitlines() == ["[" + ", ".join(format_f32(float(v)) for v in values) + "]",
                                  format_f64(sample.random())]


def test_batches_are_windows_of_the_corpus_and_targets_are_shifted(tmp_path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_bytes(b"abcdefghijklmnopqrstuvwxyz\r\n" * 10)
    result, rec = run("""
    let x = tensor.data_batch(3, 5, 0);
    let y = tensor.data_targets();
    println(tensor.data_vocab(), " ", tensor.data_char(tensor.data_token('a' as i32)));
    """, corpus=corpus)
    assert result.status == "ok", result.message
    assert result.output == b"97 97\n"
    ((x, y),) = rec.batches
    ids = tensor_data.encode(corpus.read_bytes())
    train = ids[:int(len(ids) * 0.9)]
    for row_x, row_y in zip(x, y):
        start = int(np.flatnonzero(np.all(np.lib.stride_tricks.sliding_window_view(train, 5)
                                          == row_x, axis=1))[0])
        assert np.array_equal(train[start + 1:start + 6], row_y)
    # \r is outside the vocabulary and reads as '?'.
    assert tensor_data.decode(tensor_data.encode(b"a\r\tb")) == b"a?\tb"


def test_the_default_corpus_is_the_projects_syn_sources() -> None:
    files = tensor_data.default_corpus_files()
    names = {p.name for p in files}
    assert {"prelude.syn", "tensor.syn", "train_charlm.syn"} <= names
    assert all(p.suffix == ".syn" for p in files)
    result, rec = run("tensor.data_batch(2, 8, 1);")
    assert result.status == "ok" and rec.batches[0][0].shape == (2, 8)


def test_checkpoints_round_trip_in_safetensors_layout(tmp_path) -> None:
    ckpt = tmp_path / "m.safetensors"
    save = output("""
    tensor.seed(9);
    let w = tensor.randn2(1.0, 2, 3);
    tensor.param(w, "layer.w");
    tensor.param(tensor.full1(0.5, 4), "layer.b");
    println(tensor.ckpt_save());
    """, checkpoint=ckpt)
    assert save == "2\n"
    blob = ckpt.read_bytes()
    (length,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + length])
    assert length % 8 == 0
    assert header["layer.w"]["dtype"] == "F32" and header["layer.w"]["shape"] == [2, 3]
    begin, end = header["layer.b"]["data_offsets"]
    data = blob[8 + length:]
    assert np.array_equal(np.frombuffer(data[begin:end], "<f4"), np.full(4, 0.5, np.float32))
    init = np.random.Generator(np.random.PCG64(np.random.SeedSequence([9, 0])))
    w = init.standard_normal((2, 3)).astype(np.float32)
    begin, end = header["layer.w"]["data_offsets"]
    assert np.array_equal(np.frombuffer(data[begin:end], "<f4").reshape(2, 3), w)
    loaded = output("""
    let w = tensor.zeros2(2, 3);
    tensor.param(w, "layer.w");
    tensor.param(tensor.zeros1(4), "layer.b");
    println(tensor.ckpt_load());
    println(tensor.get(w, 5));
    """, checkpoint=ckpt)
    assert loaded == f"2\n{float(w[1, 2])}\n".replace(f"{float(w[1, 2])}", _f64_text(w[1, 2]))
    mismatch, _ = run('tensor.param(tensor.zeros1(3), "layer.w");\ntensor.ckpt_load();',
                      checkpoint=ckpt)
    assert mismatch.message == ("tensor.ckpt_load: checkpoint tensor 'layer.w' has shape [2, 3], "
                                "the parameter [3]")


def _f64_text(value: np.float32) -> str:
    from synapse.runtime.host import format_f64
    return format_f64(float(value))


def test_without_a_checkpoint_path_nothing_is_saved_or_loaded() -> None:
    assert output("tensor.param(tensor.zeros1(1), \"w\");\n"
                  "println(tensor.ckpt_save(), \" \", tensor.ckpt_load());") == "0 0\n"


def test_progress_reports_reach_the_host() -> None:
    seen = []
    output("tensor.progress(1, 10, 2.5, 64);\ntensor.progress(2, 10, 2.25, 64);",
           on_progress=lambda *a: seen.append(a))
    assert seen == [(1, 10, 2.5, 64), (2, 10, 2.25, 64)]
