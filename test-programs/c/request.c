/* The request benchmark's guest through the C SDK (tests/benches/request.rs): handle_each(n, k)
 * reads each of the first n of its 16 U64 globals k times (each declared at its first read, as
 * the SDK does); handle_all(n, k) declares them in one call first; seed(n, k) reads the same values through wazero-global's design (the name and
 * the default copied into a buffer, one host call that looks the name up and writes the value
 * back). Every global's default is 1, so both return n * k. */
#define WASMTIME_GLOBAL_IMPLEMENTATION
/* A table as large as the module needs: with the globals and their names, one page of memory,
 * where the default 64 slots (4,160 bytes) take two (a page fault each in a fresh instance of
 * wasmtime's default pool). */
#define WASMTIME_GLOBAL_CAPACITY 16
#include "wasmtime_global.h" /* guest/c/, on the include path */

#define EXPORT(name) __attribute__((export_name(name)))

static wg_global globals[16] = {
    WG_UINT64("REQ_00", 1), WG_UINT64("REQ_01", 1), WG_UINT64("REQ_02", 1),
    WG_UINT64("REQ_03", 1), WG_UINT64("REQ_04", 1), WG_UINT64("REQ_05", 1),
    WG_UINT64("REQ_06", 1), WG_UINT64("REQ_07", 1), WG_UINT64("REQ_08", 1),
    WG_UINT64("REQ_09", 1), WG_UINT64("REQ_10", 1), WG_UINT64("REQ_11", 1),
    WG_UINT64("REQ_12", 1), WG_UINT64("REQ_13", 1), WG_UINT64("REQ_14", 1),
    WG_UINT64("REQ_15", 1),
};

static const char *const names[16] = {
    "REQ_00", "REQ_01", "REQ_02", "REQ_03", "REQ_04", "REQ_05", "REQ_06", "REQ_07",
    "REQ_08", "REQ_09", "REQ_10", "REQ_11", "REQ_12", "REQ_13", "REQ_14", "REQ_15",
};

static int32_t clamp(int32_t n) { return n < 0 ? 0 : n > 16 ? 16 : n; }

EXPORT("handle_each") int64_t handle_each(int32_t n, int32_t k) {
    uint64_t total = 0;
    for (int32_t i = 0; i < clamp(n); i++) {
        for (int32_t j = 0; j < k; j++) {
            total += wg_uint64_get(&globals[i]);
        }
    }
    return (int64_t)total;
}

/* handle_each, after declaring the n globals in one host call (wg_declare_array): what a
 * per-request guest should do. */
EXPORT("handle_all") int64_t handle_all(int32_t n, int32_t k) {
    if (wg_declare_array(globals, (uint32_t)clamp(n)) != WG_OK) {
        __builtin_trap();
    }
    return handle_each(n, k);
}

/* wazero-global's host function: reads the name at `name`, looks it up, and writes its value at
 * `value` if it has one (the guest wrote its default there). */
__attribute__((import_module("bench"), import_name("global_get"))) void
global_get(const char *name, int32_t len, uint64_t *value);

/* wazero-global's guest copies the name and its default into buffers before each call. */
static char name_buf[64];
static volatile uint64_t value_buf;

EXPORT("seed") int64_t seed(int32_t n, int32_t k) {
    uint64_t total = 0;
    for (int32_t i = 0; i < clamp(n); i++) {
        for (int32_t j = 0; j < k; j++) {
            uint32_t len = 0;
            while (names[i][len] != 0) {
                name_buf[len] = names[i][len];
                len++;
            }
            value_buf = 1;
            global_get(name_buf, (int32_t)len, (uint64_t *)&value_buf);
            total += value_buf;
        }
    }
    return (int64_t)total;
}
