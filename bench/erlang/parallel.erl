%% Parallel: 8 processes each compute naive fib(32); the results are summed.
-module(parallel).
-export([main/0]).

fib(N) when N < 2 -> N;
fib(N) -> fib(N - 1) + fib(N - 2).

collect(0, Sum) -> Sum;
collect(Left, Sum) -> receive {fib, Value} -> collect(Left - 1, Sum + Value) end.

main() ->
    Main = self(),
    [spawn(fun() -> Main ! {fib, fib(32)} end) || _ <- lists:seq(1, 8)],
    io:format("~b~n", [collect(8, 0)]).
