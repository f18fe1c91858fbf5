module wasmtime-global-guests

go 1.24

require github.com/wasmtime-global/wasmtime-global/guest/go v0.0.0

replace github.com/wasmtime-global/wasmtime-global/guest/go => ../../guest/go
