-- String keys in a hash map: string building, hashing and map update.
local m = {}
for i = 0, 1000000 - 1 do
  local k = "k" .. tostring(i % 50000)
  m[k] = (m[k] or 0) + 1
end
local count = 0
for _ in pairs(m) do count = count + 1 end
print(count)
print(m["k123"])
