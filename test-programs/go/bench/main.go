// The read benchmark's Go guest: each export reads a 64-bit value n times and returns the
// wrapping sum, so nothing is folded away. Also the probe of the read rule (spec/ABI.md §10.1):
// does a loop see a value the host writes while it runs, through the SDK?
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o bench.wasm ./bench
package main

import (
	"sync/atomic"

	"github.com/wasmtime-global/wasmtime-global/guest/go/global"
)

func main() {}

// 1. The floor: a package variable, read with a plain load.
var plainValue uint64 = 42

// For comparison: a load through a pointer kept in a package variable, which is what a Global
// is (its table is allocated when the program starts, so no slot has a constant address).
var pointer = new(uint64)

func init() { *pointer = 42 }

//go:wasmexport pointer
func pointerLoad(n int32) int64 {
	var sum uint64
	for i := int32(0); i < n; i++ {
		sum += *pointer
	}
	return int64(sum)
}

// 2. The SDK: a Global, whose Bits inlines to a load, and a reader function (wazero-global's
// API), which adds a closure call.
var (
	limitGlobal, _ = global.Declare("LIMIT", global.TypeUint64, 42)
	limit          = global.NewUint64("LIMIT", 42)
)

// For comparison: a sync/atomic load, which on wasm is a call.
var atomicValue uint64 = 42

// 3. A host call per read: the value of global `index`.
//
//go:wasmimport bench get_by_index
func getByIndex(index int32) int64

//go:wasmexport plain
func plain(n int32) int64 {
	var sum uint64
	for i := int32(0); i < n; i++ {
		sum += plainValue
	}
	return int64(sum)
}

//go:wasmexport sdk
func sdk(n int32) int64 {
	var sum uint64
	for i := int32(0); i < n; i++ {
		sum += limitGlobal.Bits()
	}
	return int64(sum)
}

//go:wasmexport sdk_func
func sdkFunc(n int32) int64 {
	var sum uint64
	for i := int32(0); i < n; i++ {
		sum += limit()
	}
	return int64(sum)
}

//go:wasmexport atomic
func atomicLoad(n int32) int64 {
	var sum uint64
	for i := int32(0); i < n; i++ {
		sum += atomic.LoadUint64(&atomicValue)
	}
	return int64(sum)
}

//go:wasmexport host_call
func hostCall(n int32) int64 {
	var sum uint64
	for i := int32(0); i < n; i++ {
		sum += uint64(getByIndex(0))
	}
	return int64(sum)
}

// The probe of the read rule: loops that read PROBE (0 by default) until the host changes it,
// which it does with sync_on_epoch while the loop runs; each returns the reads it made, or limit
// if it never saw the change.
var (
	probeGlobal, _ = global.Declare("PROBE", global.TypeUint64, 0)
	probe          = global.NewUint64("PROBE", 0)
)

//go:wasmexport spin_sdk
func spinSdk(limit int32) int32 {
	for i := int32(0); i < limit; i++ {
		if probeGlobal.Bits() != 0 {
			return i
		}
	}
	return limit
}

//go:wasmexport spin_sdk_func
func spinSdkFunc(limit int32) int32 {
	for i := int32(0); i < limit; i++ {
		if probe() != 0 {
			return i
		}
	}
	return limit
}
