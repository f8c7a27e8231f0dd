;; A load past the end of the arena (no guard pages here: explicit bounds checks).
;; ends: trap memory_bounds
(module
  (memory (export "memory") 1 1)
  (func (export "main") (drop (i64.load (i32.const 65533)))))
