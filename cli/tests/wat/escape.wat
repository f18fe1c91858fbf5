;; A hostile WASI reactor, run with `--dir DATA::/data --invoke attack` where DATA holds the
;; globals file, and DATA/../secret/secret.toml a host file the guest must never read. It does
;; what an attacker once did to escape `run`: a relative link to the secret, renamed over the
;; globals file, for the host's watch to follow.
;;
;; _initialize declares TEST_UINT64 (U64, default 42) as live.wat does. `attack` returns, one a
;; line: path_open's errno for reading globals.toml, the bytes it read (-1 if not opened),
;; path_open's errno for creating new.txt, path_symlink's errno, path_rename's errno, and the
;; global's value; if the rename succeeded, the value once it is no longer 7 (the file's).
(module
  (import "wasmtime_global_v2" "declare" (func $declare (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_symlink"
    (func $path_symlink (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_rename"
    (func $path_rename (param i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 256) "TEST_UINT64")
  (data (i32.const 1024) "WGTB\02\00\00\00\40\00\00\00\08\00\00\00\00\00\00\00")
  (data (i32.const 2048) "../secret/secret.toml") ;; 21 bytes
  (data (i32.const 2112) "g.tmp")                 ;; 5
  (data (i32.const 2128) "globals.toml")          ;; 12
  (data (i32.const 2144) "new.txt")               ;; 7
  ;; 3000: an opened fd; 3008: one iovec (4096, 4096 bytes); 3016: the bytes read.

  (func $init
    (i64.store (i32.const 1088) (i64.const 0x5c9d25d639498198)) ;; slot 0: hash
    (i32.store (i32.const 1096) (i32.const 256))                ;; name
    (i32.store (i32.const 1100) (i32.const 11))                 ;; name length
    (i32.store (i32.const 1104) (i32.const 2))                  ;; U64
    (i64.store (i32.const 1112) (i64.const 42))                 ;; default
    (i64.store (i32.const 1120) (i64.const 42))                 ;; value
    (i32.store (i32.const 1040) (i32.const 1))                  ;; count
    (if (call $declare (i32.const 1024) (i32.const 0)) (then unreachable)))

  (func $read (result i64) (i64.load (i32.const 1120)))

  (func (export "_initialize") (call $init))

  (func (export "attack") (result i32 i32 i32 i32 i32 i64)
    (local $open i32) (local $nread i32) (local $create i32) (local $symlink i32)
    (local $rename i32)
    ;; Read globals.toml from the preopened directory (fd 3): rights fd_read (bit 1).
    (local.set $open
      (call $path_open (i32.const 3) (i32.const 0) (i32.const 2128) (i32.const 12)
        (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 3000)))
    (local.set $nread (i32.const -1))
    (if (i32.eqz (local.get $open))
      (then
        (i32.store (i32.const 3008) (i32.const 4096))
        (i32.store (i32.const 3012) (i32.const 4096))
        (if (i32.eqz (call $fd_read (i32.load (i32.const 3000)) (i32.const 3008) (i32.const 1)
              (i32.const 3016)))
          (then (local.set $nread (i32.load (i32.const 3016)))))))
    ;; Create new.txt: oflags creat (1), rights fd_write (bit 6).
    (local.set $create
      (call $path_open (i32.const 3) (i32.const 0) (i32.const 2144) (i32.const 7)
        (i32.const 1) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 3000)))
    ;; g.tmp -> ../secret/secret.toml, renamed over globals.toml.
    (local.set $symlink
      (call $path_symlink (i32.const 2048) (i32.const 21) (i32.const 3) (i32.const 2112)
        (i32.const 5)))
    (local.set $rename
      (call $path_rename (i32.const 3) (i32.const 2112) (i32.const 5) (i32.const 3)
        (i32.const 2128) (i32.const 12)))
    ;; Renamed: wait for the host's watch to apply whatever the link leads to.
    (if (i32.eqz (local.get $rename))
      (then (loop $again (br_if $again (i64.eq (call $read) (i64.const 7))))))
    (local.get $open) (local.get $nread) (local.get $create) (local.get $symlink)
    (local.get $rename) (call $read))
)
