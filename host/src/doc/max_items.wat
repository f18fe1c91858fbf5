;; The guest of the crate documentation's examples, written from spec/ABI.md alone: one global,
;; MAX_ITEMS (U64, default 10), declared at its first read, then read with one load.
(module
  (import "wasmtime_global_v2" "declare" (func $declare (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 256) "MAX_ITEMS")
  ;; The table at 1024: the header (version 2, slot size 64, capacity 1, count 1) and slot 0
  ;; (hash, name at 256 of 9 bytes, type U64, default 10, value 10), the rest zero.
  (data (i32.const 1024) "WGTB\02\00\00\00\40\00\00\00\01\00\00\00\01\00\00\00")
  (data (i32.const 1088) "\ae\c5\7c\25\f6\35\18\6e\00\01\00\00\09\00\00\00\02\00\00\00\00\00\00\00\0a\00\00\00\00\00\00\00\0a")
  (global $declared (mut i32) (i32.const 0))
  (func (export "max_items") (result i64)
    (if (i32.eqz (global.get $declared))
      (then
        (if (call $declare (i32.const 1024) (i32.const 0)) (then unreachable))
        (global.set $declared (i32.const 1))))
    (i64.load (i32.const 1120))))
