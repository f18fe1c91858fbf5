package global

import (
	"errors"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// The binary ABI (spec/ABI.md), version 3.
const (
	magic       = 0x42544757 // "WGTB", little-endian
	abiVersion  = 3
	slotSize    = 64
	headerSize  = 64
	maxCapacity = 65536
	// MaxNameLen is the longest name, in bytes.
	MaxNameLen = 255
	// DefaultCapacity is the number of slots of the table until SetCapacity says otherwise.
	DefaultCapacity = 64
)

// Type is a global's value type, as the ABI tags it.
type Type uint32

// The value types (spec/ABI.md §4.3).
const (
	TypeBool     Type = 1
	TypeUint64   Type = 2
	TypeInt64    Type = 3
	TypeFloat64  Type = 4
	TypeDuration Type = 5
)

func (t Type) String() string {
	switch t {
	case TypeBool:
		return "BOOL"
	case TypeUint64:
		return "U64"
	case TypeInt64:
		return "I64"
	case TypeFloat64:
		return "F64"
	case TypeDuration:
		return "DURATION"
	}
	return "Type(" + strconv.FormatUint(uint64(t), 10) + ")"
}

// header is the table header (spec/ABI.md §4.1). Pointer-free, as everything the host writes is.
type header struct {
	magic      uint32
	version    uint32
	slotSize   uint32
	capacity   uint32
	count      uint32
	reserved0  uint32
	generation uint64
	reserved1  [4]uint64
}

// slot is one global (spec/ABI.md §4.2).
type slot struct {
	hash      uint64
	nameAddr  uint32
	nameLen   uint32
	ty        uint32
	reserved0 uint32
	deflt     uint64
	value     uint64
	changes   uint64
	reserved1 [2]uint64
}

// The layout must be the ABI's, byte for byte.
var _ = [1]struct{}{}[unsafe.Sizeof(header{})-headerSize]
var _ = [1]struct{}{}[unsafe.Sizeof(slot{})-slotSize]
var _ = [1]struct{}{}[unsafe.Offsetof(header{}.generation)-24]
var _ = [1]struct{}{}[unsafe.Offsetof(slot{}.value)-32]

// Hash is FNV-1a 64 of a name's bytes (spec/ABI.md §5).
func Hash(name string) uint64 {
	h := uint64(0xcbf29ce484222325)
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= 0x100000001b3
	}
	return h
}

// Errors a declaration can fail with, before or from the host.
var (
	// ErrInvalidName: the name is empty, longer than MaxNameLen, not UTF-8, or holds a NUL.
	ErrInvalidName = errors.New("invalid name")
	// ErrTableFull: every slot of the table is in use (see SetCapacity).
	ErrTableFull = errors.New("table full")
	// ErrTypeMismatch: the host knows the name with another type.
	ErrTypeMismatch = errors.New("the host knows the name with another type (TYPE_MISMATCH)")
	// ErrUnknownStatus: the host answered with a status this SDK does not know.
	ErrUnknownStatus = errors.New("unknown status from the host")
)

// CheckName reports whether name follows the naming rules (spec/ABI.md §5).
func CheckName(name string) error {
	switch {
	case len(name) == 0:
		return wrap(ErrInvalidName, "empty")
	case len(name) > MaxNameLen:
		return wrap(ErrInvalidName, strconv.Itoa(len(name))+" bytes, more than 255")
	case !utf8.ValidString(name):
		return wrap(ErrInvalidName, "not UTF-8")
	}
	for i := 0; i < len(name); i++ {
		if name[i] == 0 {
			return wrap(ErrInvalidName, "NUL at byte "+strconv.Itoa(i))
		}
	}
	return nil
}

// wrapped is an error with more to say than the one it wraps: "<err>: <detail>". (The package
// does without fmt, which made the seed guest about 500 KB larger.)
type wrapped struct {
	err    error
	detail string
}

func wrap(err error, detail string) error { return &wrapped{err, detail} }

func (w *wrapped) Error() string { return w.err.Error() + ": " + w.detail }

func (w *wrapped) Unwrap() error { return w.err }

// declareError is a failed declaration, as Err reports it.
type declareError struct {
	name string
	err  error
}

func (d *declareError) Error() string {
	return "wasmtime-global: cannot declare " + strconv.Quote(d.name) + ": " + d.err.Error()
}

func (d *declareError) Unwrap() error { return d.err }
