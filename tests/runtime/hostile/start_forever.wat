;; A start function that never returns: stopped by fuel while instantiating.
;; ends: exhausted fuel
;; fuel: 1000000
(module
  (memory (export "memory") 1 1)
  (func $spin (loop $l (br $l)))
  (start $spin)
  (func (export "main")))
