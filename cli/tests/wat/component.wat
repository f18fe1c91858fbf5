;; A component that reads MAX_ITEMS (U64, default 10) through the project's interface
;; (`spec/wit/globals.wit`), written from it alone: `max-items` returns it, `wait-change` returns
;; it once it is no longer what it was at the call's start (reads are live), and as a
;; `wasi:cli` command its `run` succeeds only while MAX_ITEMS is above 10.
(component
  (import "wasmtime-global:globals/globals@0.1.0" (instance $g
    (export "global" (type $global (sub resource)))
    (type $value-type' (enum "bool" "u64" "i64" "f64" "duration"))
    (export "value-type" (type $value-type (eq $value-type')))
    (type $value' (variant
      (case "bool" bool) (case "u64" u64) (case "i64" s64) (case "f64" f64) (case "duration" s64)))
    (export "value" (type $value (eq $value')))
    (type $limit' (enum "declarations" "host-bytes" "registry-host-bytes"))
    (export "limit" (type $limit (eq $limit')))
    (type $error' (variant
      (case "type-mismatch" $value-type) (case "invalid-name") (case "limit-exceeded" $limit)))
    (export "error" (type $error (eq $error')))
    (type $own (own $global))
    (type $declared (result $own (error $error)))
    (export "[static]global.declare"
      (func (param "name" string) (param "default" $value) (result $declared)))
    (type $borrow (borrow $global))
    (export "[method]global.bits" (func (param "self" $borrow) (result u64)))
  ))
  (alias export $g "[static]global.declare" (func $declare))
  (alias export $g "[method]global.bits" (func $bits))

  (core module $libc (memory (export "memory") 1))
  (core instance $libc (instantiate $libc))
  (core func $declare (canon lower (func $declare) (memory (core memory $libc "memory"))))
  (core func $bits (canon lower (func $bits)))

  (core module $main
    (import "libc" "memory" (memory 1))
    ;; declare(name, name length, the default's case, its payload, where the result goes)
    (import "g" "declare" (func $declare (param i32 i32 i32 i64 i32)))
    (import "g" "bits" (func $bits (param i32) (result i64)))
    (data (i32.const 100) "MAX_ITEMS")
    (global $handle (mut i32) (i32.const -1))
    ;; The handle, declared at the first read: the result's case at 16, the handle at 20. A
    ;; refusal traps.
    (func $handle (result i32)
      (if (i32.eq (global.get $handle) (i32.const -1))
        (then
          (call $declare (i32.const 100) (i32.const 9) (i32.const 1) (i64.const 10) (i32.const 16))
          (if (i32.load8_u (i32.const 16)) (then unreachable))
          (global.set $handle (i32.load (i32.const 20)))))
      (global.get $handle))
    (func (export "max-items") (result i64) (call $bits (call $handle)))
    (func (export "wait-change") (result i64)
      (local $was i64) (local $now i64)
      (local.set $was (call $bits (call $handle)))
      (loop $spin
        (local.set $now (call $bits (call $handle)))
        (br_if $spin (i64.eq (local.get $now) (local.get $was))))
      (local.get $now))
    ;; `result` with no payloads: 0 ok, 1 error.
    (func (export "run") (result i32)
      (i64.le_u (call $bits (call $handle)) (i64.const 10))))
  (core instance $main (instantiate $main
    (with "libc" (instance $libc))
    (with "g" (instance (export "declare" (func $declare)) (export "bits" (func $bits))))))

  (func (export "max-items") (result u64) (canon lift (core func $main "max-items")))
  (func (export "wait-change") (result u64) (canon lift (core func $main "wait-change")))
  (func $run (result (result)) (canon lift (core func $main "run")))
  (instance $run (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $run))
)
