;; A WASI guest with one global, TEST_UINT64 (U64, default 42), in an ordinary memory, written
;; from spec/ABI.md alone. As a command, _start exits with the global's value. As a reactor,
;; _initialize declares it and `wait_change` spins until it is no longer 7, and returns it.
(module
  (import "wasmtime_global_v2" "declare" (func $declare (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 256) "TEST_UINT64")
  (data (i32.const 1024) "WGTB\02\00\00\00\40\00\00\00\08\00\00\00\00\00\00\00")

  (func $init
    (i64.store (i32.const 1088) (i64.const 0x5c9d25d639498198)) ;; slot 0: hash
    (i32.store (i32.const 1096) (i32.const 256))                ;; name
    (i32.store (i32.const 1100) (i32.const 11))                 ;; name length
    (i32.store (i32.const 1104) (i32.const 2))                  ;; U64
    (i64.store (i32.const 1112) (i64.const 42))                 ;; default
    (i64.store (i32.const 1120) (i64.const 42))                 ;; value
    (i32.store (i32.const 1040) (i32.const 1))                  ;; count
    (if (call $declare (i32.const 1024) (i32.const 0)) (then unreachable)))

  (func $read (result i64) (i64.load (i32.const 1120)))

  (func (export "_start")
    (call $init)
    (call $exit (i32.wrap_i64 (call $read))))

  (func (export "_initialize") (call $init))

  (func (export "wait_change") (result i64)
    (loop $again
      (br_if $again (i64.eq (call $read) (i64.const 7))))
    (call $read))
)
