#!/usr/bin/python3
"""Independent reference for vpar-aggregate's dataset orders.

    test_aggregate_perm.py SEED P NAME1 NAME2 ...

prints P lines, permutation i's dataset names comma-separated, following the
definition in examples/aggregate/aggregate.h (written from that text, not
from the C code): xoshiro256** seeded with four splitmix64 outputs from SEED;
each permutation is a Fisher-Yates shuffle of the names in the given order
with Lemire's unbiased bounded draws.
"""
import sys

M = (1 << 64) - 1


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & M
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return state, z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M


class Xoshiro256ss:
    def __init__(self, seed):
        self.s = []
        x = seed
        for _ in range(4):
            x, z = splitmix64(x)
            self.s.append(z)

    def next(self):
        s = self.s
        result = (rotl((s[1] * 5) & M, 7) * 9) & M
        t = (s[1] << 17) & M
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def below(self, bound):
        m = self.next() * bound
        lo = m & M
        if lo < bound:
            t = ((1 << 64) - bound) % bound
            while lo < t:
                m = self.next() * bound
                lo = m & M
        return m >> 64


def main():
    seed, p, names = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    rng = Xoshiro256ss(seed)
    for _ in range(p):
        a = list(names)
        for j in range(len(a) - 1, 0, -1):
            r = rng.below(j + 1)
            a[j], a[r] = a[r], a[j]
        print(",".join(a))


if __name__ == "__main__":
    main()
