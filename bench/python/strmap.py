# String keys in a hash map: string building, hashing and map update.
m = {}
for i in range(1_000_000):
    k = "k" + str(i % 50000)
    m[k] = m.get(k, 0) + 1
print(len(m))
print(m["k123"])
