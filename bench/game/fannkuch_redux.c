/* fannkuch-redux (Computer Language Benchmarks Game), the C peer of fannkuch_redux.syn.
 * Input: n (default 7). Output: the checksum, then "Pfannkuchen(n) = max". */
#include "common.c"

#define MAX_N 16

static int fannkuch(int n, int *checksum_out) {
    int perm[MAX_N], perm1[MAX_N], count[MAX_N];
    for (int i = 0; i < n; i++)
        perm1[i] = i;
    int max_flips = 0, checksum = 0, perm_count = 0;
    int r = n;
    for (;;) {
        while (r != 1) {
            count[r - 1] = r;
            r--;
        }
        for (int i = 0; i < n; i++)
            perm[i] = perm1[i];
        int flips = 0;
        int k = perm[0];
        while (k != 0) {
            for (int lo = 0, hi = k; lo < hi; lo++, hi--) {
                int t = perm[lo];
                perm[lo] = perm[hi];
                perm[hi] = t;
            }
            flips++;
            k = perm[0];
        }
        if (flips > max_flips)
            max_flips = flips;
        checksum += perm_count % 2 == 0 ? flips : -flips;
        for (;;) {
            if (r == n) {
                *checksum_out = checksum;
                return max_flips;
            }
            int perm0 = perm1[0];
            for (int i = 0; i < r; i++)
                perm1[i] = perm1[i + 1];
            perm1[r] = perm0;
            count[r]--;
            if (count[r] > 0)
                break;
            r++;
        }
        perm_count++;
    }
}

EXPORT("main") void run(void) {
    int n = read_size(7);
    if (n < 1 || n > MAX_N)
        __builtin_trap();
    int checksum;
    int max_flips = fannkuch(n, &checksum);
    put_int(checksum);
    put_str("\nPfannkuchen(");
    put_int(n);
    put_str(") = ");
    put_int(max_flips);
    put_byte('\n');
    flush();
}
