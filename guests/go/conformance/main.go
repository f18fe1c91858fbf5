// The conformance profile (spec/CONFORMANCE.md) through the Go SDK: a wasip1 reactor.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o conformance.wasm ./conformance
package main

import (
	"errors"
	"strings"
	"time"

	"github.com/wasmtime-global/wasmtime-global/guest/go/global"
)

func main() {}

// The profile's globals, numbered in the order they were declared: wgc_get(i) reads globals[i].
var globals []*global.Global

func declare(name string, t global.Type, def uint64) {
	g, err := global.Declare(name, t, def)
	if err != nil {
		panic(err)
	}
	globals = append(globals, g)
}

//go:wasmexport wgc_init
func wgcInit() {
	declare("conf.bool", global.TypeBool, 1)
	declare("conf.u64", global.TypeUint64, 42)
	minus42 := int64(-42)
	declare("conf.i64", global.TypeInt64, uint64(minus42))
	declare("conf.f64", global.TypeFloat64, 0x3ff8000000000000)
	declare("conf.duration", global.TypeDuration, uint64(time.Minute))
	declare("5j3rldmyid5yi", global.TypeUint64, 5)
	declare("pkj7qegsilwso", global.TypeUint64, 6)
	declare(strings.Repeat("N", 255), global.TypeUint64, 255)
	declare("conf.unset", global.TypeUint64, 8)
	declare("conf.early", global.TypeUint64, 9)
}

// wgc_get reads through the typed reads, as a program would.
//
//go:wasmexport wgc_get
func wgcGet(i int32) int64 {
	if i < 0 || int(i) >= len(globals) {
		return 0
	}
	g := globals[i]
	switch g.Type() {
	case global.TypeBool:
		if g.Bool() {
			return 1
		}
		return 0
	case global.TypeInt64:
		return g.Int64()
	case global.TypeDuration:
		return int64(g.Duration())
	default:
		return int64(g.Bits())
	}
}

//go:wasmexport wgc_capacity
func wgcCapacity() int32 { return int32(global.Capacity()) }

//go:wasmexport wgc_fill
func wgcFill() int32 {
	n := int32(0)
	for {
		g, err := global.Declare("conf.fill", global.TypeUint64, 7)
		if errors.Is(err, global.ErrTableFull) {
			return n
		}
		if err != nil {
			panic(err)
		}
		globals = append(globals, g)
		n++
	}
}
