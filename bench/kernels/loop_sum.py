"""Sum of i*i mod m for i in range(n), the CPython peer of loop_sum.syn. Prints the sum."""

import sys


def loop_sum(n: int, m: int) -> int:
    total = 0
    for i in range(n):
        total += i * i % m
    return total


def main(n: int = 10_000_000) -> None:
    print(loop_sum(n, 1_000_000_007))


if __name__ == "__main__":
    main(int(sys.stdin.read() or 10_000_000))
