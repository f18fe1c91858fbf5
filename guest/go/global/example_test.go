//go:build !wasip1

package global

import (
	"fmt"
	"time"
)

// The guest side of wazero-global's README, with reads that are loads. (Off wasm, a fake host
// stands in for wasmtime: it plays the embedder's Set.)
func Example() {
	host := installFake(DefaultCapacity, func(f string, a ...any) { panic(fmt.Sprintf(f, a...)) })

	testBool := NewBool(`TEST_BOOL`, true)
	testUint64 := NewUint64(`TEST_UINT64`, 42)
	testDuration := NewDuration(`TEST_DURATION`, time.Minute)
	fmt.Println(testBool(), testUint64(), testDuration())

	host.set(`TEST_BOOL`, 0) // the embedder: globals.set("TEST_BOOL", 0), then a sync
	host.set(`TEST_UINT64`, 43)
	host.set(`TEST_DURATION`, uint64(time.Second))
	fmt.Println(testBool(), testUint64(), testDuration())
	// Output:
	// true 42 1m0s
	// false 43 1s
}

// Declare gives what a reader function does not: the outcome of the declaration and the change
// counter. Consistent reads several globals from one host write.
func ExampleDeclare() {
	host := installFake(DefaultCapacity, func(f string, a ...any) { panic(fmt.Sprintf(f, a...)) })

	width, err := Declare("WIDTH", TypeUint64, 640)
	if err != nil {
		panic(err)
	}
	height, _ := Declare("HEIGHT", TypeUint64, 480)
	host.set("WIDTH", 1920)
	host.set("HEIGHT", 1080)

	var w, h uint64
	Consistent(func() { w, h = width.Uint64(), height.Uint64() })
	fmt.Println(w, h, width.Changes())
	// Output: 1920 1080 1
}

// A declaration the host refuses reads the default; Err says why.
func ExampleErr() {
	installFake(DefaultCapacity, func(f string, a ...any) { panic(fmt.Sprintf(f, a...)) })

	_ = NewFloat64("MAX_ITEMS", 1.5) // the first declaration fixes the type: F64
	maxItems := NewUint64("MAX_ITEMS", 100)
	fmt.Println(maxItems())
	fmt.Println(Err())
	// Output:
	// 100
	// wasmtime-global: cannot declare "MAX_ITEMS": the host knows the name with another type (TYPE_MISMATCH)
}
