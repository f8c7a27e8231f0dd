/* Helpers shared by the C peers of the Benchmarks Game kernels; each kernel #includes this
 * file, so every program is one translation unit as every `.syn` program is one module.
 *
 * No libc: output goes through the Synapse host imports (module "syn"), the same ones the
 * `.syn` programs reach through the prelude. Output is buffered and flushed in 64 KiB pieces,
 * as `common.syn` does; `put_fixed` formats a double with the same arithmetic as its `.syn`
 * twin, so both print identical bytes. `arena_alloc` is a bump allocator over the linear memory
 * above the stack and static data that never frees, like the `.syn` arena.
 */

#define SYN_IMPORT(name) __attribute__((import_module("syn"), import_name(name)))
#define EXPORT(name) __attribute__((export_name(name)))

SYN_IMPORT("write") void syn_write(const void *ptr, int len);
SYN_IMPORT("input_len") int syn_input_len(void);
SYN_IMPORT("input_read") void syn_input_read(void *dst);

typedef long long i64;

#define OUT_CHUNK 65536

static unsigned char out_buf[OUT_CHUNK];
static int out_len;

static void flush(void) {
    if (out_len > 0) {
        syn_write(out_buf, out_len);
        out_len = 0;
    }
}

static inline void put_byte(unsigned char c) {
    out_buf[out_len++] = c;
    if (out_len >= OUT_CHUNK)
        flush();
}

static void put_str(const char *s) {
    while (*s)
        put_byte((unsigned char)*s++);
}

/* The non-negative x in decimal, padded with leading zeros to at least `width` digits. */
static void put_digits(i64 x, int width) {
    unsigned char digits[20];
    int n = 0;
    while (x > 0 || n < width) {
        digits[n++] = (unsigned char)('0' + x % 10);
        x /= 10;
    }
    while (n > 0)
        put_byte(digits[--n]);
}

static void put_int(i64 x) {
    if (x < 0) {
        put_byte('-');
        put_digits(-x, 1);
    } else {
        put_digits(x, 1);
    }
}

/* x with exactly `decimals` digits after the point, the scaled value rounded to nearest, a
 * tie to even (see common.syn's put_fixed). */
static void put_fixed(double x, int decimals) {
    double scale = 1.0;
    i64 unit = 1;
    for (int i = 0; i < decimals; i++) {
        scale *= 10.0;
        unit *= 10;
    }
    double magnitude = x;
    if (x < 0.0) {
        put_byte('-');
        magnitude = -x;
    }
    double scaled = magnitude * scale;
    i64 whole = (i64)scaled;
    double fraction = scaled - (double)whole;
    if (fraction > 0.5 || (fraction == 0.5 && whole % 2 == 1))
        whole++;
    put_digits(whole / unit, 1);
    if (decimals > 0) {
        put_byte('.');
        put_digits(whole % unit, decimals);
    }
}

/* The first run of decimal digits of the request input, or `fallback` when there is none. */
static int read_size(int fallback) {
    static unsigned char text[64];
    int len = syn_input_len();
    if (len > (int)sizeof text)
        return fallback;
    syn_input_read(text);
    int n = 0, seen = 0;
    for (int i = 0; i < len; i++) {
        unsigned char c = text[i];
        if (c >= '0' && c <= '9') {
            n = n * 10 + (c - '0');
            seen = 1;
        } else if (seen) {
            break;
        }
    }
    return seen ? n : fallback;
}

/* Bump allocation from the end of the static data (the linker's __heap_base) upward, 8-byte
 * aligned, never freed. Running past the memory traps (out-of-bounds store). */
extern unsigned char __heap_base;
static unsigned long arena_next;

static void *arena_alloc(unsigned long size) {
    if (arena_next == 0)
        arena_next = ((unsigned long)&__heap_base + 7) & ~7ul;
    void *p = (void *)arena_next;
    arena_next += (size + 7) & ~7ul;
    return p;
}
