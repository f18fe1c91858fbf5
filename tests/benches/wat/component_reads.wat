;; The component of `cargo bench --bench components`: the same global read through the project's
;; interface (`read` of its index, and a handle's `bits`), through `wasi:config/store`'s `get`,
;; and an empty host call, each `n` times in one call; and a request's 16 declarations and reads.
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
    (export "[method]global.index" (func (param "self" $borrow) (result u32)))
    (export "read" (func (param "index" u32) (result u64)))
  ))
  (import "wasi:config/store@0.2.0-rc.1" (instance $store
    (type $error' (variant (case "upstream" string) (case "io" string)))
    (export "error" (type $error (eq $error')))
    (type $get-result (result (option string) (error $error)))
    (export "get" (func (param "key" string) (result $get-result)))
  ))
  (import "empty" (func $empty))
  (alias export $g "[static]global.declare" (func $declare))
  (alias export $g "[method]global.bits" (func $bits))
  (alias export $g "[method]global.index" (func $index))
  (alias export $g "read" (func $read))
  (alias export $store "get" (func $get))

  (core module $libc
    (memory (export "memory") 1)
    (global $heap (mut i32) (i32.const 4096))
    ;; A bump allocator that starts again at every `reset`: what `get` returns is dropped.
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $at i32)
      (local.set $at
        (i32.and
          (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
          (i32.sub (i32.const 0) (local.get 2))))
      (global.set $heap (i32.add (local.get $at) (local.get 3)))
      (local.get $at))
    (func (export "reset") (global.set $heap (i32.const 4096))))
  (core instance $libc (instantiate $libc))
  (core func $declare (canon lower (func $declare) (memory (core memory $libc "memory"))))
  (core func $bits (canon lower (func $bits)))
  (core func $index (canon lower (func $index)))
  (core func $read (canon lower (func $read)))
  (core func $get (canon lower (func $get)
    (memory (core memory $libc "memory")) (realloc (core func $libc "realloc"))))
  (core func $empty (canon lower (func $empty)))

  (core module $main
    (import "libc" "memory" (memory 1))
    (import "libc" "reset" (func $reset))
    (import "g" "declare" (func $declare (param i32 i32 i32 i64 i32)))
    (import "g" "bits" (func $bits (param i32) (result i64)))
    (import "g" "index" (func $index (param i32) (result i32)))
    (import "g" "read" (func $read (param i32) (result i64)))
    (import "g" "get" (func $get (param i32 i32 i32)))
    (import "g" "empty" (func $empty))
    ;; Names of 3 bytes: BENCH's first, then R00 to R15.
    (data (i32.const 100) "BENCH")
    (data (i32.const 200) "R00R01R02R03R04R05R06R07R08R09R10R11R12R13R14R15")
    (global $bench (mut i32) (i32.const -1))
    ;; Declares the name at `name` (`len` bytes) as U64 with default 1; returns the handle. The
    ;; result's case at 16, the handle at 20; a refusal traps.
    (func $declare-u64 (param $name i32) (param $len i32) (result i32)
      (call $declare (local.get $name) (local.get $len) (i32.const 1) (i64.const 1) (i32.const 16))
      (if (i32.load8_u (i32.const 16)) (then unreachable))
      (i32.load (i32.const 20)))
    (func $bench (result i32)
      (if (i32.eq (global.get $bench) (i32.const -1))
        (then (global.set $bench (call $declare-u64 (i32.const 100) (i32.const 5)))))
      (global.get $bench))
    (func (export "handle-reads") (param $n i32) (result i64)
      (local $sum i64) (local $h i32)
      (local.set $h (call $bench))
      (block $done
        (loop $next
          (br_if $done (i32.eqz (local.get $n)))
          (local.set $sum (i64.add (local.get $sum) (call $bits (local.get $h))))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $next)))
      (local.get $sum))
    (func (export "index-reads") (param $n i32) (result i64)
      (local $sum i64) (local $i i32)
      (local.set $i (call $index (call $bench)))
      (block $done
        (loop $next
          (br_if $done (i32.eqz (local.get $n)))
          (local.set $sum (i64.add (local.get $sum) (call $read (local.get $i))))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $next)))
      (local.get $sum))
    ;; get's answer at 32: result case (32), option case (36), string (40, 44). Returns the
    ;; total length of the values read.
    (func (export "config-gets") (param $n i32) (result i64)
      (local $sum i64)
      (block $done
        (loop $next
          (br_if $done (i32.eqz (local.get $n)))
          (call $reset)
          (call $get (i32.const 100) (i32.const 5) (i32.const 32))
          (local.set $sum (i64.add (local.get $sum) (i64.extend_i32_u (i32.load (i32.const 44)))))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $next)))
      (local.get $sum))
    (func (export "empty-calls") (param $n i32)
      (block $done
        (loop $next
          (br_if $done (i32.eqz (local.get $n)))
          (call $empty)
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $next))))
    ;; A request: declares R00 to R15 and reads each once.
    (func (export "read-16") (result i64)
      (local $i i32) (local $sum i64)
      (block $done
        (loop $next
          (br_if $done (i32.eq (local.get $i) (i32.const 16)))
          (local.set $sum (i64.add (local.get $sum)
            (call $bits (call $declare-u64
              (i32.add (i32.const 200) (i32.mul (local.get $i) (i32.const 3))) (i32.const 3)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $next)))
      (local.get $sum)))
  (core instance $main (instantiate $main
    (with "libc" (instance $libc))
    (with "g" (instance
      (export "declare" (func $declare))
      (export "bits" (func $bits))
      (export "index" (func $index))
      (export "read" (func $read))
      (export "get" (func $get))
      (export "empty" (func $empty))))))

  (func (export "handle-reads") (param "n" u32) (result u64)
    (canon lift (core func $main "handle-reads")))
  (func (export "index-reads") (param "n" u32) (result u64)
    (canon lift (core func $main "index-reads")))
  (func (export "config-gets") (param "n" u32) (result u64)
    (canon lift (core func $main "config-gets")))
  (func (export "empty-calls") (param "n" u32) (canon lift (core func $main "empty-calls")))
  (func (export "read-16") (result u64) (canon lift (core func $main "read-16")))
)
