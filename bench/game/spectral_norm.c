/* spectral-norm (Computer Language Benchmarks Game), the C peer of spectral_norm.syn.
 * Input: n (default 100). Output: the norm, %.9f. */
#include "common.c"

static double a(int i, int j) {
    return 1.0 / (double)((i + j) * (i + j + 1) / 2 + i + 1);
}

static void mul_av(int n, const double *v, double *av) {
    for (int i = 0; i < n; i++) {
        double sum = 0.0;
        for (int j = 0; j < n; j++)
            sum += a(i, j) * v[j];
        av[i] = sum;
    }
}

static void mul_atv(int n, const double *v, double *atv) {
    for (int i = 0; i < n; i++) {
        double sum = 0.0;
        for (int j = 0; j < n; j++)
            sum += a(j, i) * v[j];
        atv[i] = sum;
    }
}

static void mul_atav(int n, const double *v, double *tmp, double *atav) {
    mul_av(n, v, tmp);
    mul_atv(n, tmp, atav);
}

static double spectral_norm(int n) {
    double *u = arena_alloc(n * sizeof(double));
    double *v = arena_alloc(n * sizeof(double));
    double *tmp = arena_alloc(n * sizeof(double));
    for (int i = 0; i < n; i++) {
        u[i] = 1.0;
        v[i] = 0.0;
        tmp[i] = 0.0;
    }
    for (int round = 0; round < 10; round++) {
        mul_atav(n, u, tmp, v);
        mul_atav(n, v, tmp, u);
    }
    double vbv = 0.0, vv = 0.0;
    for (int i = 0; i < n; i++) {
        vbv += u[i] * v[i];
        vv += v[i] * v[i];
    }
    return __builtin_sqrt(vbv / vv);
}

EXPORT("main") void run(void) {
    int n = read_size(100);
    put_fixed(spectral_norm(n), 9);
    put_byte('\n');
    flush();
}
