;; A WASI command whose one table declares TEST_UINT64 twice, as U64 (slot 0) and as F64
;; (slot 1), written from spec/ABI.md alone: the host refuses slot 1 with TYPE_MISMATCH, and the
;; guest traps with a bare `unreachable`, as an SDK does at a refused global's first read.
(module
  (import "wasmtime_global_v2" "declare" (func $declare (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 256) "TEST_UINT64")
  (data (i32.const 1024) "WGTB\02\00\00\00\40\00\00\00\08\00\00\00\02\00\00\00")

  (func (export "_start")
    (i64.store (i32.const 1088) (i64.const 0x5c9d25d639498198)) ;; slot 0: hash
    (i32.store (i32.const 1096) (i32.const 256))                ;; name
    (i32.store (i32.const 1100) (i32.const 11))                 ;; name length
    (i32.store (i32.const 1104) (i32.const 2))                  ;; U64
    (i64.store (i32.const 1152) (i64.const 0x5c9d25d639498198)) ;; slot 1: hash
    (i32.store (i32.const 1160) (i32.const 256))                ;; name
    (i32.store (i32.const 1164) (i32.const 11))                 ;; name length
    (i32.store (i32.const 1168) (i32.const 4))                  ;; F64
    (if (call $declare (i32.const 1024) (i32.const 0)) (then unreachable))
    (if (call $declare (i32.const 1024) (i32.const 1)) (then unreachable)))
)
