%% Ping-pong: two processes, 1,000,000 round trips; each direction is a message to the
%% other's mailbox (the counterpart of the two unbuffered channels).
-module(pingpong).
-export([main/0]).

-define(ROUNDS, 1000000).

echo() ->
    receive
        {ping, From, Value} -> From ! {pong, Value}, echo();
        stop -> ok
    end.

rounds(_Echo, Count, Count) ->
    Count;
rounds(Echo, Index, Count) ->
    Echo ! {ping, self(), Index},
    receive {pong, Index} -> ok end,
    rounds(Echo, Index + 1, Count).

main() ->
    Echo = spawn(fun echo/0),
    Count = rounds(Echo, 0, ?ROUNDS),
    Echo ! stop,
    io:format("~b~n", [Count]).
