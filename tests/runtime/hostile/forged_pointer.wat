;; A write of 2 GiB from an address outside memory: the host refuses the pointer.
;; ends: trap invalid_pointer
(module
  (import "syn" "write" (func $write (param i32 i32)))
  (memory (export "memory") 1 1)
  (func (export "main") (call $write (i32.const -16) (i32.const 2147483647))))
