;; Using a tensor after freeing it: the handle is not reused, the use is a trap.
;; ends: trap tensor
;; message: was freed
(module
  (import "tensor" "zeros" (func $zeros (param i32 i32 i32 i32 i32) (result i32)))
  (import "tensor" "free" (func $free (param i32)))
  (import "tensor" "numel" (func $numel (param i32) (result i32)))
  (memory (export "memory") 1 1)
  (func (export "main") (local $t i32)
    (local.set $t (call $zeros (i32.const 1) (i32.const 4) (i32.const 0) (i32.const 0) (i32.const 0)))
    (call $free (local.get $t))
    (drop (call $numel (local.get $t)))))
