;; The test profile written from spec/ABI.md alone, with no SDK: `init()` declares five globals,
;; `get(i)` reads global i's value field with one i64.load, `sum(i, n)` reads it n times.
;;
;; Memory map: names at 256..336, the table at 1024 (8-aligned) with capacity 8 (576 bytes).
(module
  (import "wasmtime_global_v2" "declare" (func $declare (param i32 i32) (result i32)))
  (memory (export "memory") 1)

  ;; Names (UTF-8, no NUL).
  (data (i32.const 256) "TEST_BOOL")
  (data (i32.const 272) "TEST_UINT64")
  (data (i32.const 288) "TEST_DURATION")
  (data (i32.const 304) "TEST_INT64")
  (data (i32.const 320) "TEST_FLOAT64")

  ;; Header: magic "WGTB", version 2, slot_size 64, capacity 8, count 0; the rest zero.
  (data (i32.const 1024) "WGTB\02\00\00\00\40\00\00\00\08\00\00\00\00\00\00\00")

  (global $table i32 (i32.const 1024))

  ;; Address of slot $i's first byte: table + 64 + i * 64.
  (func $slot (param $i i32) (result i32)
    (i32.add (global.get $table) (i32.add (i32.const 64) (i32.mul (local.get $i) (i32.const 64)))))

  ;; Fills slot $i, raises count to $i + 1, declares it; traps on any status but OK (0).
  (func $declare_slot (param $i i32) (param $hash i64) (param $name i32) (param $len i32)
                      (param $ty i32) (param $default i64)
    (local $s i32)
    (local.set $s (call $slot (local.get $i)))
    (i64.store offset=0 (local.get $s) (local.get $hash))
    (i32.store offset=8 (local.get $s) (local.get $name))
    (i32.store offset=12 (local.get $s) (local.get $len))
    (i32.store offset=16 (local.get $s) (local.get $ty))
    (i64.store offset=24 (local.get $s) (local.get $default))
    (i64.store offset=32 (local.get $s) (local.get $default))
    (i32.store offset=16 (global.get $table) (i32.add (local.get $i) (i32.const 1)))
    (if (i32.ne (call $declare (global.get $table) (local.get $i)) (i32.const 0)) (then unreachable)))

  ;; Hashes are FNV-1a 64 of the names (spec/ABI.md, "Name hash").
  (func (export "init")
    (call $declare_slot (i32.const 0) (i64.const 0x2f65cee8db02e502) (i32.const 256) (i32.const 9)
                        (i32.const 1) (i64.const 1))
    (call $declare_slot (i32.const 1) (i64.const 0x5c9d25d639498198) (i32.const 272) (i32.const 11)
                        (i32.const 2) (i64.const 42))
    (call $declare_slot (i32.const 2) (i64.const 0x94d191a82a38c862) (i32.const 288) (i32.const 13)
                        (i32.const 5) (i64.const 60000000000))
    (call $declare_slot (i32.const 3) (i64.const 0xd36e40cee137a34d) (i32.const 304) (i32.const 10)
                        (i32.const 3) (i64.const -7))
    (call $declare_slot (i32.const 4) (i64.const 0x9b7fd36afdb9e7e6) (i32.const 320) (i32.const 12)
                        (i32.const 4) (i64.const 0x3FF8000000000000)))

  (func $read (param $i i32) (result i64)
    (i64.load offset=32 (call $slot (local.get $i))))

  (func (export "get") (param $i i32) (result i64) (call $read (local.get $i)))

  (func (export "sum") (param $i i32) (param $n i32) (result i64)
    (local $total i64)
    (block $done
      (loop $next
        (br_if $done (i32.le_s (local.get $n) (i32.const 0)))
        (local.set $total (i64.add (local.get $total) (call $read (local.get $i))))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $total))
;; Reads global i until it is not `old`; returns the new value. No host call.
  (func (export "spin") (param $i i32) (param $old i64) (result i64)
    (local $v i64)
    (loop $again
      (local.set $v (call $read (local.get $i)))
      (br_if $again (i64.eq (local.get $v) (local.get $old))))
    (local.get $v))
)
