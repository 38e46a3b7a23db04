%% Thread ring (Benchmarks Game rules): 503 processes in a ring pass a token that starts
%% at 5,000,000 and drops by one per hop; the one that receives 0 prints its id (1..503).
-module(ring).
-export([main/0]).

-define(MEMBERS, 503).
-define(HOPS, 5000000).

member(Id, Main) ->
    receive {next, Next} -> pass(Id, Next, Main) end.

pass(Id, Next, Main) ->
    receive
        {token, 0} -> Main ! {done, Id};
        {token, Token} -> Next ! {token, Token - 1}, pass(Id, Next, Main)
    end.

main() ->
    Main = self(),
    Ring = [spawn(fun() -> member(Id, Main) end) || Id <- lists:seq(1, ?MEMBERS)],
    Nexts = tl(Ring) ++ [hd(Ring)],
    lists:foreach(fun({Member, Next}) -> Member ! {next, Next} end, lists:zip(Ring, Nexts)),
    hd(Ring) ! {token, ?HOPS},
    receive {done, Winner} -> io:format("~b~n", [Winner]) end.
