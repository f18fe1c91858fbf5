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

//go:wasmexport wgc_init
func wgcInit() {
	// The ten in one host call (spec/ABI.md §7.5), in the profile's order.
	minus42 := int64(-42)
	all, err := global.DeclareAll(
		global.Def{Name: "conf.bool", Type: global.TypeBool, Default: 1},
		global.Def{Name: "conf.u64", Type: global.TypeUint64, Default: 42},
		global.Def{Name: "conf.i64", Type: global.TypeInt64, Default: uint64(minus42)},
		global.Def{Name: "conf.f64", Type: global.TypeFloat64, Default: 0x3ff8000000000000},
		global.Def{Name: "conf.duration", Type: global.TypeDuration, Default: uint64(time.Minute)},
		global.Def{Name: "5j3rldmyid5yi", Type: global.TypeUint64, Default: 5},
		global.Def{Name: "pkj7qegsilwso", Type: global.TypeUint64, Default: 6},
		global.Def{Name: strings.Repeat("N", 255), Type: global.TypeUint64, Default: 255},
		global.Def{Name: "conf.unset", Type: global.TypeUint64, Default: 8},
		global.Def{Name: "conf.early", Type: global.TypeUint64, Default: 9},
	)
	if err != nil {
		panic(err)
	}
	for i := range all {
		globals = append(globals, &all[i])
	}
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
