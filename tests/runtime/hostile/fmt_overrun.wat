;; Number formatting aimed at the last bytes of memory: the host checks the destination.
;; ends: trap invalid_pointer
(module
  (import "syn" "fmt_f64" (func $fmt (param f64 i32) (result i32)))
  (memory (export "memory") 1 1)
  (func (export "main") (drop (call $fmt (f64.const 1e300) (i32.const 65533)))))
