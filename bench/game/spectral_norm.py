"""spectral-norm (Computer Language Benchmarks Game), the CPython peer of spectral_norm.syn.

Ten rounds of the power method on A^T A for A(i, j) = 1 / ((i + j)(i + j + 1) / 2 + i + 1);
prints the norm with `%.9f`.
"""

import math
import sys


def a(i: int, j: int) -> float:
    return 1.0 / ((i + j) * (i + j + 1) // 2 + i + 1)


def mul_av(v: list[float], av: list[float]) -> None:
    n = len(v)
    for i in range(n):
        total = 0.0
        for j in range(n):
            total += a(i, j) * v[j]
        av[i] = total


def mul_atv(v: list[float], atv: list[float]) -> None:
    n = len(v)
    for i in range(n):
        total = 0.0
        for j in range(n):
            total += a(j, i) * v[j]
        atv[i] = total


def mul_atav(v: list[float], tmp: list[float], atav: list[float]) -> None:
    mul_av(v, tmp)
    mul_atv(tmp, atav)


def spectral_norm(n: int) -> float:
    u = [1.0] * n
    v = [0.0] * n
    tmp = [0.0] * n
    for _ in range(10):
        mul_atav(u, tmp, v)
        mul_atav(v, tmp, u)
    vbv = vv = 0.0
    for i in range(n):
        vbv += u[i] * v[i]
        vv += v[i] * v[i]
    return math.sqrt(vbv / vv)


def main(n: int = 100) -> None:
    print("%.9f" % spectral_norm(n))


if __name__ == "__main__":
    main(int(sys.stdin.read() or 100))
