%% Parked tasks: COUNT processes each report ready, then block in receive on their own
%% mailbox; once all are parked, main releases each and joins them all. `parked0` is the
%% same program with COUNT = 0: the peak-RSS difference is the cost of the parked ones.
-module(parked).
-export([main/0]).

-define(COUNT, 100000).

parked(Main) ->
    Main ! ready,
    receive {go, Value} -> Main ! {finished, Value} end.

await_ready(0) -> ok;
await_ready(Left) -> receive ready -> await_ready(Left - 1) end.

join(0, Joined) -> Joined;
join(Left, Joined) -> receive {finished, Value} -> join(Left - 1, Joined + Value) end.

main() ->
    Main = self(),
    Parked = [spawn(fun() -> parked(Main) end) || _ <- lists:seq(1, ?COUNT)],
    await_ready(?COUNT),
    lists:foreach(fun(Pid) -> Pid ! {go, 1} end, Parked),
    io:format("~b~n", [join(?COUNT, 0)]).
