"""Recursive Fibonacci, the CPython peer of fib.syn. Prints fib(n)."""

import sys


def fib(n: int) -> int:
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def main(n: int = 27) -> None:
    print(fib(n))


if __name__ == "__main__":
    main(int(sys.stdin.read() or 27))
