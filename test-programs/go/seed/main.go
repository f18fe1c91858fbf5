// The test module of pantopic/wazero-global, on wasmtime-global: the guest of its README, with
// exports that report what it reads.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o seed.wasm ./seed
package main

import (
	"time"

	"github.com/wasmtime-global/wasmtime-global/guest/go/global"
)

var (
	testBool     global.Bool
	testUint64   global.Uint64
	testDuration global.Duration
)

func main() {}

// A reactor's _initialize runs the package's init functions, not main: wazero-global's test
// module declares in main, a command's entry point.
func init() {
	testBool = global.NewBool(`TEST_BOOL`, true)
	testUint64 = global.NewUint64(`TEST_UINT64`, 42)
	testDuration = global.NewDuration(`TEST_DURATION`, time.Minute)
}

// testGet: 1 if every global reads its default (true, 42, 1m), else 0.
//
//go:wasmexport testGet
func testGet() int32 {
	if testBool() && testUint64() == 42 && testDuration() == time.Minute {
		return 1
	}
	return 0
}

// testOverride: 1 if every global reads what the host set (false, 43, 1s), else 0.
//
//go:wasmexport testOverride
func testOverride() int32 {
	if !testBool() && testUint64() == 43 && testDuration() == time.Second {
		return 1
	}
	return 0
}

// The values, for a test that wants to say what it saw.
//
//go:wasmexport testBool
func exportBool() int32 {
	if testBool() {
		return 1
	}
	return 0
}

//go:wasmexport testUint64
func exportUint64() int64 { return int64(testUint64()) }

//go:wasmexport testDuration
func exportDuration() int64 { return int64(testDuration()) }

//go:wasmexport testErr
func testErr() int32 {
	if global.Err() != nil {
		return 1
	}
	return 0
}
