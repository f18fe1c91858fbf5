;; A WASI preview 1 command for the crate documentation's WASI example: `_start` reads MAX_ITEMS
;; (U64, default 10) and exits with it as its status. The table is laid out as in max_items.wat.
(module
  (import "wasmtime_global_v2" "declare" (func $declare (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 256) "MAX_ITEMS")
  (data (i32.const 1024) "WGTB\02\00\00\00\40\00\00\00\01\00\00\00\01\00\00\00")
  (data (i32.const 1088) "\ae\c5\7c\25\f6\35\18\6e\00\01\00\00\09\00\00\00\02\00\00\00\00\00\00\00\0a\00\00\00\00\00\00\00\0a")
  (func (export "_start")
    (if (call $declare (i32.const 1024) (i32.const 0)) (then unreachable))
    (call $exit (i32.wrap_i64 (i64.load (i32.const 1120))))))
