;; A tensor handle that was never made: a trap naming the function, the host unharmed.
;; ends: trap tensor
;; message: tensor.numel: invalid handle 12345
(module
  (import "tensor" "numel" (func $numel (param i32) (result i32)))
  (memory (export "memory") 1 1)
  (func (export "main") (drop (call $numel (i32.const 12345)))))
