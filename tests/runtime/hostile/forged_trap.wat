;; A trap call with an unknown kind and a message pointer past memory: still a clean trap.
;; ends: trap invalid_trap
(module
  (import "syn" "trap" (func $trap (param i32 i32 i64 i64)))
  (memory (export "memory") 1 1)
  (func (export "main") (call $trap (i32.const 77) (i32.const 1000000) (i64.const -1) (i64.const -1))))
