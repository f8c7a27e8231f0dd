;; A memory that may grow to 4 GiB: refused (memories are fixed-size).
;; ends: refused fixed size
(module
  (memory (export "memory") 1 65536)
  (func (export "main") (drop (memory.grow (i32.const 65535)))))
