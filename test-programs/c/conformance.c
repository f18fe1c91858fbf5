/* The conformance profile (spec/CONFORMANCE.md) through the C SDK. */
#define WASMTIME_GLOBAL_IMPLEMENTATION
#include "wasmtime_global.h" /* guest/c/, on the include path */

#define EXPORT(name) __attribute__((export_name(name)))

/* 255 bytes: the longest name. */
#define N16 "NNNNNNNNNNNNNNNN"
#define LONG N16 N16 N16 N16 N16 N16 N16 N16 N16 N16 N16 N16 N16 N16 N16 "NNNNNNNNNNNNNNN"
_Static_assert(sizeof(LONG) - 1 == 255, "the long name is 255 bytes");

/* The profile's globals, in order: wgc_get(i) reads globals[i]. */
static wg_global globals[10 + WASMTIME_GLOBAL_CAPACITY] = {
    WG_BOOL("conf.bool", true),
    WG_UINT64("conf.u64", 42),
    WG_INT64("conf.i64", -42),
    WG_F64("conf.f64", 1.5),
    WG_DURATION_NS("conf.duration", 60000000000),
    WG_UINT64("5j3rldmyid5yi", 5),
    WG_UINT64("pkj7qegsilwso", 6),
    WG_UINT64(LONG, 255),
    WG_UINT64("conf.unset", 8),
    WG_UINT64("conf.early", 9),
};
static uint32_t numbered = 10;

EXPORT("wgc_init") void wgc_init(void) {
    /* The ten in one host call (spec §7.5), in the profile's order. */
    wg_global *ten[10];
    for (uint32_t i = 0; i < 10; i++) {
        ten[i] = &globals[i];
    }
    if (wg_declare_all(ten, 10) != WG_OK) {
        __builtin_trap();
    }
}

EXPORT("wgc_get") int64_t wgc_get(int32_t i) {
    if (i < 0 || (uint32_t)i >= numbered) {
        return 0;
    }
    wg_global *g = &globals[i];
    switch (g->type) {
    case WG_TYPE_BOOL:
        return wg_bool_get(g);
    case WG_TYPE_F64: {
        wg_bits bits;
        bits.f = wg_f64_get(g);
        return bits.i;
    }
    case WG_TYPE_I64:
        return wg_int64_get(g);
    case WG_TYPE_DURATION:
        return wg_duration_ns_get(g);
    default:
        return (int64_t)wg_uint64_get(g);
    }
}

EXPORT("wgc_capacity") int32_t wgc_capacity(void) { return WASMTIME_GLOBAL_CAPACITY; }

EXPORT("wgc_fill") int32_t wgc_fill(void) {
    int32_t n = 0;
    while (numbered < 10 + WASMTIME_GLOBAL_CAPACITY) {
        int result = wg_new_uint64(&globals[numbered], "conf.fill", 7);
        if (result == WG_ERR_TABLE_FULL) {
            break;
        }
        if (result != WG_OK) {
            __builtin_trap();
        }
        numbered++;
        n++;
    }
    return n;
}
