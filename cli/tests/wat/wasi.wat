;; Exits with 10 × (its environment variables) + the errno of fd_prestat_get(3): 0 when a
;; directory was given to it, 8 (EBADF) when none was.
(module
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $env (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (drop (call $env (i32.const 0) (i32.const 4)))
    (call $exit
      (i32.add
        (i32.mul (i32.load (i32.const 0)) (i32.const 10))
        (call $prestat (i32.const 3) (i32.const 16))))))
