"""mandelbrot (Computer Language Benchmarks Game), the CPython peer of mandelbrot.syn.

Writes the n-by-n binary PBM image (P4) of the Mandelbrot set over [-1.5-i, 0.5+i], 50
iterations per point, to standard output as bytes.
"""

import sys

ITERATIONS = 50
LIMIT_SQUARED = 4.0


def inside(cr: float, ci: float) -> bool:
    zr = zi = tr = ti = 0.0
    i = 0
    while i < ITERATIONS and tr + ti <= LIMIT_SQUARED:
        zi = 2.0 * zr * zi + ci
        zr = tr - ti + cr
        tr = zr * zr
        ti = zi * zi
        i += 1
    return tr + ti <= LIMIT_SQUARED


def main(n: int = 200) -> None:
    out = bytearray(b"P4\n%d %d\n" % (n, n))
    size = float(n)
    for y in range(n):
        ci = 2.0 * y / size - 1.0
        bits = count = 0
        for x in range(n):
            cr = 2.0 * x / size - 1.5
            bits = (bits << 1) | inside(cr, ci)
            count += 1
            if count == 8:
                out.append(bits)
                bits = count = 0
        if count:
            out.append((bits << (8 - count)) & 0xFF)
    sys.stdout.flush()
    sys.stdout.buffer.write(out)


if __name__ == "__main__":
    main(int(sys.stdin.read() or 200))
