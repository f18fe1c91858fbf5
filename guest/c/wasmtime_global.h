/*
 * wasmtime_global.h: the wasmtime-global guest SDK for C, header-only and freestanding (no libc).
 *
 * Written from spec/ABI.md alone. A guest keeps a table of slots in its own memory; the host
 * writes each declared global's value into its slot, so a read is one 64-bit load and never
 * calls the host. For core modules (wasm32-unknown-unknown, wasm32-wasip1) only: a component
 * (WASI preview 2) cannot share its memory with the host, and reads through the WIT interface
 * of spec/COMPONENTS.md instead (from C, with bindings that wit-bindgen generates for it).
 *
 *     #define WASMTIME_GLOBAL_IMPLEMENTATION   // in exactly one .c file of the guest
 *     #include "wasmtime_global.h"
 *
 *     static wg_global limit = WG_UINT64("LIMIT", 100);
 *     static wg_global verbose = WG_BOOL("VERBOSE", false);
 *
 *     uint64_t n = wg_uint64_get(&limit);  // declares at the first read, then one load
 *
 * Build (clang 14 or later, with lld):
 *
 *     clang --target=wasm32-unknown-unknown -O2 -ffreestanding -nostdlib \
 *           -Wl,--no-entry -o guest.wasm guest.c
 *
 * Options, defined before the #include:
 * - WASMTIME_GLOBAL_CAPACITY: slots in the table (default 64; 1 to 65536);
 * - WASMTIME_GLOBAL_IMPLEMENTATION: define the table and the functions here.
 *
 * Compiled with atomics and a shared memory (-matomics -mbulk-memory and the linker's
 * --shared-memory), reads are relaxed atomic loads, as the spec requires (§10.1). The SDK is not
 * otherwise thread-safe: declare from one thread, read from any.
 */
#ifndef WASMTIME_GLOBAL_H
#define WASMTIME_GLOBAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef WASMTIME_GLOBAL_CAPACITY
#define WASMTIME_GLOBAL_CAPACITY 64
#endif

#if WASMTIME_GLOBAL_CAPACITY < 1 || WASMTIME_GLOBAL_CAPACITY > 65536
#error "WASMTIME_GLOBAL_CAPACITY must be 1 to 65536 (spec/ABI.md: MAX_CAPACITY)"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* spec §3 */
#define WG_MAGIC 0x42544757u
#define WG_VERSION 3u
#define WG_SLOT_SIZE 64u
#define WG_MAX_NAME_LEN 255u

/* spec §4.3: value types */
enum wg_type {
    WG_TYPE_BOOL = 1,
    WG_TYPE_U64 = 2,
    WG_TYPE_I64 = 3,
    WG_TYPE_F64 = 4,
    WG_TYPE_DURATION = 5,
};

/* What wg_declare returns. 0 and positive numbers are the host's status codes (spec §7.1). */
enum wg_result {
    WG_OK = 0,
    WG_TYPE_MISMATCH = 1,  /* the host knows the name with another type */
    WG_ERR_TABLE_FULL = -1, /* all WASMTIME_GLOBAL_CAPACITY slots are in use */
    WG_ERR_NAME = -2,      /* empty, longer than 255 bytes, not UTF-8, or has a NUL */
    WG_ERR_TYPE = -3,      /* not one of enum wg_type */
};

/* spec §4.1: the header, 64 bytes. */
typedef struct wg_header {
    uint32_t magic;
    uint32_t version;
    uint32_t slot_size;
    uint32_t capacity;
    uint32_t count;
    uint32_t reserved0;
    uint64_t generation; /* host-written: odd while the host writes the table (§10.3) */
    uint64_t reserved1[4];
} wg_header;

/* spec §4.2: a slot, 64 bytes. */
typedef struct wg_slot {
    uint64_t hash;
    uint32_t name_addr;
    uint32_t name_len;
    uint32_t type;
    uint32_t reserved0;
    uint64_t default_bits;
    uint64_t value;   /* host-written after declaration */
    uint64_t changes; /* host-written: how often it wrote value since the declaration (§10.4) */
    uint64_t reserved1[2];
} wg_slot;

typedef struct wg_table {
    wg_header header;
    wg_slot slots[WASMTIME_GLOBAL_CAPACITY];
} wg_table;

_Static_assert(sizeof(wg_header) == 64, "spec §4.1: the header is 64 bytes");
_Static_assert(offsetof(wg_header, count) == 16, "spec §4.1");
_Static_assert(offsetof(wg_header, generation) == 24, "spec §4.1");
_Static_assert(sizeof(wg_slot) == 64, "spec §4.2: a slot is 64 bytes");
_Static_assert(offsetof(wg_slot, name_addr) == 8, "spec §4.2");
_Static_assert(offsetof(wg_slot, type) == 16, "spec §4.2");
_Static_assert(offsetof(wg_slot, default_bits) == 24, "spec §4.2");
_Static_assert(offsetof(wg_slot, value) == 32, "spec §4.2");
_Static_assert(offsetof(wg_slot, changes) == 40, "spec §4.2");
_Static_assert(offsetof(wg_table, slots) == 64, "spec §4: slot 0 follows the header");

/* The 64 bits of a default, for static initialisers. */
typedef union wg_bits {
    uint64_t u;
    int64_t i;
    double f;
} wg_bits;

/* A global: its name, type and default, and its slot once declared. Make one with the WG_*
 * initialisers (static) or wg_new_* (at run time); never copy one after it is declared. */
typedef struct wg_global {
    const char *name;
    uint32_t name_len;
    uint32_t type;
    wg_bits default_value;
    wg_slot *slot;  /* 0 until declared */
    int32_t status; /* the host's answer if it refused the declaration, else 0 */
} wg_global;

/* Static initialisers. NAME must be a string literal. */
#define WG_GLOBAL_(NAME, TYPE, FIELD, VALUE) \
    { (NAME), (uint32_t)(sizeof(NAME) - 1), (TYPE), { .FIELD = (VALUE) }, 0, 0 }
#define WG_BOOL(NAME, DEFAULT) WG_GLOBAL_(NAME, WG_TYPE_BOOL, u, (DEFAULT) ? 1u : 0u)
#define WG_UINT64(NAME, DEFAULT) WG_GLOBAL_(NAME, WG_TYPE_U64, u, (DEFAULT))
#define WG_INT64(NAME, DEFAULT) WG_GLOBAL_(NAME, WG_TYPE_I64, i, (DEFAULT))
#define WG_F64(NAME, DEFAULT) WG_GLOBAL_(NAME, WG_TYPE_F64, f, (DEFAULT))
/* A duration in signed nanoseconds. */
#define WG_DURATION_NS(NAME, DEFAULT_NS) WG_GLOBAL_(NAME, WG_TYPE_DURATION, i, (DEFAULT_NS))

/* Declares g (once; later calls return WG_OK at once). On WG_OK the slot holds the host's value
 * from now on. A status the host returned (WG_TYPE_MISMATCH) is kept: later calls return it
 * again without using another slot. */
int wg_declare(wg_global *g);

/* Declares every global of globals[0 .. n-1] that is not declared yet (or refused before) with
 * one host call (declare_range, spec §7), where wg_declare takes one each: a module instantiated
 * per request should declare the globals it reads this way first. A global listed twice is
 * declared once. Returns WG_OK if every one of them is declared, else the first one's failure;
 * each keeps its own (a later wg_declare of it returns it). */
int wg_declare_all(wg_global *const *globals, uint32_t n);

/* wg_declare_all of the n globals of the array globals[0 .. n-1], with no list of pointers to
 * build (on the stack, a page a fresh instance would otherwise make dirty for it). */
int wg_declare_array(wg_global *globals, uint32_t n);

/* Fills in g (name: NUL-terminated, kept alive by the caller) and declares it, like
 * wazero-global's NewBool / NewUint64 / NewDuration. */
int wg_new_bool(wg_global *g, const char *name, bool default_value);
int wg_new_uint64(wg_global *g, const char *name, uint64_t default_value);
int wg_new_int64(wg_global *g, const char *name, int64_t default_value);
int wg_new_f64(wg_global *g, const char *name, double default_value);
int wg_new_duration_ns(wg_global *g, const char *name, int64_t default_ns);

/* How many slots are in use. */
uint32_t wg_declared(void);

/* spec §5: FNV-1a 64. */
static inline uint64_t wg_fnv1a64(const char *bytes, uint32_t len) {
    uint64_t hash = 0xcbf29ce484222325u;
    for (uint32_t i = 0; i < len; i++) {
        hash ^= (unsigned char)bytes[i];
        hash *= 0x00000100000001b3u;
    }
    return hash;
}

/* spec §10.1: one aligned 64-bit load that the compiler keeps. */
static inline uint64_t wg_load_(const uint64_t *field) {
#ifdef __wasm_atomics__
    return __atomic_load_n(field, __ATOMIC_RELAXED);
#else
    return *(const volatile uint64_t *)field;
#endif
}

/* A read of a global that cannot be declared (full table, bad name, type mismatch) traps, as
 * the Rust SDK panics: call wg_declare first to handle the failure instead. */
static inline uint64_t wg_bits_(wg_global *g) {
    if (__builtin_expect(g->slot == 0, 0) && wg_declare(g) != WG_OK) {
        __builtin_trap();
    }
    return wg_load_(&g->slot->value);
}

static inline bool wg_bool_get(wg_global *g) { return wg_bits_(g) != 0; }
static inline uint64_t wg_uint64_get(wg_global *g) { return wg_bits_(g); }
static inline int64_t wg_int64_get(wg_global *g) { return (int64_t)wg_bits_(g); }
static inline double wg_f64_get(wg_global *g) {
    wg_bits bits;
    bits.u = wg_bits_(g);
    return bits.f;
}
static inline int64_t wg_duration_ns_get(wg_global *g) { return (int64_t)wg_bits_(g); }

/* How many times the host wrote g's value since it was declared (spec §10.4). */
static inline uint64_t wg_changes(wg_global *g) {
    return g->slot ? wg_load_(&g->slot->changes) : 0;
}

/* spec §10.3: reading several globals as one snapshot.
 *
 *     uint64_t gen;
 *     do {
 *         gen = wg_read_begin();
 *         a = wg_uint64_get(&A);
 *         b = wg_uint64_get(&B);
 *     } while (!wg_read_end(gen));
 */
uint64_t wg_read_begin(void);
bool wg_read_end(uint64_t generation);

#ifdef WASMTIME_GLOBAL_IMPLEMENTATION

/* The table. Its header is written by this initialiser (spec §7.2 step 2); count, generation,
 * the slots and every reserved field start at zero. */
_Alignas(8) static wg_table wasmtime_global_table_ = {
    {WG_MAGIC, WG_VERSION, WG_SLOT_SIZE, WASMTIME_GLOBAL_CAPACITY, 0, 0, 0, {0, 0, 0, 0}},
    {{0}},
};

/* spec §7. The table's address goes with every call, so a module may link this SDK beside
 * another one (each with a table of its own) and the host never calls back into the guest. */
__attribute__((import_module("wasmtime_global_v3"), import_name("declare"))) int32_t
wasmtime_global_declare_(int32_t table, int32_t slot_index);
/* Declares slots first .. first+count-1 in order, stopping at the first that is not WG_OK;
 * returns how many it declared. */
__attribute__((import_module("wasmtime_global_v3"), import_name("declare_range"))) int32_t
wasmtime_global_declare_range_(int32_t table, int32_t first, int32_t count);

/* spec §5: 1 to 255 bytes of UTF-8 with no NUL. */
static bool wg_valid_name_(const unsigned char *s, uint32_t len) {
    if (len == 0 || len > WG_MAX_NAME_LEN) {
        return false;
    }
    for (uint32_t i = 0; i < len;) {
        unsigned char c = s[i];
        uint32_t more;
        uint32_t min;
        uint32_t cp;
        if (c == 0) {
            return false;
        } else if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            more = 1, min = 0x80, cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            more = 2, min = 0x800, cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            more = 3, min = 0x10000, cp = c & 0x07;
        } else {
            return false;
        }
        if (more > len - i - 1) {
            return false;
        }
        for (uint32_t k = 1; k <= more; k++) {
            if ((s[i + k] & 0xc0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        /* no overlong forms, no surrogates, nothing past U+10FFFF */
        if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
            return false;
        }
        i += more + 1;
    }
    return true;
}

/* Checks g's name and type; WG_OK or why not. */
static int wg_check_(const wg_global *g) {
    if (!wg_valid_name_((const unsigned char *)g->name, g->name_len)) {
        return WG_ERR_NAME;
    }
    if (g->type < WG_TYPE_BOOL || g->type > WG_TYPE_DURATION) {
        return WG_ERR_TYPE;
    }
    return WG_OK;
}

/* §7.2 step 3 for slot i: every field but the reserved ones, which are still zero. */
static wg_slot *wg_fill_(const wg_global *g, uint32_t i) {
    wg_slot *slot = &wasmtime_global_table_.slots[i];
    slot->hash = wg_fnv1a64(g->name, g->name_len);
    slot->name_addr = (uint32_t)(uintptr_t)g->name;
    slot->name_len = g->name_len;
    slot->type = g->type;
    slot->default_bits = g->default_value.u;
    slot->value = g->default_value.u;
    slot->changes = 0;
    return slot;
}

/* Records the host's answer to the declaration of g in slot i. */
static int wg_answer_(wg_global *g, uint32_t i, int32_t status) {
    if (status != WG_OK) {
        /* The slot stays in use and keeps the default (§7.2); asking again would only use up
         * another slot for the same answer. */
        g->status = status;
        return status;
    }
    g->slot = &wasmtime_global_table_.slots[i];
    return WG_OK;
}

int wg_declare(wg_global *g) {
    if (g->slot) {
        return WG_OK;
    }
    if (g->status != WG_OK) {
        return g->status;
    }
    int checked = wg_check_(g);
    if (checked != WG_OK) {
        return checked;
    }
    wg_header *header = &wasmtime_global_table_.header;
    uint32_t i = header->count; /* §7.2 step 1 */
    if (i >= WASMTIME_GLOBAL_CAPACITY) {
        return WG_ERR_TABLE_FULL;
    }
    wg_fill_(g, i);
    header->count = i + 1; /* step 4 */
    int32_t status = /* step 5 */
        wasmtime_global_declare_((int32_t)(uintptr_t)&wasmtime_global_table_, (int32_t)i);
    return wg_answer_(g, i, status);
}

/* Marks a global that wg_declare_all took: its slot is (status - WG_TAKEN_). Never a status the
 * host returns (those are small), never one wg_declare_all leaves behind. */
#define WG_TAKEN_ 0x40000000

/* Global k of a list (list != 0) or of an array. */
static wg_global *wg_at_(wg_global *const *list, wg_global *array, uint32_t k) {
    return list ? list[k] : &array[k];
}

static int wg_declare_run_(wg_global *const *list, wg_global *array, uint32_t n) {
    wg_header *header = &wasmtime_global_table_.header;
    uint32_t first = header->count;
    uint32_t next = first;
    /* Fill a slot for each global to declare, in list order; a global listed again is taken
     * already. */
    for (uint32_t k = 0; k < n; k++) {
        wg_global *g = wg_at_(list, array, k);
        if (g->slot || g->status != WG_OK || wg_check_(g) != WG_OK) {
            continue;
        }
        if (next >= WASMTIME_GLOBAL_CAPACITY) {
            break;
        }
        wg_fill_(g, next);
        g->status = WG_TAKEN_ + (int32_t)next;
        next++;
    }
    header->count = next;
    int32_t table = (int32_t)(uintptr_t)&wasmtime_global_table_;
    uint32_t done = first;
    uint32_t k = 0;
    while (done < next) {
        int32_t got = wasmtime_global_declare_range_(table, (int32_t)done, (int32_t)(next - done));
        uint32_t end = done + ((uint32_t)got < next - done ? (uint32_t)got : next - done);
        int32_t stopped = WG_OK;
        if (end < next) {
            /* The host stopped at slot `end`: declare says why. */
            stopped = wasmtime_global_declare_(table, (int32_t)end);
        }
        for (; k < n && done <= end && done < next; k++) {
            wg_global *g = wg_at_(list, array, k);
            if (g->status != WG_TAKEN_ + (int32_t)done) {
                continue;
            }
            g->status = WG_OK;
            wg_answer_(g, done, done < end ? WG_OK : stopped);
            done++;
        }
    }
    int result = WG_OK;
    for (uint32_t k = 0; k < n && result == WG_OK; k++) {
        wg_global *g = wg_at_(list, array, k);
        result = g->slot ? WG_OK : g->status != WG_OK ? g->status : wg_declare(g);
    }
    return result;
}

int wg_declare_all(wg_global *const *globals, uint32_t n) {
    return wg_declare_run_(globals, 0, n);
}

int wg_declare_array(wg_global *globals, uint32_t n) { return wg_declare_run_(0, globals, n); }

static uint32_t wg_strlen_(const char *s) {
    uint32_t n = 0;
    while (s[n] != 0 && n <= WG_MAX_NAME_LEN) {
        n++;
    }
    return n;
}

static int wg_new_(wg_global *g, const char *name, uint32_t type, uint64_t bits) {
    g->name = name;
    g->name_len = wg_strlen_(name);
    g->type = type;
    g->default_value.u = bits;
    g->slot = 0;
    g->status = WG_OK;
    return wg_declare(g);
}

int wg_new_bool(wg_global *g, const char *name, bool d) {
    return wg_new_(g, name, WG_TYPE_BOOL, d ? 1u : 0u);
}
int wg_new_uint64(wg_global *g, const char *name, uint64_t d) {
    return wg_new_(g, name, WG_TYPE_U64, d);
}
int wg_new_int64(wg_global *g, const char *name, int64_t d) {
    return wg_new_(g, name, WG_TYPE_I64, (uint64_t)d);
}
int wg_new_f64(wg_global *g, const char *name, double d) {
    wg_bits bits;
    bits.f = d;
    return wg_new_(g, name, WG_TYPE_F64, bits.u);
}
int wg_new_duration_ns(wg_global *g, const char *name, int64_t d) {
    return wg_new_(g, name, WG_TYPE_DURATION, (uint64_t)d);
}

uint32_t wg_declared(void) { return wasmtime_global_table_.header.count; }

uint64_t wg_read_begin(void) {
    uint64_t generation;
    do {
        generation = wg_load_(&wasmtime_global_table_.header.generation);
    } while (generation & 1);
#ifdef __wasm_atomics__
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
#endif
    return generation;
}

bool wg_read_end(uint64_t generation) {
#ifdef __wasm_atomics__
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
#endif
    return wg_load_(&wasmtime_global_table_.header.generation) == generation;
}

#endif /* WASMTIME_GLOBAL_IMPLEMENTATION */

#ifdef __cplusplus
}
#endif

#endif /* WASMTIME_GLOBAL_H */
