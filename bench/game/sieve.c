/* Sieve of Eratosthenes, the C peer of sieve.syn. Input: n (default 1000). Output: the number
 * of primes <= n. */
#include "common.c"

static int count_primes(int n) {
    unsigned char *is_prime = arena_alloc(n + 1);
    for (int i = 0; i <= n; i++)
        is_prime[i] = 1;
    is_prime[0] = 0;
    if (n >= 1)
        is_prime[1] = 0;
    for (int i = 2; i * i <= n; i++) {
        if (is_prime[i]) {
            for (int j = i * i; j <= n; j += i)
                is_prime[j] = 0;
        }
    }
    int count = 0;
    for (int i = 0; i <= n; i++)
        count += is_prime[i];
    return count;
}

EXPORT("main") void run(void) {
    int n = read_size(1000);
    put_int(count_primes(n));
    put_byte('\n');
    flush();
}
