;; A loop with fuel to spare: stopped by the wall-clock limit (epoch interruption).
;; ends: exhausted time
;; fuel: 1000000000000000
;; time-limit: 0.2
(module
  (memory (export "memory") 1 1)
  (func (export "main") (loop $l (br $l))))
