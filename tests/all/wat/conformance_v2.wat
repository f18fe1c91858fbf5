;; The reference guest of ABI version 2 (spec/reference/conformance.wat before version 3), kept
;; unchanged: a host of version 3 still serves it, and the runner says it speaks version 2.
;;
;; Memory map: the table at 1024 (capacity 16: 64 + 16 × 64 = 1088 bytes, to 2112); the slot
;; index of global number i at 3072 + 4i; the names from 4096.
(module
  (import "wasmtime_global_v2" "declare" (func $declare (param i32 i32) (result i32)))
  (memory (export "memory") 1)

  (global $table i32 (i32.const 1024))
  (global $capacity i32 (i32.const 16))
  ;; How many globals are numbered so far (wgc_get's argument space).
  (global $globals (mut i32) (i32.const 0))

  (data (i32.const 4096) "conf.bool")
  (data (i32.const 4105) "conf.u64")
  (data (i32.const 4113) "conf.i64")
  (data (i32.const 4121) "conf.f64")
  (data (i32.const 4129) "conf.duration")
  (data (i32.const 4142) "5j3rldmyid5yi")
  (data (i32.const 4155) "pkj7qegsilwso")
  ;; N × 255
  (data (i32.const 4168) "NNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNN")
  (data (i32.const 4423) "conf.unset")
  (data (i32.const 4433) "conf.early")
  (data (i32.const 4443) "conf.fill")

  (func (export "wgc_capacity") (result i32) (global.get $capacity))

  ;; ABI §5: FNV-1a 64 over the name's bytes.
  (func $fnv1a64 (param $p i32) (param $n i32) (result i64)
    (local $h i64)
    (local.set $h (i64.const 0xcbf29ce484222325))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $h
          (i64.mul
            (i64.xor (local.get $h) (i64.load8_u (local.get $p)))
            (i64.const 0x100000001b3)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $h))

  (func $slot_addr (param $i i32) (result i32)
    (i32.add (global.get $table) (i32.add (i32.const 64) (i32.mul (local.get $i) (i32.const 64)))))

  ;; ABI §7.2: declares a global in the next free slot. Returns its slot index, -1 if the table
  ;; is full, -2 if the host answered with a status other than OK.
  (func $declare_next (param $name i32) (param $len i32) (param $ty i32) (param $default i64)
    (result i32)
    (local $i i32) (local $slot i32)
    ;; Step 2: the header, before the first declaration (the memory starts zeroed, so
    ;; count, generation and the reserved fields are already 0).
    (if (i32.eqz (i32.load (global.get $table)))
      (then
        (i32.store (global.get $table) (i32.const 0x42544757))           ;; magic "WGTB"
        (i32.store offset=4 (global.get $table) (i32.const 2))           ;; version
        (i32.store offset=8 (global.get $table) (i32.const 64))          ;; slot_size
        (i32.store offset=12 (global.get $table) (global.get $capacity)))) ;; capacity
    ;; Step 1: the next free slot is `count`.
    (local.set $i (i32.load offset=16 (global.get $table)))
    (if (i32.ge_u (local.get $i) (global.get $capacity)) (then (return (i32.const -1))))
    ;; Step 3: the slot; the name's bytes are in a data segment and stay there.
    (local.set $slot (call $slot_addr (local.get $i)))
    (i64.store (local.get $slot) (call $fnv1a64 (local.get $name) (local.get $len))) ;; hash
    (i32.store offset=8 (local.get $slot) (local.get $name))                         ;; name_addr
    (i32.store offset=12 (local.get $slot) (local.get $len))                         ;; name_len
    (i32.store offset=16 (local.get $slot) (local.get $ty))                          ;; ty
    (i64.store offset=24 (local.get $slot) (local.get $default))                     ;; default
    (i64.store offset=32 (local.get $slot) (local.get $default))                     ;; value
    ;; Step 4: count = i + 1.
    (i32.store offset=16 (global.get $table) (i32.add (local.get $i) (i32.const 1)))
    ;; Step 5.
    (if (call $declare (global.get $table) (local.get $i)) (then (return (i32.const -2))))
    (local.get $i))

  ;; Declares a global and gives it the next number; traps if that fails.
  (func $global (param $name i32) (param $len i32) (param $ty i32) (param $default i64)
    (local $i i32)
    (local.set $i (call $declare_next (local.get $name) (local.get $len) (local.get $ty)
      (local.get $default)))
    (if (i32.lt_s (local.get $i) (i32.const 0)) (then unreachable))
    (call $number (local.get $i)))

  (func $number (param $slot i32)
    (i32.store (i32.add (i32.const 3072) (i32.mul (global.get $globals) (i32.const 4)))
      (local.get $slot))
    (global.set $globals (i32.add (global.get $globals) (i32.const 1))))

  (func (export "wgc_init")
    (call $global (i32.const 4096) (i32.const 9) (i32.const 1) (i64.const 1)) ;; 0: conf.bool, BOOL, default true
    (call $global (i32.const 4105) (i32.const 8) (i32.const 2) (i64.const 42)) ;; 1: conf.u64, U64
    (call $global (i32.const 4113) (i32.const 8) (i32.const 3) (i64.const -42)) ;; 2: conf.i64, I64
    (call $global (i32.const 4121) (i32.const 8) (i32.const 4) (i64.const 0x3ff8000000000000)) ;; 3: conf.f64, F64, default 1.5
    (call $global (i32.const 4129) (i32.const 13) (i32.const 5) (i64.const 60000000000)) ;; 4: conf.duration, DURATION, default 60 s in ns
    (call $global (i32.const 4142) (i32.const 13) (i32.const 2) (i64.const 5)) ;; 5: 5j3rldmyid5yi, U64
    (call $global (i32.const 4155) (i32.const 13) (i32.const 2) (i64.const 6)) ;; 6: pkj7qegsilwso, U64
    (call $global (i32.const 4168) (i32.const 255) (i32.const 2) (i64.const 255)) ;; 7: N × 255, U64
    (call $global (i32.const 4423) (i32.const 10) (i32.const 2) (i64.const 8)) ;; 8: conf.unset, U64
    (call $global (i32.const 4433) (i32.const 10) (i32.const 2) (i64.const 9)) ;; 9: conf.early, U64
  )

  ;; Declares "conf.fill" (U64, default 7) until the table is full; returns how many.
  (func (export "wgc_fill") (result i32)
    (local $n i32) (local $i i32)
    (block $full
      (loop $next
        (local.set $i (call $declare_next (i32.const 4443) (i32.const 9) (i32.const 2)
          (i64.const 7)))
        (br_if $full (i32.lt_s (local.get $i) (i32.const 0)))
        (call $number (local.get $i))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $n))

  ;; ABI §10.1: one aligned 64-bit load of the slot's value; a BOOL reads as 0 or 1.
  (func (export "wgc_get") (param $g i32) (result i64)
    (local $slot i32) (local $value i64)
    (if (i32.ge_u (local.get $g) (global.get $globals)) (then (return (i64.const 0))))
    (local.set $slot
      (call $slot_addr (i32.load (i32.add (i32.const 3072) (i32.mul (local.get $g) (i32.const 4))))))
    (local.set $value (i64.load offset=32 (local.get $slot)))
    (if (result i64) (i32.eq (i32.load offset=16 (local.get $slot)) (i32.const 1))
      (then (i64.extend_i32_u (i64.ne (local.get $value) (i64.const 0))))
      (else (local.get $value))))
)
