"""fannkuch-redux (Computer Language Benchmarks Game), the CPython peer of fannkuch_redux.syn.

Prints the checksum, then `Pfannkuchen(n) = max flips`.
"""

import sys


def fannkuch(n: int) -> tuple[int, int]:
    """(checksum, max flips) over the permutations of 0..n-1 in the game's order."""
    perm1 = list(range(n))
    count = [0] * n
    max_flips = checksum = perm_count = 0
    r = n
    while True:
        while r != 1:
            count[r - 1] = r
            r -= 1
        perm = perm1[:]
        flips = 0
        k = perm[0]
        while k:
            perm[:k + 1] = perm[k::-1]
            flips += 1
            k = perm[0]
        if flips > max_flips:
            max_flips = flips
        checksum += flips if perm_count % 2 == 0 else -flips
        while True:
            if r == n:
                return checksum, max_flips
            perm0 = perm1[0]
            perm1[:r] = perm1[1:r + 1]
            perm1[r] = perm0
            count[r] -= 1
            if count[r] > 0:
                break
            r += 1
        perm_count += 1


def main(n: int = 7) -> None:
    checksum, max_flips = fannkuch(n)
    print(f"{checksum}\nPfannkuchen({n}) = {max_flips}")


if __name__ == "__main__":
    main(int(sys.stdin.read() or 7))
