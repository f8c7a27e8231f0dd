/* Recursive Fibonacci, the C peer of fib.syn. Input: n (default 20). Output: fib(n). */
#include "common.c"

static int fib(int n) {
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

EXPORT("main") void run(void) {
    int n = read_size(20);
    put_int(fib(n));
    put_byte('\n');
    flush();
}
