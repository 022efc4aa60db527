#!/usr/bin/env python3
"""e2e gRPC client workload: calls the `echo` service by name through the mesh and prints one
line per call, then idles (lmesh up would restart a process that exits). In netns mode iptables
hands the connection to this pod's proxy; in loopback mode the client dials its proxy
(LMESH_OUTBOUND) itself and names the service in :authority.

Lines (stdout, flushed):
  warmup: <n> calls failed before the first success (<last error>)
  ok say <i> <answer>            e2e.Echo/Say answered
  ok fail NOT_FOUND              e2e.Echo/Fail answered NOT_FOUND, as it should
  ok count <n>                   e2e.Echo/Count streamed n messages 0..n-1
  error <what> <code> <details>  anything else
  done calls=<n> ok=<n> errors=<n>
Env: ECHO_TARGET or else LMESH_SERVICE_ECHO (the authority), CALLS (default 40), INTERVAL_MS
(default 20), LMESH_OUTBOUND (loopback mode).
"""
import os
import signal
import sys
import time

import grpc


def out(line):
    print(line, flush=True)


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    target = os.environ.get("ECHO_TARGET") or os.environ["LMESH_SERVICE_ECHO"]
    calls = int(os.environ.get("CALLS", "40"))
    interval = int(os.environ.get("INTERVAL_MS", "20")) / 1000
    options = [("grpc.enable_http_proxy", 0)]
    if os.environ.get("LMESH_OUTBOUND"):
        channel = grpc.insecure_channel(os.environ["LMESH_OUTBOUND"],
                                        options=options + [("grpc.default_authority", target)])
    else:
        channel = grpc.insecure_channel(target, options=options)
    say = channel.unary_unary("/e2e.Echo/Say")
    fail = channel.unary_unary("/e2e.Echo/Fail")
    count = channel.unary_stream("/e2e.Echo/Count")

    # The echo pods may not be announced yet when this pod starts: wait (bounded) for one.
    failed, last = 0, ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            say(b"warmup", timeout=2)
            break
        except grpc.RpcError as e:
            failed, last = failed + 1, f"{e.code().name} {e.details()}"
            time.sleep(0.2)
    out(f"warmup: {failed} calls failed before the first success ({last})")

    ok = errors = 0
    for i in range(calls):
        try:
            if i % 5 == 4:
                try:
                    fail(b"x", timeout=5)
                    out("error fail OK answered instead of NOT_FOUND")
                    errors += 1
                except grpc.RpcError as e:
                    if e.code() == grpc.StatusCode.NOT_FOUND and e.details() == "no such thing":
                        out("ok fail NOT_FOUND")
                        ok += 1
                    else:
                        raise
            else:
                answer = say(f"hello {i}".encode(), timeout=5)
                out(f"ok say {i} {answer.decode()}")
                ok += 1
        except grpc.RpcError as e:
            out(f"error call {i} {e.code().name} {e.details()}")
            errors += 1
        time.sleep(interval)
    try:
        got = [m.decode() for m in count(b"5", timeout=5)]
        if got == ["0", "1", "2", "3", "4"]:
            out("ok count 5")
            ok += 1
        else:
            out(f"error count got {got}")
            errors += 1
    except grpc.RpcError as e:
        out(f"error count {e.code().name} {e.details()}")
        errors += 1
    out(f"done calls={calls + 1} ok={ok} errors={errors}")
    channel.close()
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
