# Device-side benchmark scripts for `spwf04 bench` (host: host_tools/spwf04_tools/bench/). Copied to the
# board by the bench itself, never by `spwf04 deploy`.
