-- Lines: count the lines and bytes of a 1,000,000-line file, a line at a time with
-- io.lines (which drops the newline, counted back as in tsk).
local lines, bytes = 0, 0
for line in io.lines(arg[1]) do
  lines = lines + 1
  bytes = bytes + #line + 1
end
print(string.format("lines %d", lines))
print(string.format("bytes %d", bytes))
