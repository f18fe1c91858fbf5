//go:build wasip1

package global

import "unsafe"

//go:wasmimport wasmtime_global_v3 declare
func declare32(table uint32, index uint32) int32

//go:wasmimport wasmtime_global_v3 declare_range
func declareRange32(table uint32, first uint32, count uint32) int32

func hostDeclare(h *header, index uint32) int32 {
	return declare32(addr(unsafe.Pointer(h)), index)
}

func hostDeclareRange(h *header, first, count uint32) uint32 {
	return uint32(declareRange32(addr(unsafe.Pointer(h)), first, count))
}
