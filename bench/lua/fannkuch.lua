-- Benchmarks Game fannkuch-redux, n = 9: small-array permutation and flipping.
-- Permutations come in the benchmark's fixed order (rotations driven by count[]),
-- so the checksum (alternating sum of flip counts) matches every other language.

local function fannkuch(n)
  local perm1, perm, count = {}, {}, {}
  for i = 1, n do
    perm1[i] = i - 1
    perm[i] = 0
    count[i] = 0
  end
  local max_flips, checksum, perm_count = 0, 0, 0
  local r = n
  while true do
    while r ~= 1 do
      count[r] = r
      r = r - 1
    end

    for i = 1, n do perm[i] = perm1[i] end
    local flips = 0
    local k = perm[1]
    while k ~= 0 do
      -- Reverse the first k + 1 elements.
      local lo, hi = 1, k + 1
      while lo < hi do
        perm[lo], perm[hi] = perm[hi], perm[lo]
        lo = lo + 1
        hi = hi - 1
      end
      flips = flips + 1
      k = perm[1]
    end
    if flips > max_flips then max_flips = flips end
    if perm_count % 2 == 0 then
      checksum = checksum + flips
    else
      checksum = checksum - flips
    end

    -- Next permutation: rotate the first r + 1 elements until a counter is left.
    while true do
      if r == n then return checksum, max_flips end
      local first = perm1[1]
      for i = 1, r do perm1[i] = perm1[i + 1] end
      perm1[r + 1] = first
      count[r + 1] = count[r + 1] - 1
      if count[r + 1] > 0 then break end
      r = r + 1
    end
    perm_count = perm_count + 1
  end
end

local n = 9
local checksum, max_flips = fannkuch(n)
print(checksum)
print(string.format("Pfannkuchen(%d) = %d", n, max_flips))
