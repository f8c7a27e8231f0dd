;; A loop spending its time in host calls (little fuel per second): stopped by the clock.
;; ends: exhausted time
;; fuel: 1000000000000000
;; time-limit: 0.3
(module
  (import "syn" "input_len" (func $input_len (result i32)))
  (memory (export "memory") 1 1)
  (func (export "main") (loop $l (drop (call $input_len)) (br $l))))
