"""Binaryen hook (compiler/optimize.py): optimised modules validate (wasmtime and Binaryen),
behave like the input, keep function names, and bad input raises a Python exception instead of
ending the process."""
from __future__ import annotations

import sys

import pytest
import wasmtime

from synapse.compiler import optimize as opt
from synapse.compiler.optimize import (OptimizerError, OptimizerUnavailable, optimize,
                                       validate_with_binaryen)
from synapse.compiler.wasm import Module

needs_binaryen = pytest.mark.skipif(not opt.optimizer_available(),
                                    reason="icpp-binaryen (the 'opt' extra) is not installed")


def instance(binary: bytes) -> tuple[wasmtime.Store, wasmtime.Instance]:
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    return store, wasmtime.Instance(store, wasmtime.Module(engine, binary), [])


def sample_module() -> bytes:
    """fib through a helper, a byte-summing loop over a data segment, bulk memory, sign
    extension and a saturating truncation: everything Synapse's feature set allows."""
    m = Module()
    m.set_memory(1, 1)
    m.add_global("i32", True, 64)
    m.add_data(8, bytes(range(1, 11)))
    fib = m.reserve_func("main.fib", ("i32",), ("i32",))
    add = m.add_func("main.add", ("i32", "i32"), ("i32",), ["i32"], [
        ("local.get", 0), ("local.get", 1), ("i32.add",), ("local.tee", 2), ("drop",),
        ("local.get", 2)])
    m.set_func_body(fib, [], [
        ("local.get", 0), ("i32.const", 2), ("i32.lt_s",),
        ("if", "i32"), ("local.get", 0),
        ("else",),
        ("local.get", 0), ("i32.const", 1), ("i32.sub",), ("call", fib),
        ("local.get", 0), ("i32.const", 2), ("i32.sub",), ("call", fib), ("call", add),
        ("end",)])
    total = m.add_func("main.total", (), ("i32",), ["i32", "i32"], [
        ("i32.const", 100), ("i32.const", 8), ("i32.const", 10), ("memory.copy",),
        ("i32.const", 110), ("i32.const", 0xF0), ("i32.const", 2), ("memory.fill",),
        ("block", None), ("loop", None),
        ("local.get", 0), ("i32.const", 12), ("i32.ge_s",), ("br_if", 1),
        ("local.get", 1), ("local.get", 0), ("i32.load8_u", 0, 100), ("i32.extend8_s",),
        ("call", add), ("local.set", 1),
        ("local.get", 0), ("i32.const", 1), ("i32.add",), ("local.set", 0),
        ("br", 0), ("end",), ("end",),
        ("local.get", 1), ("f64.const", 1e12), ("i32.trunc_sat_f64_s",), ("i32.const", 0),
        ("i32.mul",), ("i32.add",)])
    boom = m.add_func("main.boom", (), (), [], [("unreachable",)])
    m.export_func("fib", fib)
    m.export_func("total", total)
    m.export_func("boom", boom)
    return m.encode()


# 1+..+10 = 55, plus two 0xF0 bytes read as signed (-16 each).
EXPECTED_TOTAL = 55 - 32


def test_sample_module_reference_behaviour() -> None:
    store, inst = instance(sample_module())
    assert inst.exports(store)["fib"](store, 20) == 6765
    assert inst.exports(store)["total"](store) == EXPECTED_TOTAL


@needs_binaryen
@pytest.mark.parametrize("level", [0, 1, 2, 3, 4])
def test_optimized_module_behaves_the_same(level: int) -> None:
    original = sample_module()
    optimized = optimize(original, level)
    wasmtime.Module.validate(wasmtime.Engine(), optimized)
    assert validate_with_binaryen(optimized)
    store, inst = instance(optimized)
    assert inst.exports(store)["fib"](store, 20) == 6765
    assert inst.exports(store)["total"](store) == EXPECTED_TOTAL
    if level >= 2:
        assert len(optimized) < len(original)


@needs_binaryen
def test_function_names_survive_optimisation() -> None:
    store, inst = instance(optimize(sample_module()))
    with pytest.raises(wasmtime.Trap) as info:
        inst.exports(store)["boom"](store)
    assert info.value.frames[0].func_name == "main.boom"


@needs_binaryen
def test_optimize_is_deterministic() -> None:
    assert optimize(sample_module()) == optimize(sample_module())


@needs_binaryen
def test_binaryen_validates_our_encoder_output() -> None:
    assert validate_with_binaryen(sample_module())


@pytest.mark.parametrize("garbage", [
    b"", b"garbage", b"\x00asm", b"\x00asm\x01\x00\x00\x00\x01",
    b"\x00asm\x01\x00\x00\x00\x01\x04\x01\x60\x00\x00\x03\x02\x01\x05",  # bad type index
])
def test_garbage_raises_instead_of_exiting(garbage: bytes) -> None:
    with pytest.raises(OptimizerError):
        optimize(garbage)
    assert validate_with_binaryen(garbage) is False


def test_features_outside_synapse_set_are_refused() -> None:
    simd = wasmtime.wat2wasm("(module (func (result i32) v128.const i64x2 0 0 "
                             "i32x4.extract_lane 0))")
    wasmtime.Module.validate(wasmtime.Engine(), simd)  # valid Wasm in general...
    with pytest.raises(OptimizerError):
        optimize(simd)  # ...but not for the feature set Binaryen is told about
    multi = wasmtime.wat2wasm("(module (func (result i32 i32) i32.const 1 i32.const 2))")
    with pytest.raises(OptimizerError):
        optimize(multi)


def test_bad_level_is_rejected() -> None:
    with pytest.raises(ValueError):
        optimize(sample_module(), level=7)


def test_missing_binaryen_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    opt.load_binaryen.cache_clear()
    monkeypatch.setitem(sys.modules, "icpp_binaryen", None)  # import now raises ImportError
    try:
        with pytest.raises(OptimizerUnavailable, match=r"synapse-lang\[opt\]"):
            optimize(sample_module())
        assert opt.optimizer_available() is False
    finally:
        opt.load_binaryen.cache_clear()
