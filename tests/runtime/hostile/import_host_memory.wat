;; Importing a memory (to share one with the host): refused.
;; ends: refused import not allowed: env.memory
(module
  (import "env" "memory" (memory 1 1))
  (func (export "main")))
