package global

import (
	"errors"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"unsafe"
)

// The table is a package variable (staticTable), or, past DefaultCapacity slots, lives in the Go
// heap, pinned (runtime.Pinner: Go's documented promise that an object neither moves nor is
// freed); either way it holds no pointers, so the host may write into it and the garbage
// collector never looks inside. Every declared name's bytes (which the host reads at
// declaration) are copied into nameArena, or, once it is full, pinned and kept referenced.
var (
	pinner   runtime.Pinner
	mu       sync.Mutex
	capacity = DefaultCapacity
	mem      []slot // mem[0] is the header, mem[1+i] slot i
	names    []string
	refused  = map[refusal]error{}
	failures []error
	// The header, once the table exists: for Consistent, which takes no lock.
	published atomic.Pointer[header]
)

// The table while it has no more than DefaultCapacity slots, and the names while they fit:
// package variables never move and are never freed, so they need no heap allocation and no pin.
// Pinning a table and its names costs a fresh instance a visible share of its Go runtime's
// start (cargo bench -p wasmtime-global-tests --bench request, the Go guest's rows).
var (
	staticTable [1 + DefaultCapacity]slot
	staticNames [DefaultCapacity]string
	nameArena   [DefaultCapacity * 32]byte
	arenaUsed   int
)

// keepName returns where the host may read name for as long as the instance lives: a copy in
// nameArena while there is room, else the string itself, pinned and kept referenced.
func keepName(name string) unsafe.Pointer {
	if len(name) <= len(nameArena)-arenaUsed {
		kept := nameArena[arenaUsed : arenaUsed+len(name)]
		copy(kept, name)
		arenaUsed += len(name)
		return unsafe.Pointer(&kept[0])
	}
	pinner.Pin(unsafe.StringData(name))
	return unsafe.Pointer(unsafe.StringData(name))
}

type refusal struct {
	name string
	ty   Type
}

func tableHeader() *header { return (*header)(unsafe.Pointer(&mem[0])) }

// addr is p's address in the guest's memory: on wasm, a 32-bit offset.
func addr(p unsafe.Pointer) uint32 { return uint32(uintptr(p)) }

// SetCapacity sets how many globals the table holds (1 to 65,536; DefaultCapacity until then).
// It must come before the first declaration: the table does not move once the host knows it.
func SetCapacity(n int) error {
	mu.Lock()
	defer mu.Unlock()
	switch {
	case mem != nil:
		return errors.New("global: SetCapacity after the first declaration")
	case n < 1 || n > maxCapacity:
		return errors.New("global: capacity " + strconv.Itoa(n) + " is not 1 to 65536")
	}
	capacity = n
	return nil
}

// Capacity is the number of globals the table holds.
func Capacity() int {
	mu.Lock()
	defer mu.Unlock()
	return capacity
}

// declare fills the next slot of the table and asks the host to declare it (spec/ABI.md §7.2).
func declare(name string, t Type, def uint64) (*slot, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	mu.Lock()
	defer mu.Unlock()
	// A refusal is remembered, so that asking again does not use up another slot (§7.4).
	if err, ok := refused[refusal{name, t}]; ok {
		return nil, err
	}
	h := table()
	if int(h.count) >= capacity {
		return nil, ErrTableFull
	}
	i := h.count
	s := fill(i, name, t, def)
	h.count = i + 1
	if err := answer(name, t, hostDeclare(h, i)); err != nil {
		return nil, err
	}
	return s, nil
}

// table is the table's header, the table made first if there is none. mu is held.
func table() *header {
	if mem == nil {
		if capacity <= DefaultCapacity {
			mem = staticTable[:capacity+1]
			names = staticNames[:0]
		} else {
			mem = make([]slot, capacity+1)
			pinner.Pin(&mem[0])
		}
		*tableHeader() = header{
			magic:    magic,
			version:  abiVersion,
			slotSize: slotSize,
			capacity: uint32(capacity),
		}
		published.Store(tableHeader())
	}
	return tableHeader()
}

// fill writes slot i for a global (spec/ABI.md §7.2 step 3). mu is held.
func fill(i uint32, name string, t Type, def uint64) *slot {
	names = append(names, name) // kept referenced, as long as the table
	s := &mem[1+i]
	*s = slot{
		hash:     Hash(name),
		nameAddr: addr(keepName(name)),
		nameLen:  uint32(len(name)),
		ty:       uint32(t),
		deflt:    def,
		value:    def, // read as the default even if the declaration fails
	}
	return s
}

// answer is the error for the host's status, remembered if it is a refusal. mu is held.
func answer(name string, t Type, status int32) error {
	switch status {
	case 0:
		return nil
	case 1:
		err := ErrTypeMismatch
		refused[refusal{name, t}] = err
		return err
	default:
		err := wrap(ErrUnknownStatus, strconv.Itoa(int(status)))
		refused[refusal{name, t}] = err
		return err
	}
}

// declareAll declares each of defs whose out[i].err is nil (DeclareInto): sets out[i].s to its
// slot, or out[i].err to why not.
func declareAll(out []Global, defs []Def) {
	mu.Lock()
	defer mu.Unlock()
	h := table()
	first := h.count
	for i, d := range defs {
		if out[i].err != nil {
			continue
		}
		if len(refused) > 0 {
			if err, ok := refused[refusal{d.Name, d.Type}]; ok {
				out[i].err = err
				continue
			}
		}
		if int(h.count) >= capacity {
			out[i].err = ErrTableFull
			continue
		}
		out[i].s = fill(h.count, d.Name, d.Type, d.Default)
		h.count++
	}
	// Slots first .. first+n-1 are the defs given one, in order. No list of them is kept: a
	// frame larger by one made a fresh instance's goroutine stack grow (a copy of the stack).
	n := h.count - first
	for done := uint32(0); done < n; {
		got := min(hostDeclareRange(h, first+done, n-done), n-done)
		done += got
		if done < n {
			// The host stopped at this slot: declare says why.
			stopped := &mem[1+first+done]
			for i := range out {
				if out[i].s == stopped {
					out[i].err = answer(defs[i].Name, defs[i].Type, hostDeclare(h, first+done))
					if out[i].err != nil {
						out[i].s = nil
					}
				}
			}
			done++
		}
	}
}

// record keeps a failed declaration for Err.
func record(name string, err error) {
	mu.Lock()
	defer mu.Unlock()
	failures = append(failures, &declareError{name, err})
}

// Err reports every declaration of a New… function that failed (nil if none did): such a global
// reads its default for good. TryNew… and Declare return the error instead.
func Err() error {
	mu.Lock()
	defer mu.Unlock()
	return errors.Join(failures...)
}
