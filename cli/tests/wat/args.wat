;; Writes its arguments to stdout as args_get gives them, each followed by a NUL byte (the first
;; is the guest's path), and exits with their count.
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    ;; 0: the count, 4: the size of the arguments' bytes; 1024: the pointers, 4096: the bytes.
    (if (call $sizes (i32.const 0) (i32.const 4)) (then unreachable))
    (if (call $args (i32.const 1024) (i32.const 4096)) (then unreachable))
    ;; One iovec at 16: the bytes, all of them.
    (i32.store (i32.const 16) (i32.const 4096))
    (i32.store (i32.const 20) (i32.load (i32.const 4)))
    (if (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)) (then unreachable))
    (call $exit (i32.load (i32.const 0)))))
