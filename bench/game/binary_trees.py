"""binary-trees (Computer Language Benchmarks Game), the CPython peer of binary_trees.syn.

A node is a tuple of its two children; a bottom node's children are None.
"""

import sys

MIN_DEPTH = 4


def bottom_up(depth: int) -> tuple:
    if depth > 0:
        return (bottom_up(depth - 1), bottom_up(depth - 1))
    return (None, None)


def check(tree: tuple | None) -> int:
    if tree is None:
        return 0
    left, right = tree
    return 1 + check(left) + check(right)


def main(n: int = 10) -> None:
    max_depth = max(MIN_DEPTH + 2, n)
    stretch_depth = max_depth + 1
    print(f"stretch tree of depth {stretch_depth}\t check: {check(bottom_up(stretch_depth))}")
    long_lived = bottom_up(max_depth)
    for depth in range(MIN_DEPTH, max_depth + 1, 2):
        iterations = 1 << (max_depth - depth + MIN_DEPTH)
        nodes = 0
        for _ in range(iterations):
            nodes += check(bottom_up(depth))
        print(f"{iterations}\t trees of depth {depth}\t check: {nodes}")
    print(f"long lived tree of depth {max_depth}\t check: {check(long_lived)}")


if __name__ == "__main__":
    main(int(sys.stdin.read() or 10))
