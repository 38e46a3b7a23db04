%% Start-up cost: an empty program.
-module(empty).
-export([main/0]).

main() -> ok.
