"""fasta (Computer Language Benchmarks Game), the CPython peer of fasta.syn.

Three DNA sequences, 60 bases a line: 2n bases repeating ALU, then 3n and 5n bases drawn from
weighted alphabets with the game's linear congruential generator (seed 42).
"""

import sys

LINE = 60
IM = 139968
IA = 3877
IC = 29573

ALU = (
    "GGCCGGGCGCGGTGGCTCACGCCTGTAATCCCAGCACTTTGG"
    "GAGGCCGAGGCGGGCGGATCACCTGAGGTCAGGAGTTCGAGA"
    "CCAGCCTGGCCAACATGGTGAAACCCCGTCTCTACTAAAAAT"
    "ACAAAAATTAGCCGGGCGTGGTGGCGCGCGCCTGTAATCCCA"
    "GCTACTCGGGAGGCTGAGGCAGGAGAATCGCTTGAACCCGGG"
    "AGGCGGAGGTTGCAGTGAGCCGAGATCGCGCCACTGCACTCC"
    "AGCCTGGGCGACAGAGCGAGACTCCGTCTCAAAAA"
)

IUB = ("acgtBDHKMNRSVWY", [0.27, 0.12, 0.12, 0.27] + [0.02] * 11)
HOMO_SAPIENS = ("acgt", [0.3029549426680, 0.1979883004921, 0.1975473066391, 0.3015094502008])


class Random:
    def __init__(self) -> None:
        self.seed = 42

    def next(self, maximum: float) -> float:
        self.seed = (self.seed * IA + IC) % IM
        return maximum * self.seed / IM


def cumulative(probabilities: list[float]) -> list[float]:
    total, out = 0.0, []
    for p in probabilities:
        total += p
        out.append(total)
    return out


def repeat_fasta(write, header: str, sequence: str, n: int) -> None:
    write(header)
    k = 0
    while n > 0:
        line = min(n, LINE)
        chars = []
        for _ in range(line):
            chars.append(sequence[k])
            k += 1
            if k == len(sequence):
                k = 0
        write("".join(chars) + "\n")
        n -= line


def random_fasta(write, header: str, alphabet: tuple[str, list[float]], rng: Random, n: int) -> None:
    write(header)
    symbols, probabilities = alphabet
    table = cumulative(probabilities)
    last = len(table) - 1
    while n > 0:
        line = min(n, LINE)
        chars = []
        for _ in range(line):
            r = rng.next(1.0)
            s = 0
            while s < last and r >= table[s]:
                s += 1
            chars.append(symbols[s])
        write("".join(chars) + "\n")
        n -= line


def main(n: int = 1000) -> None:
    write = sys.stdout.write
    rng = Random()
    repeat_fasta(write, ">ONE Homo sapiens alu\n", ALU, 2 * n)
    random_fasta(write, ">TWO IUB ambiguity codes\n", IUB, rng, 3 * n)
    random_fasta(write, ">THREE Homo sapiens frequency\n", HOMO_SAPIENS, rng, 5 * n)


if __name__ == "__main__":
    main(int(sys.stdin.read() or 1000))
