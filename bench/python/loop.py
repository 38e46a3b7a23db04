# A tight counted loop with integer multiply and modulo.
s = 0
for i in range(50_000_000):
    s = (s + i * i) % 1000003
print(s)
