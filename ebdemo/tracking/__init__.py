"""What happened to an event: the invocations it caused, known from records, never from logs.

`send --wait`, `demo` and the pytest plugin (`ebdemo.testing`) learn whether a function
handled an event from a record of each invocation, whatever the handler printed:

- on the emulator, its invocation records (`GET /_ebdemo/invocations`): every attempt,
  with status, error, duration and the handler's result;
- on AWS, with `trace: true` in the config, the Lambda destination records the stack's
  trace queue receives (OnSuccess and OnFailure of every function; `requestPayload` is the
  event): one record per invocation, once Lambda is done with it (after its retries);
- on AWS without it, the logs: the event id searched in the targets' log lines (a handler
  that does not print it is not seen), and `send --wait` says so.

Modules: `records` (the `Invocation` record, from either source; pure), `sources` (where
records are read from), `wait` (the wait loop: `await_outcomes` → one `Outcome` per
event and target).
"""
