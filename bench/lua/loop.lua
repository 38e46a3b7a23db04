-- A tight counted loop with integer multiply and modulo.
local s = 0
for i = 0, 50000000 - 1 do
  s = (s + i * i) % 1000003
end
print(s)
