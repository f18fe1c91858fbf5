;; A component written against the standard `wasi:config/store` alone, as any component that
;; reads its configuration is: `read(key)` returns `get(key)`'s value, `none` when it has none,
;; or `error`; `count()` how many keys `get-all` returns.
(component
  (import "wasi:config/store@0.2.0-rc.1" (instance $store
    (type $error' (variant (case "upstream" string) (case "io" string)))
    (export "error" (type $error (eq $error')))
    (type $get-result (result (option string) (error $error)))
    (export "get" (func (param "key" string) (result $get-result)))
    (type $pair (tuple string string))
    (type $all-result (result (list $pair) (error $error)))
    (export "get-all" (func (result $all-result)))
  ))

  ;; The memory and the allocator, which the canonical ABI needs before the code is made.
  (core module $libc
    (memory (export "memory") 1)
    (global $heap (mut i32) (i32.const 1024))
    ;; A bump allocator: (old pointer, old size, alignment, new size) -> pointer.
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $at i32)
      (local.set $at
        (i32.and
          (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
          (i32.sub (i32.const 0) (local.get 2))))
      (global.set $heap (i32.add (local.get $at) (local.get 3)))
      (local.get $at)))
  (core instance $libc (instantiate $libc))

  (core func $get (canon lower (func $store "get")
    (memory (core memory $libc "memory")) (realloc (core func $libc "realloc"))))
  (core func $get-all (canon lower (func $store "get-all")
    (memory (core memory $libc "memory")) (realloc (core func $libc "realloc"))))

  (core module $main
    (import "libc" "memory" (memory 1))
    (import "store" "get" (func $get (param i32 i32 i32)))
    (import "store" "get-all" (func $get-all (param i32)))
    (data (i32.const 200) "none")
    (data (i32.const 208) "error")
    ;; get's answer at 16: result discriminant (16), option discriminant (20), string (24, 28).
    ;; read's answer, a string's pointer and length, at 64.
    (func (export "read") (param $key i32) (param $len i32) (result i32)
      (call $get (local.get $key) (local.get $len) (i32.const 16))
      (if (i32.load8_u (i32.const 16))
        (then
          (i32.store (i32.const 64) (i32.const 208))
          (i32.store (i32.const 68) (i32.const 5)))
        (else
          (if (i32.load8_u (i32.const 20))
            (then
              (i32.store (i32.const 64) (i32.load (i32.const 24)))
              (i32.store (i32.const 68) (i32.load (i32.const 28))))
            (else
              (i32.store (i32.const 64) (i32.const 200))
              (i32.store (i32.const 68) (i32.const 4))))))
      (i32.const 64))
    ;; get-all's answer at 32: result discriminant (32), list pointer (36) and length (40).
    (func (export "count") (result i32)
      (call $get-all (i32.const 32))
      (if (result i32) (i32.load8_u (i32.const 32))
        (then (i32.const -1))
        (else (i32.load (i32.const 40))))))
  (core instance $main (instantiate $main
    (with "libc" (instance $libc))
    (with "store" (instance
      (export "get" (func $get))
      (export "get-all" (func $get-all))))))

  (func (export "read") (param "key" string) (result string)
    (canon lift (core func $main "read")
      (memory (core memory $libc "memory")) (realloc (core func $libc "realloc"))))
  (func (export "count") (result u32)
    (canon lift (core func $main "count")))
)
