"""Insertion sort of n pseudo-random ints in a list, the CPython peer of sort.syn.

Prints sum of (i + 1) * v[i] over the sorted list.
"""

import sys


def sorted_checksum(n: int) -> int:
    v = [0] * n
    x = 12345
    for i in range(n):
        x = (x * 1103515245 + 12345) % 2147483648
        v[i] = x % 100_000
    for i in range(1, n):
        key = v[i]
        j = i - 1
        while j >= 0 and v[j] > key:
            v[j + 1] = v[j]
            j -= 1
        v[j + 1] = key
    total = 0
    for i in range(n):
        total += (i + 1) * v[i]
    return total


def main(n: int = 3_000) -> None:
    print(sorted_checksum(n))


if __name__ == "__main__":
    main(int(sys.stdin.read() or 3_000))
