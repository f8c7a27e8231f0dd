;; Reaching for WASI: refused before anything runs.
;; ends: refused import not allowed: wasi_snapshot_preview1.fd_write
(module
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1 1)
  (func (export "main")))
