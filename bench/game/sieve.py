"""Sieve of Eratosthenes over a list of bools, the CPython peer of sieve.syn.

Prints the number of primes <= n.
"""

import sys


def count_primes(n: int) -> int:
    is_prime = [True] * (n + 1)
    is_prime[0] = False
    if n >= 1:
        is_prime[1] = False
    i = 2
    while i * i <= n:
        if is_prime[i]:
            for j in range(i * i, n + 1, i):
                is_prime[j] = False
        i += 1
    count = 0
    for p in is_prime:
        if p:
            count += 1
    return count


def main(n: int = 1000) -> None:
    print(count_primes(n))


if __name__ == "__main__":
    main(int(sys.stdin.read() or 1000))
