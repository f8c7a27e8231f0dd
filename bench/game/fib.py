"""Recursive Fibonacci, the CPython peer of fib.syn. Prints fib(n)."""

import sys


def fib(n: int) -> int:
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def main(n: int = 20) -> None:
    print(fib(n))


if __name__ == "__main__":
    main(int(sys.stdin.read() or 20))
