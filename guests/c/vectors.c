/* The C SDK's name hash and name check, exported so that the tests can run them over
 * spec/vectors/hashes.json. */
#define WASMTIME_GLOBAL_IMPLEMENTATION
#include "wasmtime_global.h" /* guest/c/, on the include path */

static unsigned char input[512];

__attribute__((export_name("input"))) uint32_t input_addr(void) {
    return (uint32_t)(uintptr_t)input;
}

__attribute__((export_name("hash"))) uint64_t hash(uint32_t len) {
    return wg_fnv1a64((const char *)input, len);
}

__attribute__((export_name("valid_name"))) int32_t valid_name(uint32_t len) {
    return wg_valid_name_(input, len);
}
