module github.com/wasmtime-global/wasmtime-global/guest/go

go 1.24
