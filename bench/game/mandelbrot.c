/* mandelbrot (Computer Language Benchmarks Game), the C peer of mandelbrot.syn: a binary PBM
 * image of the Mandelbrot set. Input: n (default 200). Output: the PBM bytes. */
#include "common.c"

#define ITERATIONS 50
#define LIMIT_SQUARED 4.0

static int inside(double cr, double ci) {
    double zr = 0.0, zi = 0.0, tr = 0.0, ti = 0.0;
    for (int i = 0; i < ITERATIONS && tr + ti <= LIMIT_SQUARED; i++) {
        zi = 2.0 * zr * zi + ci;
        zr = tr - ti + cr;
        tr = zr * zr;
        ti = zi * zi;
    }
    return tr + ti <= LIMIT_SQUARED;
}

EXPORT("main") void run(void) {
    int n = read_size(200);
    put_str("P4\n");
    put_int(n);
    put_byte(' ');
    put_int(n);
    put_byte('\n');
    double size = n;
    for (int y = 0; y < n; y++) {
        double ci = 2.0 * y / size - 1.0;
        int bits = 0, count = 0;
        for (int x = 0; x < n; x++) {
            double cr = 2.0 * x / size - 1.5;
            bits <<= 1;
            if (inside(cr, ci))
                bits |= 1;
            count++;
            if (count == 8) {
                put_byte((unsigned char)bits);
                bits = 0;
                count = 0;
            }
        }
        if (count > 0)
            put_byte((unsigned char)(bits << (8 - count)));
    }
    flush();
}
