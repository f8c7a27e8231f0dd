"""Sieve of Eratosthenes, the CPython peer of sieve.syn: the same program as the sandbox
suite's kernel (bench/kernels/sieve.py), at this suite's default size.

Prints the number of primes <= n.
"""

import sys

from bench.kernels.sieve import count_primes


def main(n: int = 1000) -> None:
    print(count_primes(n))


if __name__ == "__main__":
    main(int(sys.stdin.read() or 1000))
