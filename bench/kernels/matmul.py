"""Naive n x n float matrix multiply over lists of lists, the CPython peer of matmul.syn.

Prints the sum of all entries of A * B (summed in the same order as matmul.syn, so the two
agree bit for bit).
"""

import sys


def matmul_checksum(n: int) -> float:
    a = [[float((i * j) % 7) + 0.5 for j in range(n)] for i in range(n)]
    b = [[float((i + 2 * j) % 5) - 1.0 for j in range(n)] for i in range(n)]
    c = [[0.0] * n for _ in range(n)]
    for i in range(n):
        row = a[i]
        for j in range(n):
            s = 0.0
            for k in range(n):
                s += row[k] * b[k][j]
            c[i][j] = s
    total = 0.0
    for row in c:
        for x in row:
            total += x
    return total


def main(n: int = 120) -> None:
    print(matmul_checksum(n))


if __name__ == "__main__":
    main(int(sys.stdin.read() or 120))
