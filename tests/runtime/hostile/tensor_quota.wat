;; Tensors beyond the per-run host-memory quota (2**30 float32 elements asked at once, then
;; many smaller ones kept alive): a trap, with nothing allocated on the host.
;; ends: trap tensor
;; message: live elements
(module
  (import "tensor" "zeros" (func $zeros (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1 1)
  (func (export "main")
    (loop $l
      (drop (call $zeros (i32.const 2) (i32.const 8192) (i32.const 4096) (i32.const 0) (i32.const 0)))
      (br $l))))
