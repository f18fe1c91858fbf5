/* The C SDK's name hash and name check, exported so that the tests can run them over
 * spec/vectors/hashes.json, and its handling of a refused declaration. */
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

static wg_global mismatched = WG_BOOL("mismatched", false);

/* Declares "mismatched" as a BOOL twice (the test has set it as a U64 first); returns both
 * statuses and the slots in use as s1 | s2 << 8 | used << 16. */
__attribute__((export_name("declare_twice"))) int32_t declare_twice(void) {
    int first = wg_declare(&mismatched);
    int second = wg_declare(&mismatched);
    return first | second << 8 | (int32_t)wg_declared() << 16;
}
