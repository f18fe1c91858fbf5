;; A hostile guest in a shared memory, for the `hostile` benchmark and the stress test: its table
;; (at 65,536) holds 65,536 slots, and it declares as many as the host lets it.
;; - `run(name, len, hash, n)` declares slots 0 to n - 1 as U64 globals all named by the `len`
;;   bytes at `name` (whose FNV-1a hash is `hash`); names at 256: "H", 257: "U", 264: "conf.u64".
;; - `distinct(n)` declares slots 0 to n - 1 with n different names.
;; Each returns how many declarations the host accepted (a declaration past a limit traps).
;; - `value(i)`: slot i's value field.
(module
  (import "wasmtime_global_v2" "declare" (func $declare (param i32 i32) (result i32)))
  (memory (export "memory") 80 80 shared)
  (data (i32.const 256) "HU")
  (data (i32.const 264) "conf.u64")
  (data (i32.const 65536) "WGTB\02\00\00\00\40\00\00\00\00\00\01\00")
  (func (export "run") (param $name i32) (param $len i32) (param $hash i64) (param $n i32)
                      (result i32)
    (local $i i32) (local $s i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $s (i32.add (i32.const 65600) (i32.shl (local.get $i) (i32.const 6))))
        (i64.store (local.get $s) (local.get $hash))
        (i32.store offset=8 (local.get $s) (local.get $name))
        (i32.store offset=12 (local.get $s) (local.get $len))
        (i32.store offset=16 (local.get $s) (i32.const 2))
        (i32.atomic.store (i32.const 65552) (i32.add (local.get $i) (i32.const 1)))
        (br_if $done (call $declare (i32.const 65536) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $i))
  ;; FNV-1a of the `len` bytes at `p`.
  (func $fnv (param $p i32) (param $len i32) (result i64)
    (local $h i64) (local $end i32)
    (local.set $h (i64.const 0xcbf29ce484222325))
    (local.set $end (i32.add (local.get $p) (local.get $len)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $h (i64.mul (i64.xor (local.get $h) (i64.load8_u (local.get $p)))
                               (i64.const 0x100000001b3)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (local.get $h))
  ;; Declares slots 0 to n - 1 with n different names: "N" and 7 letters from slot index (at
  ;; 66 pages, 8 bytes apart); returns how many the host accepted.
  (func (export "distinct") (param $n i32) (result i32)
    (local $i i32) (local $s i32) (local $name i32) (local $k i32) (local $v i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $name (i32.add (i32.const 4325376) (i32.shl (local.get $i) (i32.const 3))))
        (i32.store8 (local.get $name) (i32.const 78))
        (local.set $k (i32.const 7))
        (local.set $v (local.get $i))
        (loop $letter
          (i32.store8 (i32.add (local.get $name) (local.get $k))
                      (i32.add (i32.const 65) (i32.and (local.get $v) (i32.const 15))))
          (local.set $v (i32.shr_u (local.get $v) (i32.const 4)))
          (local.set $k (i32.sub (local.get $k) (i32.const 1)))
          (br_if $letter (local.get $k)))
        (local.set $s (i32.add (i32.const 65600) (i32.shl (local.get $i) (i32.const 6))))
        (i64.store (local.get $s) (call $fnv (local.get $name) (i32.const 8)))
        (i32.store offset=8 (local.get $s) (local.get $name))
        (i32.store offset=12 (local.get $s) (i32.const 8))
        (i32.store offset=16 (local.get $s) (i32.const 2))
        (i32.atomic.store (i32.const 65552) (i32.add (local.get $i) (i32.const 1)))
        (br_if $done (call $declare (i32.const 65536) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $i))
  (func (export "value") (param $i i32) (result i64)
    (i64.atomic.load offset=65632 (i32.shl (local.get $i) (i32.const 6)))))
