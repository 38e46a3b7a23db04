# Benchmarks Game spectral-norm, n = 500: nested loops over float arrays.
import math


def a(i, j):
    """Entry (i, j) of the infinite matrix A, with 0-based i and j."""
    ij = i + j
    return 1.0 / (ij * (ij + 1) // 2 + i + 1)


def mul_av(n, v, av):
    for i in range(n):
        total = 0.0
        for j in range(n):
            total += a(i, j) * v[j]
        av[i] = total


def mul_atv(n, v, atv):
    for i in range(n):
        total = 0.0
        for j in range(n):
            total += a(j, i) * v[j]
        atv[i] = total


def mul_atav(n, v, out, tmp):
    mul_av(n, v, tmp)
    mul_atv(n, tmp, out)


n = 500
u = [1.0] * n
v = [0.0] * n
tmp = [0.0] * n
for _ in range(10):
    mul_atav(n, u, v, tmp)
    mul_atav(n, v, u, tmp)
vbv = 0.0
vv = 0.0
for i in range(n):
    vbv += u[i] * v[i]
    vv += v[i] * v[i]
print("%.9f" % math.sqrt(vbv / vv))
