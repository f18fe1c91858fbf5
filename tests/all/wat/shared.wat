;; The test profile of scenario.wat in a shared memory, written from spec/ABI.md alone: the host
;; writes the table from other threads while this guest runs, so every read of it is atomic.
;;
;; Extra exports for the concurrency tests:
;; - `torn(i, n)`: reads global i n times; counts values whose two 32-bit halves differ.
;; - `consistent(i, j, n)`: n snapshots of globals i and j with the generation protocol
;;   (spec/ABI.md §10); counts snapshots where they differ.
;; - `changes(i)`: slot i's change counter; `generation()`: the table's generation.
;; - `declare_one(i)`: declares global i alone (`init` declares all five).
(module
  (import "wasmtime_global_v2" "declare" (func $declare (param i32 i32) (result i32)))
  (memory (export "memory") 1 1 shared)

  (data (i32.const 256) "TEST_BOOL")
  (data (i32.const 272) "TEST_UINT64")
  (data (i32.const 288) "TEST_DURATION")
  (data (i32.const 304) "TEST_INT64")
  (data (i32.const 320) "TEST_FLOAT64")
  (data (i32.const 1024) "WGTB\02\00\00\00\40\00\00\00\08\00\00\00\00\00\00\00")

  (global $table i32 (i32.const 1024))

  (func $slot (param $i i32) (result i32)
    (i32.add (global.get $table) (i32.add (i32.const 64) (i32.mul (local.get $i) (i32.const 64)))))

  (func $declare_slot (param $i i32) (param $hash i64) (param $name i32) (param $len i32)
                      (param $ty i32) (param $default i64)
    (local $s i32)
    (local.set $s (call $slot (local.get $i)))
    (i64.store offset=0 (local.get $s) (local.get $hash))
    (i32.store offset=8 (local.get $s) (local.get $name))
    (i32.store offset=12 (local.get $s) (local.get $len))
    (i32.store offset=16 (local.get $s) (local.get $ty))
    (i64.store offset=24 (local.get $s) (local.get $default))
    (i64.atomic.store offset=32 (local.get $s) (local.get $default))
    ;; count = max(count, i + 1): another instance of the memory may have declared a later slot.
    (if (i32.lt_u (i32.atomic.load offset=16 (global.get $table)) (i32.add (local.get $i) (i32.const 1)))
      (then (i32.atomic.store offset=16 (global.get $table) (i32.add (local.get $i) (i32.const 1)))))
    (if (i32.ne (call $declare (global.get $table) (local.get $i)) (i32.const 0)) (then unreachable)))

  ;; Declares global $i (0 to 4) alone.
  (func $declare_global (export "declare_one") (param $i i32)
    (if (i32.eq (local.get $i) (i32.const 0)) (then
      (call $declare_slot (i32.const 0) (i64.const 0x2f65cee8db02e502) (i32.const 256) (i32.const 9)
                          (i32.const 1) (i64.const 1))))
    (if (i32.eq (local.get $i) (i32.const 1)) (then
      (call $declare_slot (i32.const 1) (i64.const 0x5c9d25d639498198) (i32.const 272) (i32.const 11)
                          (i32.const 2) (i64.const 42))))
    (if (i32.eq (local.get $i) (i32.const 2)) (then
      (call $declare_slot (i32.const 2) (i64.const 0x94d191a82a38c862) (i32.const 288) (i32.const 13)
                          (i32.const 5) (i64.const 60000000000))))
    (if (i32.eq (local.get $i) (i32.const 3)) (then
      (call $declare_slot (i32.const 3) (i64.const 0xd36e40cee137a34d) (i32.const 304) (i32.const 10)
                          (i32.const 3) (i64.const -7))))
    (if (i32.eq (local.get $i) (i32.const 4)) (then
      (call $declare_slot (i32.const 4) (i64.const 0x9b7fd36afdb9e7e6) (i32.const 320) (i32.const 12)
                          (i32.const 4) (i64.const 0x3FF8000000000000)))))

  (func (export "init")
    (call $declare_global (i32.const 0))
    (call $declare_global (i32.const 1))
    (call $declare_global (i32.const 2))
    (call $declare_global (i32.const 3))
    (call $declare_global (i32.const 4)))

  (func $read (param $i i32) (result i64)
    (i64.atomic.load offset=32 (call $slot (local.get $i))))

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

  (func (export "spin") (param $i i32) (param $old i64) (result i64)
    (local $v i64)
    (loop $again
      (local.set $v (call $read (local.get $i)))
      (br_if $again (i64.eq (local.get $v) (local.get $old))))
    (local.get $v))

  (func (export "torn") (param $i i32) (param $n i32) (result i32)
    (local $v i64) (local $bad i32)
    (block $done
      (loop $next
        (br_if $done (i32.le_s (local.get $n) (i32.const 0)))
        (local.set $v (call $read (local.get $i)))
        (if (i64.ne (i64.shr_u (local.get $v) (i64.const 32)) (i64.and (local.get $v) (i64.const 0xffffffff)))
          (then (local.set $bad (i32.add (local.get $bad) (i32.const 1)))))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $bad))

  ;; One snapshot: read generation g (retry while odd), read both values, read generation again
  ;; (retry if it moved). Counts snapshots whose two values differ.
  (func (export "consistent") (param $i i32) (param $j i32) (param $n i32) (result i32)
    (local $g i64) (local $a i64) (local $b i64) (local $bad i32)
    (block $done
      (loop $next
        (br_if $done (i32.le_s (local.get $n) (i32.const 0)))
        (loop $retry
          (local.set $g (i64.atomic.load offset=24 (global.get $table)))
          (br_if $retry (i32.wrap_i64 (i64.and (local.get $g) (i64.const 1))))
          (local.set $a (call $read (local.get $i)))
          (local.set $b (call $read (local.get $j)))
          (br_if $retry (i64.ne (local.get $g) (i64.atomic.load offset=24 (global.get $table)))))
        (if (i64.ne (local.get $a) (local.get $b))
          (then (local.set $bad (i32.add (local.get $bad) (i32.const 1)))))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $bad))

  ;; The same without the generation protocol, to show what it prevents.
  (func (export "inconsistent_raw") (param $i i32) (param $j i32) (param $n i32) (result i32)
    (local $bad i32)
    (block $done
      (loop $next
        (br_if $done (i32.le_s (local.get $n) (i32.const 0)))
        (if (i64.ne (call $read (local.get $i)) (call $read (local.get $j)))
          (then (local.set $bad (i32.add (local.get $bad) (i32.const 1)))))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $bad))

  (func (export "generation") (result i64)
    (i64.atomic.load offset=24 (global.get $table)))

  (func (export "changes") (param $i i32) (result i64)
    (i64.atomic.load offset=40 (call $slot (local.get $i))))
)
