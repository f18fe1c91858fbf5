//go:build !wasip1

package global

// Off wasm there is no host: tests install a fake one here.
var fakeHost func(h *header, index uint32) int32

func hostDeclare(h *header, index uint32) int32 {
	if fakeHost == nil {
		panic("wasmtime-global: no host outside wasm")
	}
	return fakeHost(h, index)
}

// hostDeclareRange is declare_range as the ABI defines it, over the fake host's declare.
func hostDeclareRange(h *header, first, count uint32) uint32 {
	for i := range count {
		if hostDeclare(h, first+i) != 0 {
			return i
		}
	}
	return count
}
