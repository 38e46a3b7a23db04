# Benchmarks Game fannkuch-redux, n = 9: small-array permutation and flipping.
# Permutations come in the benchmark's fixed order (rotations driven by count[]),
# so the checksum (alternating sum of flip counts) matches every other language.


def fannkuch(n):
    perm1 = list(range(n))
    perm = [0] * n
    count = [0] * n
    max_flips = 0
    checksum = 0
    perm_count = 0
    r = n
    while True:
        while r != 1:
            count[r - 1] = r
            r -= 1

        for i in range(n):
            perm[i] = perm1[i]
        flips = 0
        k = perm[0]
        while k != 0:
            # Reverse the first k + 1 elements.
            lo = 0
            hi = k
            while lo < hi:
                perm[lo], perm[hi] = perm[hi], perm[lo]
                lo += 1
                hi -= 1
            flips += 1
            k = perm[0]
        if flips > max_flips:
            max_flips = flips
        if perm_count % 2 == 0:
            checksum += flips
        else:
            checksum -= flips

        # Next permutation: rotate the first r + 1 elements until a counter is left.
        while True:
            if r == n:
                return checksum, max_flips
            first = perm1[0]
            for i in range(r):
                perm1[i] = perm1[i + 1]
            perm1[r] = first
            count[r] -= 1
            if count[r] > 0:
                break
            r += 1
        perm_count += 1


n = 9
checksum, max_flips = fannkuch(n)
print(checksum)
print("Pfannkuchen(%d) = %d" % (n, max_flips))
