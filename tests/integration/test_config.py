"""Flags and LMESH_PROXY_* environment: bad values stop the proxy with a message naming the
flag, the environment is read, a flag wins over the environment."""
import json
import os
import subprocess

import pytest

from harness import BASE_FLAGS, flag_args

# Listeners on port 0 so that a proxy which wrongly starts cannot collide with anything.
SAFE = flag_args(BASE_FLAGS)


def run_proxy(proxy_path, args, env=None, timeout=5):
    """Run the binary expecting it to exit by itself; returns (code, stdout + stderr)."""
    try:
        done = subprocess.run([str(proxy_path), *args], capture_output=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"{args} did not exit within {timeout}s; it should have refused to start") from e
    return done.returncode, (done.stdout + done.stderr).decode("utf-8", "replace")


BAD = [
    (["--workers", "0"], "--workers"),
    (["--workers", "many"], "--workers"),
    (["--outbound-listen", "nonsense"], "--outbound-listen"),
    (["--inbound-listen", "127.0.0.1:99999"], "--inbound-listen"),
    (["--outbound-target", "no-port-here"], "--outbound-target"),
    (["--detect-timeout", "5parsecs"], "--detect-timeout"),
    (["--idle-timeout", "-1s"], "--idle-timeout"),
    (["--max-header-bytes", "lots"], "--max-header-bytes"),
    (["--log-format", "xml"], "--log-format"),
    (["--log-level", "loud"], "--log-level"),
    (["--opaque-ports", "25,notaport"], "--opaque-ports"),
    (["--outbound-service-listen", "127.0.0.1:1"], "--outbound-service-listen"),
    (["--outbound-service-listen", "127.0.0.1:1=web:80"], "--outbound-service-listen"),
    (["--outbound-bind", "127.0.0.1:80"], "--outbound-bind"),
    (["--outbound-bind", "198.18.0.77"], "--outbound-bind"),  # not an address of this host
    (["--no-such-flag", "1"], "--no-such-flag"),
]


@pytest.mark.parametrize("args,flag", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_value_stops_with_message_naming_flag(proxy_path, args, flag):
    code, output = run_proxy(proxy_path, SAFE + args)
    assert code != 0, f"{args} was accepted (exit 0):\n{output}"
    assert flag in output, f"the message for {args} does not name {flag}:\n{output}"


def test_missing_value_is_an_error(proxy_path):
    code, output = run_proxy(proxy_path, SAFE + ["--workers"])
    assert code != 0 and "--workers" in output, output


def test_bad_environment_value_names_the_variable_or_flag(proxy_path):
    code, output = run_proxy(proxy_path, SAFE, env={"LMESH_PROXY_DETECT_TIMEOUT": "soon"})
    assert code != 0, f"LMESH_PROXY_DETECT_TIMEOUT=soon was accepted:\n{output}"
    assert "LMESH_PROXY_DETECT_TIMEOUT" in output or "detect-timeout" in output, output


def test_help_exits_zero(proxy_path):
    code, output = run_proxy(proxy_path, ["--help"])
    assert code == 0, output
    for flag in ("--outbound-listen", "--inbound-forward", "--shutdown-grace"):
        assert flag in output, f"--help does not mention {flag}"


def test_environment_is_read(proxy_factory):
    proxy = proxy_factory(admin_listen=None, env={"LMESH_PROXY_ADMIN_LISTEN": "127.0.0.1:0"})
    host, port = proxy.admin
    assert host == "127.0.0.1" and port not in (0, 4191), f"admin bound at {proxy.admin}"
    assert proxy.admin_get("/live").status == 200


def test_flag_wins_over_environment(proxy_factory):
    proxy = proxy_factory(admin_listen="127.0.0.1:0", workers=2,
                          env={"LMESH_PROXY_ADMIN_LISTEN": "127.0.0.3:0", "LMESH_PROXY_WORKERS": "1"})
    assert proxy.admin[0] == "127.0.0.1", f"the environment won over --admin-listen: {proxy.admin}"
    listening = [l for l in proxy.log_lines() if "listening listener=outbound" in l]
    assert listening and "workers=2" in listening[0], f"the environment won over --workers: {listening}"


def test_json_logs_are_one_object_per_line(proxy):
    lines = proxy.log_lines()
    assert lines, "no log lines"
    for line in lines:
        record = json.loads(line)
        assert isinstance(record, dict) and "msg" in record, f"log line without msg: {line}"


def test_text_logs_by_default(proxy_factory):
    proxy = proxy_factory(log_format=None)
    outbound = [l for l in proxy.log_lines() if "listening listener=outbound" in l]
    assert outbound and not outbound[0].lstrip().startswith("{"), f"default log format is not text: {outbound}"


def test_durations_with_units_are_accepted(proxy_factory):
    proxy = proxy_factory(detect_timeout="500ms", idle_timeout="5m", header_timeout="1h",
                          upstream_timeout="0", shutdown_grace="2s")
    assert proxy.admin_get("/ready").status == 200
