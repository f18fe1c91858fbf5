// Package global reads live values that a wasmtime host sets ("globals": feature flags, limits,
// tunables), with one load from the guest's own memory and no host call.
//
// Its API is that of pantopic/wazero-global's Go SDK: NewBool, NewUint64 and NewDuration return
// reader functions. There, every read is a host call and a map lookup; here the host writes each
// value into a table in the guest's memory (spec/ABI.md in the wasmtime-global repository), so a
// read is a load.
//
// It builds core modules (GOOS=wasip1) only: Go 1.27 does not build components (WASI preview
// 2), whose reads go through the WIT interface of spec/COMPONENTS.md instead.
//
//	var (
//		testBool     = global.NewBool(`TEST_BOOL`, true)
//		testUint64   = global.NewUint64(`TEST_UINT64`, 42)
//		testDuration = global.NewDuration(`TEST_DURATION`, time.Minute)
//	)
//
//	println(testBool(), testUint64(), testDuration())
//
// Build a reactor for GOOS=wasip1 GOARCH=wasm with -buildmode=c-shared; the host imports are
// wasmtime_global_v3.declare and declare_range. A reactor's _initialize runs package initialization (variable
// initializers and init functions), not main: declare there, or in an exported function.
//
// # Reads
//
// A read is one plain load of the slot's value (a Global's Bits inlines to it; a reader function
// adds the call of a closure). The ABI's read rule (§10.1) asks that a compiler not keep a value
// across a point where the host may write it: for a guest in ordinary memory those points are
// calls and loop back-edges (where wasmtime's epoch deadlines fall), and the Go compiler reloads
// memory across calls and does not move loads out of loops. The repository's tests check it:
// a Go loop that reads a global through this package sees a value that sync_on_epoch writes
// while the loop runs. sync/atomic would say the same thing in the source, but on wasm each of
// its loads is a call that costs as much as a host call (measured by the read benchmark), and a
// Go program on wasip1 has one thread, so there is no other writer to order against.
package global

import (
	"math"
	"time"
)

// load is every read: one plain load (see Reads above).
func load(p *uint64) uint64 { return *p }

// Reader functions, as wazero-global's SDK has them.
type (
	Bool     func() bool
	Uint64   func() uint64
	Int64    func() int64
	Float64  func() float64
	Duration func() time.Duration
)

// Global is a declared global, for what the reader functions do not tell: its change counter
// and the outcome of its declaration.
type Global struct {
	// value is the slot's value field, or fallback if the declaration failed.
	value    *uint64
	fallback uint64
	s        *slot
	name     string
	ty       Type
	err      error
}

// Declare declares a global of type t whose default is defaultBits (a BOOL as 0 or 1, an F64 as
// its IEEE 754 bits, a DURATION as nanoseconds). On error the Global still reads its default.
func Declare(name string, t Type, defaultBits uint64) (*Global, error) {
	p, s, err := value(name, t, defaultBits)
	return &Global{value: p, s: s, name: name, ty: t, err: err}, err
}

// Bits is the global's value as 64 bits: one load, inlined where it is called.
func (g *Global) Bits() uint64 { return load(g.value) }

// Changes counts the host's writes of the value since the declaration (spec/ABI.md §10.4).
func (g *Global) Changes() uint64 {
	if g.s == nil {
		return 0
	}
	return load(&g.s.changes)
}

// Err is what the declaration returned.
func (g *Global) Err() error { return g.err }

// Name is the global's name.
func (g *Global) Name() string { return g.name }

// Type is the global's type.
func (g *Global) Type() Type { return g.ty }

// Bool reads the global as a BOOL: any bits but 0 are true.
func (g *Global) Bool() bool { return g.Bits() != 0 }

// Uint64 reads the global as a U64.
func (g *Global) Uint64() uint64 { return g.Bits() }

// Int64 reads the global as an I64.
func (g *Global) Int64() int64 { return int64(g.Bits()) }

// Float64 reads the global as an F64, bit for bit.
func (g *Global) Float64() float64 { return math.Float64frombits(g.Bits()) }

// Duration reads the global as a DURATION.
func (g *Global) Duration() time.Duration { return time.Duration(int64(g.Bits())) }

// value declares a global and returns what its reads load: the slot's value field, or a copy of
// def if the declaration failed.
func value(name string, t Type, def uint64) (*uint64, *slot, error) {
	s, err := declare(name, t, def)
	if err != nil {
		v := def
		return &v, nil, err
	}
	return &s.value, s, nil
}

func boolBits(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// TryNewBool declares a BOOL global; the reader returns def if the declaration failed.
func TryNewBool(name string, def bool) (Bool, error) {
	p, _, err := value(name, TypeBool, boolBits(def))
	return func() bool { return load(p) != 0 }, err
}

// TryNewUint64 declares a U64 global.
func TryNewUint64(name string, def uint64) (Uint64, error) {
	p, _, err := value(name, TypeUint64, def)
	return func() uint64 { return load(p) }, err
}

// TryNewInt64 declares an I64 global.
func TryNewInt64(name string, def int64) (Int64, error) {
	p, _, err := value(name, TypeInt64, uint64(def))
	return func() int64 { return int64(load(p)) }, err
}

// TryNewFloat64 declares an F64 global.
func TryNewFloat64(name string, def float64) (Float64, error) {
	p, _, err := value(name, TypeFloat64, math.Float64bits(def))
	return func() float64 { return math.Float64frombits(load(p)) }, err
}

// TryNewDuration declares a DURATION global.
func TryNewDuration(name string, def time.Duration) (Duration, error) {
	p, _, err := value(name, TypeDuration, uint64(def))
	return func() time.Duration { return time.Duration(int64(load(p))) }, err
}

// must keeps a failure for Err and returns the reader, which then reads the default.
func must[R any](name string, r R, err error) R {
	if err != nil {
		record(name, err)
	}
	return r
}

// NewBool declares a BOOL global (wazero-global's NewBool). If the declaration fails, the reader
// returns def, and Err says why.
func NewBool(name string, def bool) Bool {
	r, err := TryNewBool(name, def)
	return must(name, r, err)
}

// NewUint64 declares a U64 global (wazero-global's NewUint64).
func NewUint64(name string, def uint64) Uint64 {
	r, err := TryNewUint64(name, def)
	return must(name, r, err)
}

// NewInt64 declares an I64 global.
func NewInt64(name string, def int64) Int64 {
	r, err := TryNewInt64(name, def)
	return must(name, r, err)
}

// NewFloat64 declares an F64 global.
func NewFloat64(name string, def float64) Float64 {
	r, err := TryNewFloat64(name, def)
	return must(name, r, err)
}

// NewDuration declares a DURATION global (wazero-global's NewDuration).
func NewDuration(name string, def time.Duration) Duration {
	r, err := TryNewDuration(name, def)
	return must(name, r, err)
}

// Def describes a global for DeclareAll: its name, type and default bits (as for Declare).
type Def struct {
	Name    string
	Type    Type
	Default uint64
}

// DeclareAll declares the globals defs describes, in that order, with one host call
// (declare_range, spec/ABI.md §7) where Declare makes one each: a module instantiated per
// request should declare the globals it reads this way. It returns one Global per def, in one
// allocation; each reads its default if its own declaration failed (its Err says why), and the
// error returned is the first such failure.
func DeclareAll(defs ...Def) ([]Global, error) {
	out := make([]Global, len(defs))
	return out, DeclareInto(out, defs...)
}

// DeclareInto is DeclareAll into out (at least as long as defs), with no allocation: in a fresh
// Go instance, each size of object allocated first takes a new span of the heap, which costs
// more than the declarations (cargo bench -p wasmtime-global-tests --bench request). Each call
// takes new slots, one a def (a def listed twice takes two): call it once an instance.
func DeclareInto(out []Global, defs ...Def) error {
	out = out[:len(defs)]
	for i, d := range defs {
		out[i] = Global{name: d.Name, ty: d.Type, fallback: d.Default}
		out[i].err = CheckName(d.Name)
	}
	declareAll(out, defs)
	var first error
	for i := range out {
		g := &out[i]
		if g.s != nil {
			g.value = &g.s.value
		} else {
			g.value = &g.fallback
			if first == nil {
				first = g.err
			}
		}
	}
	return first
}

// Consistent runs read until it ran wholly while the host wrote none of the table's values, so
// that the globals it reads are from one batch or sync (the generation protocol, spec/ABI.md
// §10.3). read may run more than once; it should only read.
func Consistent(read func()) {
	h := published.Load()
	if h == nil {
		read()
		return
	}
	for {
		g := load(&h.generation)
		if g&1 != 0 {
			continue
		}
		read()
		if load(&h.generation) == g {
			return
		}
	}
}
