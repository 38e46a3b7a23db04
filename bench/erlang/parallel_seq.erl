%% Parallel, sequential baseline: the same 8 calls of naive fib(32), in one process.
-module(parallel_seq).
-export([main/0]).

fib(N) when N < 2 -> N;
fib(N) -> fib(N - 1) + fib(N - 2).

main() ->
    Total = lists:sum([fib(32) || _ <- lists:seq(1, 8)]),
    io:format("~b~n", [Total]).
