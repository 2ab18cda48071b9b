/* An LD_PRELOAD library that counts heap allocations, so benchmarks can report allocations per decision.
 * The benchmark reads the count through switchboard_malloc_count(), found with dlsym when preloaded.
 * It forwards to glibc's own __libc_* functions, so it needs no dlsym of its own (which may allocate).
 * Built by tools/bench-core: cc -O2 -shared -fPIC -o malloc_count.so tools/malloc_count.c */
#include <stddef.h>
#include <stdatomic.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static atomic_ulong count;

unsigned long switchboard_malloc_count(void) { return atomic_load_explicit(&count, memory_order_relaxed); }

void *malloc(size_t n) {
    atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
    return __libc_malloc(n);
}

void *calloc(size_t a, size_t b) {
    atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
    return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n) {
    atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
    return __libc_realloc(p, n);
}

int posix_memalign(void **p, size_t alignment, size_t n) {
    atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
    void *q = __libc_memalign(alignment, n);
    if (!q) return 12; /* ENOMEM */
    *p = q;
    return 0;
}
