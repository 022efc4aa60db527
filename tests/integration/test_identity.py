"""lmesh-identity and `lmesh identity init`, as real processes: a CA made at test time, CSRs
made with the openssl CLI, certify over HTTP/1.1 (http.client) and HTTP/2 (h2), every refusal
with its status and metric, token file reload, start-up refusals, and TokenReview through a
stand-in Kubernetes API server (a Python HTTP server answering recorded, real-shaped
responses: not a cluster).

Run: LMESH_IDENTITY=build/src/identity/lmesh-identity LMESH_CLI=build/src/cli/lmesh \\
     /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration/test_identity.py
"""
import base64
import calendar
import http.client
import http.server
import json
import os
import re
import ssl
import stat
import subprocess
import threading
import time

import pytest

from h2peers import H2Client
from harness import Proxy, binary, metric_sum, parse_prometheus, sanitizer_report, wait_until

WEB_DNS = "web.default.serviceaccount.identity.lmesh.cluster.local"
WEB_SPIFFE = "spiffe://cluster.local/ns/default/sa/web"


@pytest.fixture(scope="session")
def identity_bin():
    return binary("LMESH_IDENTITY", "build/src/identity/lmesh-identity")


@pytest.fixture(scope="session")
def cli_bin():
    return binary("LMESH_CLI", "build/src/cli/lmesh")


def run(argv, timeout=10, **kw):
    done = subprocess.run([str(a) for a in argv], capture_output=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, **kw)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def openssl(*args, input=None):
    done = subprocess.run(["openssl", *map(str, args)], capture_output=True, input=input, timeout=20)
    assert done.returncode == 0, f"openssl {args}: {done.stderr.decode()}"
    return done.stdout.decode()


@pytest.fixture
def ca_dir(cli_bin, tmp_path):
    out = tmp_path / "ca"
    code, stdout, stderr = run([cli_bin, "identity", "init", "--out", out])
    assert code == 0, stderr
    return out


class TokenFile:
    """The token file, written aside and renamed into place (as an editor would), so the
    service never reads half a file."""

    def __init__(self, path):
        self.path = path

    def write(self, text):
        tmp = self.path.with_name(self.path.name + ".new")
        tmp.write_text(text)
        os.rename(tmp, self.path)


BASE_TOKENS = ("# test tokens\n"
               "web-token default/web\n"
               "\n"
               "old-token default/old expires=2020-01-01T00:00:00Z\n")


@pytest.fixture
def tokens(tmp_path):
    f = TokenFile(tmp_path / "tokens")
    f.write(BASE_TOKENS)
    return f


class Identity(Proxy):
    """The real lmesh-identity, started on a free port (harness.Proxy does the process work)."""

    def __init__(self, binary, flags, env=None):
        super().__init__({"listen": "127.0.0.1:0", "log_format": "json", **flags}, env=env,
                         binary=binary, expect=("api",))

    @property
    def api(self):
        return self.addrs["api"]

    def http(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection(*self.api, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def certify(self, token, csr):
        status, body = self.http("POST", "/v1/certify", json.dumps({"token": token, "csr": csr}),
                                 {"Content-Type": "application/json"})
        return status, json.loads(body)

    def metrics(self):
        status, body = self.http("GET", "/metrics")
        assert status == 200
        return parse_prometheus(body.decode())

    def metric(self, name, **labels):
        return metric_sum(self.metrics(), name, **labels)


@pytest.fixture
def start_identity(identity_bin):
    started = []

    def start(env=None, **flags):
        ident = Identity(identity_bin, flags, env=env)
        started.append(ident)
        return ident
    yield start
    failures = []
    for ident in started:
        try:
            ident.stop()
        except AssertionError as e:
            failures.append(str(e))
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)


@pytest.fixture
def identity(start_identity, ca_dir, tokens):
    return start_identity(issuer_dir=ca_dir, token_file=tokens.path)


# ---------------------------------------------------------------- CSRs, made with openssl

def make_csr(tmp_path, name="leaf", *, cn=None, dns=(WEB_DNS,), uris=(WEB_SPIFFE,), key="ec"):
    key_path = tmp_path / f"{name}.key"
    if key == "ec":
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key_path)
    elif key == "ec384":
        openssl("ecparam", "-name", "secp384r1", "-genkey", "-noout", "-out", key_path)
    else:
        openssl("genrsa", "-out", key_path, "2048")
    args = ["req", "-new", "-key", key_path, "-subj", f"/CN={cn}" if cn else "/O=lmesh"]
    sans = [f"DNS:{d}" for d in dns] + [f"URI:{u}" for u in uris]
    if sans:
        args += ["-addext", "subjectAltName=" + ",".join(sans)]
    return openssl(*args)


def flip_signature_byte(csr_pem):
    """The same CSR with one byte of its signature changed: it parses, but does not verify."""
    der = bytearray(base64.b64decode("".join(l for l in csr_pem.splitlines() if "-----" not in l)))
    der[-1] ^= 0x01  # the last byte of the ECDSA signature's s value
    b64 = base64.b64encode(bytes(der)).decode()
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return "-----BEGIN CERTIFICATE REQUEST-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE REQUEST-----\n"


def x509_times(pem):
    """(notBefore, notAfter) as Unix seconds, read by openssl."""
    out = openssl("x509", "-noout", "-startdate", "-enddate", input=pem.encode())
    fields = dict(line.split("=", 1) for line in out.strip().splitlines())
    parse = lambda s: calendar.timegm(time.strptime(s, "%b %d %H:%M:%S %Y GMT"))
    return parse(fields["notBefore"]), parse(fields["notAfter"])


def check_leaf(tmp_path, ca_dir, body, lifetime_s, skew_s, issued_at):
    leaf = tmp_path / "leaf.pem"
    leaf.write_text(body["cert"])
    assert len(body["chain"]) == 1
    assert body["chain"][0] == (ca_dir / "issuer.crt").read_text()
    out = openssl("verify", "-CAfile", ca_dir / "ca.crt", "-untrusted", ca_dir / "issuer.crt", leaf)
    assert out.strip().endswith("OK"), out
    text = openssl("x509", "-noout", "-text", "-in", leaf)
    assert f"DNS:{WEB_DNS}" in text and f"URI:{WEB_SPIFFE}" in text, text
    assert "CA:FALSE" in text
    not_before, not_after = x509_times(body["cert"])
    assert abs(not_before - (issued_at - skew_s)) <= 3, (not_before, issued_at)
    assert abs(not_after - (issued_at + lifetime_s)) <= 3, (not_after, issued_at)
    assert body["expires"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(not_after))


# ---------------------------------------------------------------- lmesh identity init

def fingerprints(stdout):
    return re.findall(r"SHA-256 fingerprint: ([0-9A-F:]+)", stdout)


def test_init_writes_the_ca_and_prints_fingerprints(cli_bin, tmp_path):
    out = tmp_path / "new" / "ca"
    out.parent.mkdir()
    code, stdout, stderr = run([cli_bin, "identity", "init", "--out", out])
    assert code == 0, stderr
    for name in ("ca.crt", "issuer.crt", "issuer.key"):
        assert (out / name).is_file()
    assert stat.S_IMODE((out / "issuer.key").stat().st_mode) == 0o600
    printed = fingerprints(stdout)
    assert len(printed) == 2, stdout
    for name, fp in zip(("ca.crt", "issuer.crt"), printed):
        real = openssl("x509", "-noout", "-fingerprint", "-sha256", "-in", out / name)
        assert real.strip().split("=", 1)[1] == fp
    # The issuer chains to the anchor, is a CA limited to leaves, and both last a year.
    assert openssl("verify", "-CAfile", out / "ca.crt", out / "issuer.crt").strip().endswith("OK")
    issuer_text = openssl("x509", "-noout", "-text", "-in", out / "issuer.crt")
    assert "CA:TRUE, pathlen:0" in issuer_text
    assert "ASN1 OID: prime256v1" in issuer_text
    # A year from now, valid since 5 minutes ago (clock skew between machines).
    now = time.time()
    for name in ("ca.crt", "issuer.crt"):
        nb, na = x509_times((out / name).read_text())
        assert abs(na - (now + 365 * 86400)) <= 30, name
        assert abs(nb - (now - 300)) <= 30, name
    # The key is the issuer's.
    key_pub = openssl("pkey", "-in", out / "issuer.key", "-pubout")
    cert_pub = openssl("x509", "-noout", "-pubkey", "-in", out / "issuer.crt")
    assert key_pub == cert_pub


def test_init_refuses_to_overwrite_unless_forced(cli_bin, ca_dir):
    before = {n: (ca_dir / n).read_bytes() for n in ("ca.crt", "issuer.crt", "issuer.key")}
    code, stdout, stderr = run([cli_bin, "identity", "init", "--out", ca_dir])
    assert code != 0
    assert "already exists" in stderr and "--force" in stderr, stderr
    assert {n: (ca_dir / n).read_bytes() for n in before} == before
    code, stdout, stderr = run([cli_bin, "identity", "init", "--out", ca_dir, "--force"])
    assert code == 0, stderr
    assert (ca_dir / "ca.crt").read_bytes() != before["ca.crt"]
    assert stat.S_IMODE((ca_dir / "issuer.key").stat().st_mode) == 0o600


def test_cli_dispatch(cli_bin):
    code, stdout, _ = run([cli_bin, "version"])
    assert code == 0 and re.match(r"lmesh \d+\.\d+\.\d+", stdout), stdout
    code, _, stderr = run([cli_bin, "no-such-command"])
    assert code == 2 and "unknown command" in stderr
    code, _, stderr = run([cli_bin, "identity", "init"])
    assert code == 2 and "--out" in stderr
    code, stdout, _ = run([cli_bin, "--help"])
    assert code == 0 and "identity" in stdout and "version" in stdout


# ---------------------------------------------------------------- certify

def test_certify_over_http1(start_identity, ca_dir, tokens, tmp_path):
    ident = start_identity(issuer_dir=ca_dir, token_file=tokens.path,
                           issuance_lifetime="2h", clock_skew_allowance="30s")
    csr = make_csr(tmp_path, cn=WEB_DNS)
    issued_at = time.time()
    status, body = ident.certify("web-token", csr)
    assert status == 200, body
    check_leaf(tmp_path, ca_dir, body, 2 * 3600, 30, issued_at)
    assert ident.metric("identity_cert_issued_total") == 1


def test_certify_over_http2(identity, ca_dir, tmp_path):
    csr = make_csr(tmp_path)
    client = H2Client(identity.api)
    issued_at = time.time()
    sid = client.request("/v1/certify", method="POST",
                         body=json.dumps({"token": "web-token", "csr": csr}).encode(),
                         headers=[("content-type", "application/json")])
    client.pump(lambda: client.responses[sid].ended)
    resp = client.responses[sid]
    assert resp.status == 200, bytes(resp.body)
    check_leaf(tmp_path, ca_dir, json.loads(bytes(resp.body)), 24 * 3600, 20, issued_at)
    assert identity.metric("identity_cert_issued_total") == 1


# (token, how to make the CSR, status, metric reason, error)
REFUSALS = {
    "unknown token": ("who-knows", lambda p: make_csr(p), 401, "unauthenticated", "unauthenticated"),
    "expired token": ("old-token", lambda p: make_csr(p, dns=("old.default.serviceaccount.identity.lmesh.cluster.local",), uris=()),
                      401, "unauthenticated", "unauthenticated"),
    "identity mismatch (DNS)": ("web-token", lambda p: make_csr(p, dns=("db.default.serviceaccount.identity.lmesh.cluster.local",), uris=()),
                                403, "identity_mismatch", "identity mismatch"),
    "identity mismatch (URI)": ("web-token", lambda p: make_csr(p, uris=("spiffe://cluster.local/ns/prod/sa/web",)),
                                403, "identity_mismatch", "identity mismatch"),
    "identity mismatch (CN)": ("web-token", lambda p: make_csr(p, cn="admin", dns=(), uris=()),
                               403, "identity_mismatch", "identity mismatch"),
    "malformed PEM": ("web-token", lambda p: "-----BEGIN CERTIFICATE REQUEST-----\nnot base64!\n-----END CERTIFICATE REQUEST-----\n",
                      400, "malformed_csr", "malformed csr"),
    "not a CSR at all": ("web-token", lambda p: "hello", 400, "malformed_csr", "malformed csr"),
    "bad signature": ("web-token", lambda p: flip_signature_byte(make_csr(p)), 400, "bad_signature", "bad csr signature"),
    "RSA key": ("web-token", lambda p: make_csr(p, key="rsa"), 400, "unsupported_key", "unsupported key"),
    "P-384 key": ("web-token", lambda p: make_csr(p, key="ec384"), 400, "unsupported_key", "unsupported key"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_refusal(identity, tmp_path, case):
    token, make, status, reason, error = REFUSALS[case]
    csr = make(tmp_path)
    before = identity.metric("identity_cert_refused_total", reason=reason)
    got_status, body = identity.certify(token, csr)
    assert got_status == status, body
    assert body["error"] == error and body["detail"], body
    assert "cert" not in body
    assert identity.metric("identity_cert_refused_total", reason=reason) == before + 1
    assert identity.metric("identity_cert_issued_total") == 0


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"token":"web-token"}', b'{"token":7,"csr":"x"}', b""])
def test_bad_request_body(identity, body):
    status, raw = identity.http("POST", "/v1/certify", body, {"Content-Type": "application/json"})
    assert status == 400, raw
    assert json.loads(raw)["error"] == "bad request"
    assert identity.metric("identity_cert_refused_total", reason="bad_request") == 1
    assert identity.metric("identity_cert_issued_total") == 0


def test_oversize_body_is_413_and_counted(identity):
    body = json.dumps({"token": "web-token", "csr": "x" * (70 << 10)}).encode()
    client = H2Client(identity.api)
    sid = client.request("/v1/certify", method="POST", body=body)
    client.pump(lambda: client.responses[sid].ended)
    assert client.responses[sid].status == 413
    # And over HTTP/1.1, where the server answers without reading the rest and closes: the
    # reset may beat our read of the 413, but the refusal is counted either way.
    try:
        assert identity.http("POST", "/v1/certify", body)[0] == 413
    except (ConnectionResetError, BrokenPipeError):
        pass
    identity.wait_metric("identity_cert_refused_total", 2, reason="too_large")
    assert identity.metric("identity_cert_issued_total") == 0


def test_ready_live_and_issuer_expiry_metric(identity, ca_dir):
    assert identity.http("GET", "/ready")[0] == 200
    assert identity.http("GET", "/live")[0] == 200
    _, not_after = x509_times((ca_dir / "issuer.crt").read_text())
    assert identity.metric("identity_issuer_expiry_timestamp_seconds") == not_after
    assert identity.metric("lmesh_build_info", binary="lmesh-identity") == 1


# ---------------------------------------------------------------- token file reload

@pytest.mark.deadline(40)
def test_token_file_reload(identity, tokens, tmp_path):
    db_csr = make_csr(tmp_path, "db", dns=("db.prod.serviceaccount.identity.lmesh.cluster.local",), uris=())
    assert identity.certify("db-token", db_csr)[0] == 401
    tokens.write(BASE_TOKENS + "db-token prod/db\n")
    wait_until(lambda: identity.certify("db-token", db_csr)[0] == 200, timeout=5, interval=0.2,
               message="the added token to work")

    # A broken edit: logged with file and line, and the last good table keeps serving.
    tokens.write(BASE_TOKENS + "db-token prod/db\nnew-token prod/new\nbroken-line\n")
    err = wait_until(lambda: next((l for l in identity.json_logs() if "not reloaded" in l["msg"]), None),
                     timeout=5, message="the reload error in the log")
    assert err["level"] == "error" and f"{tokens.path}:7:" in err["msg"], err
    assert identity.certify("db-token", db_csr)[0] == 200
    new_csr = make_csr(tmp_path, "new", dns=("new.prod.serviceaccount.identity.lmesh.cluster.local",), uris=())
    assert identity.certify("new-token", new_csr)[0] == 401

    # Revoking works the same way.
    tokens.write(BASE_TOKENS)
    wait_until(lambda: identity.certify("db-token", db_csr)[0] == 401, timeout=5, interval=0.2,
               message="the removed token to stop working")


# ---------------------------------------------------------------- start-up refusals

def refuse_to_start(identity_bin, *args, env=None):
    code, stdout, stderr = run([identity_bin, "--listen", "127.0.0.1:0", *args], timeout=10,
                               env={**os.environ, **(env or {})})
    assert code != 0, f"{args} started:\n{stderr}"
    assert sanitizer_report(stderr) is None, stderr
    return stdout + stderr


def test_mismatched_issuer_key_refuses_to_start(identity_bin, cli_bin, ca_dir, tokens, tmp_path):
    other = tmp_path / "other"
    assert run([cli_bin, "identity", "init", "--out", other])[0] == 0
    out = refuse_to_start(identity_bin, "--issuer-dir", ca_dir, "--issuer-key", other / "issuer.key",
                          "--token-file", tokens.path)
    assert "does not belong" in out, out


def test_issuer_not_chaining_refuses_to_start(identity_bin, cli_bin, ca_dir, tokens, tmp_path):
    other = tmp_path / "other"
    assert run([cli_bin, "identity", "init", "--out", other])[0] == 0
    out = refuse_to_start(identity_bin, "--issuer-dir", ca_dir, "--trust-anchors", other / "ca.crt",
                          "--token-file", tokens.path)
    assert "does not chain" in out, out


def test_bad_token_file_refuses_to_start(identity_bin, ca_dir, tokens):
    tokens.write("web-token default/web\nthis line is wrong\n")
    out = refuse_to_start(identity_bin, "--issuer-dir", ca_dir, "--token-file", tokens.path)
    assert f"{tokens.path}:2:" in out, out


@pytest.mark.parametrize("args,names", [
    (["--issuance-lifetime", "forever"], "--issuance-lifetime"),
    (["--clock-skew-allowance", "x"], "--clock-skew-allowance"),
    (["--log-format", "xml"], "--log-format"),
    (["--no-such-flag", "1"], "--no-such-flag"),
])
def test_bad_flag_names_the_flag(identity_bin, ca_dir, tokens, args, names):
    out = refuse_to_start(identity_bin, "--issuer-dir", ca_dir, "--token-file", tokens.path, *args)
    assert names in out, out


def test_bad_environment_value_names_the_variable(identity_bin, ca_dir, tokens):
    out = refuse_to_start(identity_bin, "--issuer-dir", ca_dir, "--token-file", tokens.path,
                          env={"LMESH_IDENTITY_ISSUANCE_LIFETIME": "soon"})
    assert "LMESH_IDENTITY_ISSUANCE_LIFETIME" in out, out


def test_environment_configures_the_service(start_identity, ca_dir, tokens, tmp_path):
    ident = start_identity(env={"LMESH_IDENTITY_ISSUER_DIR": str(ca_dir),
                                "LMESH_IDENTITY_TOKEN_FILE": str(tokens.path),
                                "LMESH_IDENTITY_ISSUANCE_LIFETIME": "90m"})
    issued_at = time.time()
    status, body = ident.certify("web-token", make_csr(tmp_path))
    assert status == 200, body
    check_leaf(tmp_path, ca_dir, body, 90 * 60, 20, issued_at)


# ---------------------------------------------------------------- Kubernetes TokenReview

class StandInApiServer:
    """A STAND-IN for the Kubernetes API server (not a cluster): answers TokenReviews with
    recorded, real-shaped responses and records what it was sent."""

    def __init__(self, tls_dir=None):
        self.requests = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                token = body["spec"]["token"]
                if token == "k8s-web-token":
                    status = {"authenticated": True,
                              "user": {"username": "system:serviceaccount:default:web",
                                       "uid": "5b0c7a4e-0d6c-4c4e-9f3e-2f0f4b0e8a11",
                                       "groups": ["system:serviceaccounts", "system:serviceaccounts:default",
                                                  "system:authenticated"]},
                              "audiences": ["identity.lmesh.io"]}
                else:
                    status = {"user": {}, "error": "[invalid bearer token, square/go-jose: error in cryptographic primitive]"}
                answer = json.dumps({"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1",
                                     "metadata": {"creationTimestamp": None},
                                     "spec": body["spec"], "status": status}).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls_dir is not None:
            # As a real API server: its own cluster CA, an RSA key, TLS 1.2 or 1.3.
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls_dir / "apiserver.crt", tls_dir / "apiserver.key")
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.addr = self.server.server_address
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stand_in_api():
    api = StandInApiServer()
    yield api
    api.close()


def test_certify_with_kubernetes_token_review(start_identity, ca_dir, stand_in_api, tmp_path):
    sa_token = tmp_path / "sa-token"
    sa_token.write_text("identity-sa-token\n")
    ident = start_identity(issuer_dir=ca_dir,
                           kubernetes_api=f"http://{stand_in_api.addr[0]}:{stand_in_api.addr[1]}",
                           kubernetes_token_file=sa_token)
    status, body = ident.certify("k8s-web-token", make_csr(tmp_path))
    assert status == 200, body
    path, headers, review = stand_in_api.requests[-1]
    assert path == "/apis/authentication.k8s.io/v1/tokenreviews"
    assert headers.get("authorization") == "Bearer identity-sa-token"
    assert review == {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                      "spec": {"token": "k8s-web-token", "audiences": ["identity.lmesh.io"]}}
    status, body = ident.certify("forged", make_csr(tmp_path))
    assert status == 401 and "invalid bearer token" in body["detail"], body
    assert ident.metric("identity_cert_refused_total", reason="unauthenticated") == 1
    assert ident.metric("identity_cert_issued_total") == 1


def cluster_pki(tmp_path):
    """A cluster CA and an API server certificate for 127.0.0.1, RSA as kubeadm makes them."""
    d = tmp_path / "cluster"
    d.mkdir()
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d / "ca.key", "-out",
            d / "ca.crt", "-subj", "/CN=kubernetes", "-days", "2")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", d / "apiserver.key", "-out",
            d / "apiserver.csr", "-subj", "/CN=kube-apiserver")
    (d / "ext").write_text("subjectAltName=IP:127.0.0.1,DNS:kubernetes.default.svc\n")
    openssl("x509", "-req", "-in", d / "apiserver.csr", "-CA", d / "ca.crt", "-CAkey", d / "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", d / "ext", "-out", d / "apiserver.crt")
    return d


def test_token_review_over_https_as_in_a_pod(start_identity, ca_dir, tmp_path):
    cluster = cluster_pki(tmp_path)
    api = StandInApiServer(tls_dir=cluster)
    try:
        sa_token = tmp_path / "sa-token"
        sa_token.write_text("identity-sa-token\n")
        # In a pod: KUBERNETES_SERVICE_HOST/PORT, HTTPS, the service account's ca.crt.
        ident = start_identity(env={"KUBERNETES_SERVICE_HOST": "127.0.0.1",
                                    "KUBERNETES_SERVICE_PORT": str(api.addr[1])},
                               issuer_dir=ca_dir, kubernetes_token_file=sa_token,
                               kubernetes_ca_file=cluster / "ca.crt")
        status, body = ident.certify("k8s-web-token", make_csr(tmp_path))
        assert status == 200, body
        assert api.requests[-1][1].get("authorization") == "Bearer identity-sa-token"
    finally:
        api.close()


def test_an_untrusted_kubernetes_api_is_never_asked(start_identity, ca_dir, tmp_path):
    cluster = cluster_pki(tmp_path)
    api = StandInApiServer(tls_dir=cluster)
    try:
        sa_token = tmp_path / "sa-token"
        sa_token.write_text("identity-sa-token\n")
        # The mesh's CA in place of the cluster's: the API server's certificate does not verify.
        ident = start_identity(issuer_dir=ca_dir, kubernetes_token_file=sa_token,
                               kubernetes_api=f"https://127.0.0.1:{api.addr[1]}",
                               kubernetes_ca_file=ca_dir / "ca.crt")
        status, body = ident.certify("k8s-web-token", make_csr(tmp_path))
        assert status == 503, body
        assert ident.metric("identity_cert_refused_total", reason="validator_unavailable") == 1
        assert api.requests == [], "the token went to a server that did not prove who it is"
    finally:
        api.close()
