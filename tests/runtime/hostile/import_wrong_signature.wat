;; A whitelisted name with another signature (to confuse the host): refused.
;; ends: refused wrong signature
(module
  (import "syn" "write" (func (param i64 i64)))
  (memory (export "memory") 1 1)
  (func (export "main")))
