//go:build !wasip1

package global

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// fake is a host for tests off wasm: it validates what a real host validates that matters here,
// fixes a name's type at its first declaration, and writes values as a host would.
type fake struct {
	values map[string]uint64
	types  map[string]Type
	calls  int
}

func newFake(t *testing.T, capacityN int) *fake {
	t.Helper()
	f := installFake(capacityN, t.Fatalf)
	t.Cleanup(func() { fakeHost = nil })
	return f
}

// installFake makes a new table of capacityN slots and a fake host; fail reports a broken rule.
func installFake(capacityN int, fail func(string, ...any)) *fake {
	mu.Lock()
	pinner.Unpin()
	capacity, mem, names, refused, failures = capacityN, nil, nil, map[refusal]error{}, nil
	staticTable, arenaUsed = [1 + DefaultCapacity]slot{}, 0
	published.Store(nil)
	mu.Unlock()
	f := &fake{values: map[string]uint64{}, types: map[string]Type{}}
	fakeHost = func(h *header, index uint32) int32 {
		f.calls++
		if h.magic != magic || h.version != abiVersion || h.slotSize != slotSize || index >= h.count {
			fail("bad table or index %d: %+v", index, *h)
		}
		s := &mem[1+index]
		name := names[index]
		if s.hash != Hash(name) || s.nameLen != uint32(len(name)) {
			fail("slot %d does not describe %q", index, name)
		}
		if ty, ok := f.types[name]; ok && ty != Type(s.ty) {
			return 1
		}
		f.types[name] = Type(s.ty)
		if v, ok := f.values[name]; ok {
			s.value = v
		} else {
			s.value = s.deflt
		}
		return 0
	}
	return f
}

// set writes name's slots as a sync would: value, changes + 1, generation + 2.
func (f *fake) set(name string, bits uint64) {
	f.values[name] = bits
	h := tableHeader()
	h.generation++
	for i := uint32(0); i < h.count; i++ {
		if names[i] == name && f.types[name] == Type(mem[1+i].ty) {
			mem[1+i].value = bits
			mem[1+i].changes++
		}
	}
	h.generation++
}

func TestReadersReadTheirDefaultsThenWhatTheHostWrites(t *testing.T) {
	f := newFake(t, DefaultCapacity)
	testBool := NewBool(`TEST_BOOL`, true)
	testUint64 := NewUint64(`TEST_UINT64`, 42)
	testInt64 := NewInt64(`TEST_INT64`, -7)
	testFloat64 := NewFloat64(`TEST_FLOAT64`, 1.5)
	testDuration := NewDuration(`TEST_DURATION`, time.Minute)
	if !testBool() || testUint64() != 42 || testInt64() != -7 || testFloat64() != 1.5 ||
		testDuration() != time.Minute {
		t.Fatal("defaults")
	}
	f.set(`TEST_BOOL`, 0)
	f.set(`TEST_UINT64`, 43)
	f.set(`TEST_INT64`, uint64(1<<63))
	f.set(`TEST_FLOAT64`, math.Float64bits(math.Inf(-1)))
	f.set(`TEST_DURATION`, uint64(time.Second))
	if testBool() || testUint64() != 43 || testInt64() != math.MinInt64 ||
		!math.IsInf(testFloat64(), -1) || testDuration() != time.Second {
		t.Fatal("after the host's writes")
	}
	f.set(`TEST_BOOL`, 2)
	if !testBool() {
		t.Fatal("any bits but 0 are true")
	}
	if Err() != nil || f.calls != 5 {
		t.Fatalf("%v, %d calls", Err(), f.calls)
	}
}

func TestReadsAllocateNothing(t *testing.T) {
	newFake(t, DefaultCapacity)
	r := NewUint64("x", 1)
	g, _ := Declare("y", TypeUint64, 2)
	if n := testing.AllocsPerRun(1000, func() { _ = r() + g.Bits() + g.Changes() }); n != 0 {
		t.Fatalf("%v allocations a read", n)
	}
}

func TestARefusalIsReportedRememberedAndReadsTheDefault(t *testing.T) {
	f := newFake(t, DefaultCapacity)
	if _, err := TryNewFloat64("MAX_ITEMS", 2.5); err != nil {
		t.Fatal(err)
	}
	r, err := TryNewUint64("MAX_ITEMS", 9)
	if !errors.Is(err, ErrTypeMismatch) || r() != 9 {
		t.Fatalf("%v, %d", err, r())
	}
	count := tableHeader().count
	if _, err := TryNewUint64("MAX_ITEMS", 9); !errors.Is(err, ErrTypeMismatch) ||
		tableHeader().count != count || f.calls != 2 {
		t.Fatal("asking again must not use up a slot or call the host")
	}
	n := NewUint64("MAX_ITEMS", 10)
	if n() != 10 || !errors.Is(Err(), ErrTypeMismatch) {
		t.Fatalf("%d, %v", n(), Err())
	}
	want := `wasmtime-global: cannot declare "MAX_ITEMS": ` + ErrTypeMismatch.Error()
	if Err().Error() != want {
		t.Fatalf("%q", Err())
	}
}

func TestInvalidNamesUseNoSlot(t *testing.T) {
	f := newFake(t, DefaultCapacity)
	for _, name := range []string{"", string(make([]byte, 256)), "a\x00b", "\xff"} {
		if _, err := Declare(name, TypeUint64, 0); !errors.Is(err, ErrInvalidName) {
			t.Fatalf("%q: %v", name, err)
		}
	}
	if f.calls != 0 || mem != nil {
		t.Fatal("nothing declared")
	}
	long := strings.Repeat("N", MaxNameLen)
	if r, err := TryNewUint64(long, 255); err != nil || r() != 255 || f.calls != 1 {
		t.Fatalf("the longest name: %v", err)
	}
}

func TestTheTableFillsAndCapacityIsSetBeforeTheFirstDeclaration(t *testing.T) {
	newFake(t, DefaultCapacity)
	if err := SetCapacity(0); err == nil {
		t.Fatal("0 slots")
	}
	if err := SetCapacity(maxCapacity + 1); err == nil {
		t.Fatal("past the ABI's limit")
	}
	if err := SetCapacity(3); err != nil || Capacity() != 3 {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := Declare("conf.fill", TypeUint64, 7); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Declare("conf.fill", TypeUint64, 7); !errors.Is(err, ErrTableFull) {
		t.Fatal(err)
	}
	if err := SetCapacity(100); err == nil {
		t.Fatal("the table cannot move once the host knows it")
	}
	if h := tableHeader(); h.capacity != 3 || h.count != 3 {
		t.Fatalf("%+v", *h)
	}
}

func TestChangesAndConsistentSnapshots(t *testing.T) {
	f := newFake(t, DefaultCapacity)
	w, _ := Declare("WIDTH", TypeUint64, 640)
	h, _ := Declare("HEIGHT", TypeUint64, 480)
	f.set("WIDTH", 1920)
	f.set("HEIGHT", 1080)
	f.set("HEIGHT", 1080)
	if w.Changes() != 1 || h.Changes() != 2 || w.Err() != nil {
		t.Fatal("changes")
	}
	runs := 0
	var width, height uint64
	Consistent(func() {
		runs++
		if runs == 1 {
			// The host writes while the first attempt reads: it must run again.
			f.set("WIDTH", 1280)
			f.set("HEIGHT", 720)
		}
		width, height = w.Uint64(), h.Uint64()
	})
	if runs != 2 || width != 1280 || height != 720 {
		t.Fatalf("%d runs: %dx%d", runs, width, height)
	}
}

// The spec's vectors (spec/vectors/), checked against this package's hash, name rules and layout.
const vectors = "../../../spec/vectors/"

func TestHashVectors(t *testing.T) {
	var file struct {
		Vectors []struct {
			Bytes, Hash string
			Valid       bool `json:"valid_name"`
		}
	}
	read(t, "hashes.json", &file)
	if len(file.Vectors) < 5 {
		t.Fatal("too few vectors")
	}
	for _, v := range file.Vectors {
		b, err := hex.DecodeString(v.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if got := "0x" + strconv.FormatUint(Hash(string(b)), 16); !hexEqual(got, v.Hash) {
			t.Errorf("%q: %s, want %s", b, got, v.Hash)
		}
		if (CheckName(string(b)) == nil) != v.Valid {
			t.Errorf("%q: valid %v", b, v.Valid)
		}
	}
}

func TestLayoutVectors(t *testing.T) {
	var file struct {
		Header struct {
			Fields map[string]any
			Bytes  string
		}
		Slots []struct {
			Fields map[string]any
			Bytes  string
		}
	}
	read(t, "layout.json", &file)
	hf := file.Header.Fields
	h := header{
		magic: u32(hf["magic"]), version: u32(hf["version"]), slotSize: u32(hf["slot_size"]),
		capacity: u32(hf["capacity"]), count: u32(hf["count"]), generation: u64(t, hf["generation"]),
	}
	if got := hex.EncodeToString(unsafe.Slice((*byte)(unsafe.Pointer(&h)), headerSize)); got != file.Header.Bytes {
		t.Errorf("header\n got %s\nwant %s", got, file.Header.Bytes)
	}
	if len(file.Slots) != 4 {
		t.Fatalf("%d slots", len(file.Slots))
	}
	for i, v := range file.Slots {
		f := v.Fields
		s := slot{
			hash: u64(t, f["hash"]), nameAddr: u32(f["name_addr"]), nameLen: u32(f["name_len"]),
			ty: u32(f["ty"]), deflt: u64(t, f["default"]), value: u64(t, f["value"]),
			changes: u64(t, f["changes"]),
		}
		if got := hex.EncodeToString(unsafe.Slice((*byte)(unsafe.Pointer(&s)), slotSize)); got != v.Bytes {
			t.Errorf("slot %d\n got %s\nwant %s", i, got, v.Bytes)
		}
	}
}

func read(t *testing.T, name string, into any) {
	t.Helper()
	b, err := os.ReadFile(vectors + name)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, into); err != nil {
		t.Fatal(err)
	}
}

func u32(v any) uint32 { return uint32(v.(float64)) }

func u64(t *testing.T, v any) uint64 {
	n, err := strconv.ParseUint(v.(string)[2:], 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func hexEqual(a, b string) bool {
	x, err1 := strconv.ParseUint(a[2:], 16, 64)
	y, err2 := strconv.ParseUint(b[2:], 16, 64)
	return err1 == nil && err2 == nil && x == y
}

// Names are copied into the arena while they fit, then kept where they are, pinned: either way
// the bytes at the address the slot gets are the name's.
func TestNamesAreKeptInTheArenaThenPinned(t *testing.T) {
	newFake(t, DefaultCapacity)
	long := strings.Repeat("N", MaxNameLen)
	inArena := len(nameArena) / MaxNameLen
	for i := range DefaultCapacity {
		name := long[:MaxNameLen-1] + string(rune('A'+i%26))
		if _, err := TryNewUint64(name, uint64(i)); err != nil {
			t.Fatalf("name %d: %v", i, err)
		}
		s := &mem[1+i]
		if s.nameLen != uint32(len(name)) || s.hash != Hash(name) {
			t.Fatalf("slot %d does not describe its name", i)
		}
		want := addr(unsafe.Pointer(unsafe.StringData(name)))
		if i < inArena {
			want = addr(unsafe.Pointer(&nameArena[i*MaxNameLen]))
		}
		if s.nameAddr != want {
			t.Fatalf("name %d at %#x, want %#x (%d names fit the arena)", i, s.nameAddr, want,
				inArena)
		}
	}
	for _, name := range []string{"SHORT", long} {
		p := keepName(name)
		if got := unsafe.String((*byte)(p), len(name)); got != name {
			t.Fatalf("kept %q as %q", name, got)
		}
	}
}

// DeclareAll fills a slot for each global, in order, and asks the host once for the run; where
// the host refuses one, that one reads its default with ErrTypeMismatch and the others are live.
func TestDeclareAllDeclaresTheRunAndKeepsEachRefusal(t *testing.T) {
	f := newFake(t, 4)
	f.values["a"] = 10
	f.values["c"] = 30
	f.types["b"] = TypeInt64
	gs, err := DeclareAll(
		Def{"a", TypeUint64, 1},
		Def{"b", TypeUint64, 2},
		Def{"c", TypeUint64, 3},
		Def{"", TypeUint64, 4},
		Def{"d", TypeUint64, 5},
		Def{"e", TypeUint64, 6},
	)
	if !errors.Is(err, ErrTypeMismatch) {
		t.Fatalf("DeclareAll: %v, want the first failure, ErrTypeMismatch", err)
	}
	got := []uint64{gs[0].Bits(), gs[1].Bits(), gs[2].Bits(), gs[3].Bits(), gs[4].Bits(), gs[5].Bits()}
	want := []uint64{10, 2, 30, 4, 5, 6}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("reads %v, want %v", got, want)
		}
	}
	errs := []error{gs[0].Err(), gs[1].Err(), gs[2].Err(), gs[3].Err(), gs[4].Err(), gs[5].Err()}
	if errs[0] != nil || !errors.Is(errs[1], ErrTypeMismatch) || errs[2] != nil ||
		!errors.Is(errs[3], ErrInvalidName) || errs[4] != nil || !errors.Is(errs[5], ErrTableFull) {
		t.Fatalf("errors %v", errs)
	}
	// a, b, c, d: four slots of four; b's refusal is remembered.
	if tableHeader().count != 4 {
		t.Fatalf("count %d, want 4", tableHeader().count)
	}
	if _, err := TryNewUint64("b", 2); !errors.Is(err, ErrTypeMismatch) {
		t.Fatalf("b again: %v", err)
	}
	f.set("d", 50)
	if gs[4].Bits() != 50 || gs[4].Changes() != 1 {
		t.Fatalf("d after a set: %d, %d changes", gs[4].Bits(), gs[4].Changes())
	}
}

// DeclareInto allocates nothing: a fresh Go instance pays for each size of object it allocates
// first (a new span of the heap).
func TestDeclareIntoAllocatesNothing(t *testing.T) {
	newFake(t, DefaultCapacity)
	var out [4]Global
	defs := []Def{{"a", TypeUint64, 1}, {"b", TypeBool, 1}, {"c", TypeInt64, 3}, {"d", TypeDuration, 4}}
	allocs := testing.AllocsPerRun(10, func() {
		if err := DeclareInto(out[:], defs...); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations a call, want 0", allocs)
	}
	if out[2].Int64() != 3 || !out[1].Bool() {
		t.Fatalf("reads %d, %v", out[2].Int64(), out[1].Bool())
	}
}
