;; A negative handle (forged from an arbitrary integer): refused like any unknown handle.
;; ends: trap tensor
;; message: invalid handle -7
(module
  (import "tensor" "zeros" (func $zeros (param i32 i32 i32 i32 i32) (result i32)))
  (import "tensor" "add" (func $add (param i32 i32) (result i32)))
  (memory (export "memory") 1 1)
  (func (export "main")
    (drop (call $add (call $zeros (i32.const 1) (i32.const 4) (i32.const 0) (i32.const 0) (i32.const 0))
                     (i32.const -7)))))
