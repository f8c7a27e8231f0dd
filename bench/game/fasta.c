/* fasta (Computer Language Benchmarks Game), the C peer of fasta.syn.
 * Input: n (default 1000). Output: the FASTA text. */
#include "common.c"

#define LINE 60
#define IM 139968
#define IA 3877
#define IC 29573

static const char ALU[] =
    "GGCCGGGCGCGGTGGCTCACGCCTGTAATCCCAGCACTTTGG"
    "GAGGCCGAGGCGGGCGGATCACCTGAGGTCAGGAGTTCGAGA"
    "CCAGCCTGGCCAACATGGTGAAACCCCGTCTCTACTAAAAAT"
    "ACAAAAATTAGCCGGGCGTGGTGGCGCGCGCCTGTAATCCCA"
    "GCTACTCGGGAGGCTGAGGCAGGAGAATCGCTTGAACCCGGG"
    "AGGCGGAGGTTGCAGTGAGCCGAGATCGCGCCACTGCACTCC"
    "AGCCTGGGCGACAGAGCGAGACTCCGTCTCAAAAA";

static int seed = 42;

static double next_random(double max) {
    seed = (seed * IA + IC) % IM;
    return max * seed / IM;
}

struct alphabet {
    const char *symbols;
    int count;
    double cumulative[16];
};

static void make_cumulative(struct alphabet *a, const double *probabilities) {
    double total = 0.0;
    for (int i = 0; i < a->count; i++) {
        total += probabilities[i];
        a->cumulative[i] = total;
    }
}

static void repeat_fasta(const char *header, const char *sequence, int len, int n) {
    put_str(header);
    int k = 0;
    while (n > 0) {
        int line = n < LINE ? n : LINE;
        for (int i = 0; i < line; i++) {
            put_byte((unsigned char)sequence[k]);
            if (++k == len)
                k = 0;
        }
        put_byte('\n');
        n -= line;
    }
}

static void random_fasta(const char *header, const struct alphabet *a, int n) {
    put_str(header);
    int last = a->count - 1;
    while (n > 0) {
        int line = n < LINE ? n : LINE;
        for (int i = 0; i < line; i++) {
            double r = next_random(1.0);
            int s = 0;
            while (s < last && r >= a->cumulative[s])
                s++;
            put_byte((unsigned char)a->symbols[s]);
        }
        put_byte('\n');
        n -= line;
    }
}

EXPORT("main") void run(void) {
    int n = read_size(1000);
    static const double iub_p[15] = {0.27, 0.12, 0.12, 0.27, 0.02, 0.02, 0.02, 0.02,
                                     0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02};
    static const double homo_p[4] = {0.3029549426680, 0.1979883004921, 0.1975473066391,
                                     0.3015094502008};
    static struct alphabet iub = {"acgtBDHKMNRSVWY", 15, {0}};
    static struct alphabet homo = {"acgt", 4, {0}};
    make_cumulative(&iub, iub_p);
    make_cumulative(&homo, homo_p);
    repeat_fasta(">ONE Homo sapiens alu\n", ALU, sizeof ALU - 1, 2 * n);
    random_fasta(">TWO IUB ambiguity codes\n", &iub, 3 * n);
    random_fasta(">THREE Homo sapiens frequency\n", &homo, 5 * n);
    flush();
}
