//go:build wasip1

package global

import "unsafe"

//go:wasmimport wasmtime_global_v2 declare
func declare32(table uint32, index uint32) int32

func hostDeclare(h *header, index uint32) int32 {
	return declare32(addr(unsafe.Pointer(h)), index)
}
