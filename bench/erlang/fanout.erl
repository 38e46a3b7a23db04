%% Fan-out: a producer hands out 1..1,000,000 to 4 workers, which send the squares to
%% main, which sums them. Erlang has no bounded channel: the producer is a process that
%% gives the next item to a worker that asks for it (the back-pressure of the capacity-128
%% channel, with a one-item window per worker); the squares queue in main's mailbox.
-module(fanout).
-export([main/0]).

-define(ITEMS, 1000000).
-define(WORKERS, 4).

producer(Next, Last) ->
    receive
        {want, Worker} when Next =< Last ->
            Worker ! {item, Next},
            producer(Next + 1, Last);
        {want, Worker} ->
            Worker ! done,
            producer(Next, Last)
    end.

worker(Producer, Main) ->
    Producer ! {want, self()},
    receive
        {item, Value} -> Main ! {square, Value * Value}, worker(Producer, Main);
        done -> ok
    end.

sum(0, Total) -> Total;
sum(Left, Total) -> receive {square, Value} -> sum(Left - 1, Total + Value) end.

main() ->
    Main = self(),
    Producer = spawn(fun() -> producer(1, ?ITEMS) end),
    [spawn(fun() -> worker(Producer, Main) end) || _ <- lists:seq(1, ?WORKERS)],
    io:format("~b~n", [sum(?ITEMS, 0)]).
