;; A start function that never returns, with fuel to spare: stopped by the wall clock.
;; ends: exhausted time
;; fuel: 1000000000000000
;; time-limit: 0.2
(module
  (memory (export "memory") 1 1)
  (func $spin (loop $l (br $l)))
  (start $spin)
  (func (export "main")))
