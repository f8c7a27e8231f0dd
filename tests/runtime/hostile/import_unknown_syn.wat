;; A host function that is not on the whitelist: refused.
;; ends: refused import not allowed: syn.system
(module
  (import "syn" "system" (func (param i32) (result i32)))
  (memory (export "memory") 1 1)
  (func (export "main")))
