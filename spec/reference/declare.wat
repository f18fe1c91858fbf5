;; A guest for the malformed-table vectors (spec/vectors/malformed.json, CONFORMANCE.md §4): one
;; page of memory that the test writes a case's image into, and an export that calls
;; declare(table, index) for it. Written from spec/ABI.md alone.
(module
  (import "wasmtime_global_v3" "declare" (func $declare (param i32 i32) (result i32)))
  (memory (export "memory") 1 1)
  (func (export "call") (param $table i32) (param $index i32) (result i32)
    (call $declare (local.get $table) (local.get $index))))
