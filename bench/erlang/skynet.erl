%% Skynet: every process spawns 10 children down to 1,000,000 leaves (1,111,111
%% processes in all); leaf i sends i, parents sum their children from their mailbox.
-module(skynet).
-export([main/0]).

skynet(Parent, Num, 1) ->
    Parent ! {sum, Num};
skynet(Parent, Num, Size) ->
    Self = self(),
    Child = Size div 10,
    spawn_children(Self, Num, Child, 10),
    Parent ! {sum, collect(10, 0)}.

spawn_children(_Self, _Num, _Child, 0) ->
    ok;
spawn_children(Self, Num, Child, Left) ->
    Start = Num + (10 - Left) * Child,
    spawn(fun() -> skynet(Self, Start, Child) end),
    spawn_children(Self, Num, Child, Left - 1).

collect(0, Sum) ->
    Sum;
collect(Left, Sum) ->
    receive {sum, Value} -> collect(Left - 1, Sum + Value) end.

main() ->
    Self = self(),
    spawn(fun() -> skynet(Self, 0, 1000000) end),
    receive {sum, Total} -> io:format("~b~n", [Total]) end.
