// The request benchmark's guest through the Go SDK (tests/benches/request.rs), a wasip1
// reactor: handleAll(n, k) declares the first n of 16 U64 globals in one host call and reads
// each k times; handleEach(n, k) declares the first n of 16 U64 globals (a fresh instance per
// request, so every request declares) and reads each k times; seed(n, k) reads the same values
// through wazero-global's design (the name and the default copied into a buffer, one host call
// that looks the name up and writes the value back). Every default is 1: both return n * k.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o request.wasm ./request
package main

import (
	"unsafe"

	"github.com/wasmtime-global/wasmtime-global/guest/go/global"
)

func main() {}

var names = [16]string{
	"REQ_00", "REQ_01", "REQ_02", "REQ_03", "REQ_04", "REQ_05", "REQ_06", "REQ_07",
	"REQ_08", "REQ_09", "REQ_10", "REQ_11", "REQ_12", "REQ_13", "REQ_14", "REQ_15",
}

// The globals, declared at the first request's first read.
var globals [16]global.Uint64

func clamp(n int32) int {
	return int(min(max(n, 0), 16))
}

//go:wasmexport handle_each
func handleEach(n, k int32) int64 {
	var total uint64
	for i := range clamp(n) {
		if globals[i] == nil {
			globals[i] = global.NewUint64(names[i], 1)
		}
		for range k {
			total += globals[i]()
		}
	}
	return int64(total)
}

// The globals handleAll declares, in a package array: DeclareInto allocates nothing.
var declared [16]global.Global

// handleAll is handleEach for a handler that declares its globals first, all in one host call
// (global.DeclareInto): what a per-request guest should do.
//
//go:wasmexport handle_all
func handleAll(n, k int32) int64 {
	var defs [16]global.Def
	for i := range clamp(n) {
		defs[i] = global.Def{Name: names[i], Type: global.TypeUint64, Default: 1}
	}
	if err := global.DeclareInto(declared[:], defs[:clamp(n)]...); err != nil {
		panic(err)
	}
	var total uint64
	for i := range clamp(n) {
		for range k {
			total += declared[i].Bits()
		}
	}
	return int64(total)
}

// wazero-global's host function: reads the name at name, looks it up, and writes its value at
// value if it has one (the guest wrote its default there).
//
//go:wasmimport bench global_get
func globalGet(name unsafe.Pointer, nameLen int32, value unsafe.Pointer)

// wazero-global's guest copies the name and its default into buffers before each call.
var (
	nameBuf  [64]byte
	valueBuf uint64
)

//go:wasmexport seed
func seed(n, k int32) int64 {
	var total uint64
	for i := range clamp(n) {
		for range k {
			l := copy(nameBuf[:], names[i])
			valueBuf = 1
			globalGet(unsafe.Pointer(&nameBuf[0]), int32(l), unsafe.Pointer(&valueBuf))
			total += valueBuf
		}
	}
	return int64(total)
}
