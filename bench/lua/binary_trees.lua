-- Benchmarks Game binary-trees, max depth 16: allocation and GC of short-lived trees.
-- A node is a 2-element table {left, right}; a leaf node has nil children.

local function bottom_up_tree(depth)
  if depth > 0 then
    return { bottom_up_tree(depth - 1), bottom_up_tree(depth - 1) }
  end
  return { nil, nil }
end

local function item_check(tree)
  if tree[1] == nil then return 1 end
  return 1 + item_check(tree[1]) + item_check(tree[2])
end

local min_depth = 4
local max_depth = 16
local stretch_depth = max_depth + 1

print(string.format("stretch tree of depth %d\t check: %d",
  stretch_depth, item_check(bottom_up_tree(stretch_depth))))

local long_lived_tree = bottom_up_tree(max_depth)

for depth = min_depth, max_depth, 2 do
  local iterations = 1
  for _ = 1, max_depth - depth + min_depth do iterations = iterations * 2 end
  local check = 0
  for _ = 1, iterations do
    check = check + item_check(bottom_up_tree(depth))
  end
  print(string.format("%d\t trees of depth %d\t check: %d", iterations, depth, check))
end

print(string.format("long lived tree of depth %d\t check: %d",
  max_depth, item_check(long_lived_tree)))
