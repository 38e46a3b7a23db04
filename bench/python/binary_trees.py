# Benchmarks Game binary-trees, max depth 16: allocation and GC of short-lived trees.
# A node is a 2-element list [left, right]; a leaf node has None children.


def bottom_up_tree(depth):
    if depth > 0:
        return [bottom_up_tree(depth - 1), bottom_up_tree(depth - 1)]
    return [None, None]


def item_check(tree):
    if tree[0] is None:
        return 1
    return 1 + item_check(tree[0]) + item_check(tree[1])


min_depth = 4
max_depth = 16
stretch_depth = max_depth + 1

print("stretch tree of depth %d\t check: %d"
      % (stretch_depth, item_check(bottom_up_tree(stretch_depth))))

long_lived_tree = bottom_up_tree(max_depth)

for depth in range(min_depth, max_depth + 1, 2):
    iterations = 1 << (max_depth - depth + min_depth)
    check = 0
    for _ in range(iterations):
        check += item_check(bottom_up_tree(depth))
    print("%d\t trees of depth %d\t check: %d" % (iterations, depth, check))

print("long lived tree of depth %d\t check: %d"
      % (max_depth, item_check(long_lived_tree)))
