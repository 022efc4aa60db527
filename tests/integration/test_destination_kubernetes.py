"""lmesh-destination's Kubernetes backend as a real process, against a STAND-IN for the
Kubernetes API server (kube_standin.py): a threaded HTTPS server replaying recorded,
real-shaped LIST/WATCH JSON. It is not a cluster; it checks what the destination service asks
and how it follows what it is told: the first lists, /ready, /v1/resolve and /v1/profile
streams following pushed watch events, watches resumed from the last resourceVersion, re-lists
after 410, malformed events rejected, the bearer token read from its file on every reconnect,
and start-up refusals.

Run: LMESH_DESTINATION=build/src/destination/lmesh-destination \\
     /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration/test_destination_kubernetes.py
"""
import copy
import json
import subprocess

import pytest

from harness import wait_until
from kube_standin import FIXTURES, LIST_RV, KubeStandIn, make_cluster_pki
from test_destination import EDIT_DEADLINE, H1Stream, addrs

WEB = "web.default.svc.cluster.local:8080"
DB = "db.default.svc.cluster.local:5432"
WEB_ID = "web.default.serviceaccount.identity.lmesh.cluster.local"
TOKEN = "eyJhbGciOiJSUzI1NiIsImtpZCI6InN0YW5kLWluIn0.e30.stand-in-token"


def fixture_item(resource, name):
    for item in json.loads((FIXTURES / f"{resource}.json").read_text())["items"]:
        if item["metadata"]["name"] == name:
            return copy.deepcopy(item)
    raise KeyError(name)


def recorded_event(index):
    return json.loads((FIXTURES / "watch_events.jsonl").read_text().splitlines()[index])


def web_endpoint(ip, pod, zone, node, identity=None):
    e = {"addr": f"{ip}:8080", "weight": 1, "protocol": "http1",
         "labels": {"namespace": "default", "pod": pod, "zone": zone, "node": node}}
    if identity:
        e["identity"] = identity
    return e


def write_kubeconfig(path, server, ca="cluster/ca.crt", user="    tokenFile: sa-token\n"):
    # Relative paths, as kubectl reads them: next to the kubeconfig.
    path.write_text(
        "apiVersion: v1\nkind: Config\npreferences: {}\ncurrent-context: stand-in\n"
        "contexts:\n- name: stand-in\n  context:\n    cluster: stand-in\n    user: lmesh-destination\n"
        "clusters:\n- name: stand-in\n  cluster:\n"
        f"    server: {server}\n    certificate-authority: {ca}\n"
        "users:\n- name: lmesh-destination\n  user:\n" + user)
    return path


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_cluster_pki(tmp_path_factory.mktemp("pki") / "cluster")


@pytest.fixture
def cluster(tmp_path, pki):
    """The stand-in (HTTPS, bearer token required) and a kubeconfig that reaches it."""
    (tmp_path / "cluster").symlink_to(pki)
    (tmp_path / "sa-token").write_text(TOKEN + "\n")
    api = KubeStandIn(tls_dir=pki, token=TOKEN)
    api.kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api.url)
    yield api
    api.close()


@pytest.fixture
def destination(start_destination, cluster):
    d = start_destination(kubeconfig=cluster.kubeconfig)
    wait_until(lambda: d.get("/ready")[0] == 200, message="/ready after the first lists")
    for resource in ("services", "endpointslices", "pods", "serviceprofiles"):
        cluster.wait_watching(resource)
    return d


def open_stream(destination, path):
    s = H1Stream(destination.api, path)
    assert s.status == 200, getattr(s, "body", b"")
    return s


# ---------------------------------------------------------------- the first state

def test_resolve_gives_ready_endpoints_with_identity_of_the_meshed_pod(destination, cluster):
    s = open_stream(destination, f"/v1/resolve?authority={WEB}")
    try:
        first = s.next()
        assert sorted(first["add"], key=lambda e: e["addr"]) == [
            web_endpoint("10.244.1.5", "web-7d9c8b6f5-x2x7q", "zone-a", "kind-worker", WEB_ID),
            web_endpoint("10.244.2.7", "web-7d9c8b6f5-9kqzj", "zone-b", "kind-worker2"),
        ]
    finally:
        s.close()
    # The other names of the service; the gRPC port's endpoints at the resolved targetPort.
    for alias in ("web.default:8080", "web.default.svc:8080", "10.96.142.17:8080"):
        s = open_stream(destination, f"/v1/resolve?authority={alias}")
        assert len(s.next()["add"]) == 2
        s.close()
    s = open_stream(destination, "/v1/resolve?authority=web.default.svc.cluster.local:9090")
    grpc = s.next()["add"]
    s.close()
    assert sorted(e["addr"] for e in grpc) == ["10.244.1.5:50051", "10.244.2.7:50051"]
    assert {e["protocol"] for e in grpc} == {"http2"}
    s = open_stream(destination, "/v1/resolve?authority=kube-dns.kube-system.svc.cluster.local:9153")
    assert addrs(s.next()) == ["10.244.0.3:9153", "10.244.0.4:9153"]
    s.close()

    # What it asked: cluster-wide LISTs then WATCHes from the lists' resourceVersion, with the
    # token from the kubeconfig's tokenFile; only meshed pods.
    for resource in ("services", "endpointslices", "pods", "serviceprofiles"):
        listed = cluster.requests_for(resource, watch=False)
        assert len(listed) == 1 and listed[0].query["limit"] == "500"
        watched = cluster.requests_for(resource, watch=True)[0]
        assert watched.query["resourceVersion"] == str(LIST_RV)
        assert watched.query["allowWatchBookmarks"] == "true"
        assert 300 <= int(watched.query["timeoutSeconds"]) <= 600
        for r in listed + [watched]:
            assert r.headers["authorization"] == f"Bearer {TOKEN}"
    assert cluster.requests_for("pods")[0].query["labelSelector"] == "lmesh.io/control-plane-ns"

    assert destination.metric("destination_services") == 6  # web x2, db, kubernetes, kube-dns x2
    assert destination.metric("destination_kubernetes_events_total", kind="services", result="ok") == 4


def test_ready_only_after_every_first_list(start_destination, cluster):
    cluster.hold_lists("pods")
    d = start_destination(kubeconfig=cluster.kubeconfig)
    cluster.wait_requests("pods", 1, watch=False)
    cluster.wait_watching("services")
    assert d.get("/ready")[0] == 503
    status, _ = d.get(f"/v1/resolve?authority={WEB}")
    assert status == 404  # nothing is served before the whole state is known
    cluster.release_lists("pods")
    wait_until(lambda: d.get("/ready")[0] == 200, message="/ready once pods are listed")
    s = open_stream(d, f"/v1/resolve?authority={WEB}")
    # Pods listed last: the meshed pod's identity is there all the same.
    assert [e.get("identity") for e in sorted(s.next()["add"], key=lambda e: e["addr"])] == [WEB_ID, None]
    s.close()


# ---------------------------------------------------------------- following changes

def test_endpointslice_changes_reach_an_open_stream(destination, cluster):
    s = open_stream(destination, f"/v1/resolve?authority={WEB}")
    try:
        s.next()
        # The recorded MODIFIED: a new ready pod (not meshed: no Pod object says so).
        cluster.push("endpointslices", "MODIFIED", recorded_event(0)["object"])
        assert s.next() == {"add": [web_endpoint("10.244.2.11", "web-7d9c8b6f5-l5m3c", "zone-b",
                                                 "kind-worker2")]}
        # The pod gets meshed later: its endpoint changes (an add replaces it).
        pod = fixture_item("pods", "web-7d9c8b6f5-x2x7q")
        pod["metadata"]["name"] = "web-7d9c8b6f5-l5m3c"
        cluster.push("pods", "ADDED", pod)
        assert s.next() == {"add": [web_endpoint("10.244.2.11", "web-7d9c8b6f5-l5m3c", "zone-b",
                                                 "kind-worker2", WEB_ID)]}
        # An endpoint that stops being ready goes.
        slice_ = recorded_event(0)["object"]
        slice_["endpoints"][1]["conditions"]["ready"] = False
        cluster.push("endpointslices", "MODIFIED", slice_)
        assert s.next(timeout=EDIT_DEADLINE) == {"remove": ["10.244.2.7:8080"]}
        # A pod status update changes nothing.
        pod["status"]["phase"] = "Running"
        pod["status"]["conditions"][1]["status"] = "False"
        cluster.push("pods", "MODIFIED", pod)
        assert s.silent_for(0.3)
    finally:
        s.close()


# ---------------------------------------------------------------- pods (GET /v1/pods)

def pods_of(destination, query=""):
    status, body = destination.get("/v1/pods" + query)
    return status, json.loads(body)


def pod_names(answer):
    return [f"{p['namespace']}/{p['name']}" for p in answer["pods"]]


def test_pods_are_the_meshed_pods_with_their_owners(destination, cluster):
    status, answer = pods_of(destination)
    assert status == 200
    # The unmeshed web replica (no lmesh.io/control-plane-ns label) is not one of them.
    assert answer == {"pods": [
        {"name": "db-0", "namespace": "default", "workload": "statefulset/db",
         "service_account": "default",
         "identity": "default.default.serviceaccount.identity.lmesh.cluster.local",
         "addr": "10.244.3.4", "admin": "10.244.3.4:4191", "services": [DB]},
        {"name": "web-7d9c8b6f5-x2x7q", "namespace": "default", "workload": "deploy/web",
         "service_account": "web", "identity": WEB_ID, "addr": "10.244.1.5",
         "admin": "10.244.1.5:4191",
         "services": [WEB, "web.default.svc.cluster.local:9090"]},  # every port of web
    ]}
    assert pod_names(pods_of(destination, "?target=deploy/web")[1]) == [
        "default/web-7d9c8b6f5-x2x7q"]
    # svc/NAME by the Service's fully qualified name in the namespace, any port.
    assert pod_names(pods_of(destination, "?target=svc/db")[1]) == ["default/db-0"]
    assert pods_of(destination, "?target=svc/db&namespace=kube-system")[0] == 404
    assert pods_of(destination, "?target=deploy/db") == (
        404, {"error": "no match", "detail": "no pods for deploy/db in namespace default"})
    assert destination.metric("destination_pods") == 2


def test_pod_events_reach_the_pods_known(destination, cluster):
    pod = fixture_item("pods", "web-7d9c8b6f5-x2x7q")
    # A pod of its own (no owner) arrives, in another namespace, without an IP yet.
    lone = copy.deepcopy(pod)
    lone["metadata"].update(name="debug", namespace="tools")
    del lone["metadata"]["ownerReferences"]
    del lone["metadata"]["labels"]["pod-template-hash"]
    del lone["status"]["podIP"]
    cluster.push("pods", "ADDED", lone)
    wait_until(lambda: pods_of(destination, "?target=ns/tools")[0] == 200,
               message="the new pod in /v1/pods")
    [debug] = pods_of(destination, "?target=ns/tools")[1]["pods"]
    assert (debug["workload"], debug["addr"], debug["admin"]) == ("pod/debug", "", "")
    assert debug["identity"] == "web.tools.serviceaccount.identity.lmesh.cluster.local"
    # It gets its IP: a status update that changes no Service, but the pod's record.
    lone["status"]["podIP"] = "10.244.9.9"
    cluster.push("pods", "MODIFIED", lone)
    wait_until(lambda: pods_of(destination, "?target=pod/debug&namespace=tools")[1]
               ["pods"][0]["admin"] == "10.244.9.9:4191", message="the new IP")
    # A web replica moves; one is deleted; one stops being meshed.
    pod["status"]["podIP"] = "10.244.1.55"
    cluster.push("pods", "MODIFIED", pod)
    cluster.push("pods", "DELETED", lone)
    db = fixture_item("pods", "db-0")
    del db["metadata"]["labels"]["lmesh.io/control-plane-ns"]
    cluster.push("pods", "MODIFIED", db)
    wait_until(lambda: [(p["name"], p["addr"]) for p in pods_of(destination)[1]["pods"]] == [
        ("web-7d9c8b6f5-x2x7q", "10.244.1.55")], message="the pods after the events")
    assert pods_of(destination, "?target=ns/tools")[0] == 404


def test_serviceprofile_reaches_an_open_profile_stream(destination, cluster):
    s = open_stream(destination, f"/v1/profile?authority={DB}")
    try:
        assert s.next()["routes"] == []
        profile = {"apiVersion": "lmesh.io/v1alpha1", "kind": "ServiceProfile",
                   "metadata": {"name": "db.default.svc.cluster.local", "namespace": "default",
                                "uid": "5d7f9b1d-3e4f-4a6b-8c8d-0e1f2a3b4c59", "generation": 1,
                                "creationTimestamp": "2024-05-03T15:40:02Z"},
                   "spec": {"routes": [{"name": "query", "timeout_ms": 250}],
                            "retry_budget": {"ratio": 0.1, "min_per_second": 5, "ttl_s": 10}}}
        cluster.push("serviceprofiles", "ADDED", profile)
        changed = s.next()
        assert changed["routes"] == [{"name": "query", "timeout_ms": 250}]
        assert changed["retry_budget"] == {"ratio": 0.1, "min_per_second": 5, "ttl_s": 10}

        # A bad spec: refused with its field, and the service goes back to the default profile.
        profile["spec"]["routes"][0]["timeout_ms"] = "250ms"
        cluster.push("serviceprofiles", "MODIFIED", profile)
        assert s.next()["routes"] == []
        destination.wait_metric("destination_kubernetes_events_total", 1, kind="serviceprofiles",
                                result="rejected")
        expected = ("serviceprofile default/db.default.svc.cluster.local: "
                    "/spec/routes/0/timeout_ms: must be a whole number")
        wait_until(lambda: any(expected in m for m in destination.error_logs()),
                   message=f"an error log with {expected}")
    finally:
        s.close()


def test_a_service_that_goes_ends_its_streams(destination, cluster):
    s = open_stream(destination, f"/v1/resolve?authority={DB}")
    try:
        assert s.next()["add"][0]["protocol"] == "opaque"
        cluster.push("services", "DELETED", fixture_item("services", "db"))
        assert s.next() == {"no_endpoints": True}
        assert s.ended.wait(EDIT_DEADLINE)
        assert destination.get(f"/v1/resolve?authority={DB}")[0] == 404
    finally:
        s.close()


# ---------------------------------------------------------------- watch life cycle

def test_an_ended_watch_resumes_from_the_last_resource_version(destination, cluster, tmp_path):
    cluster.push("endpointslices", "MODIFIED", recorded_event(0)["object"])
    rv = cluster.bookmark("endpointslices")
    # The kubelet rotated the token meanwhile: the next connection carries the new one.
    cluster.token = TOKEN + "-rotated"
    (tmp_path / "sa-token").write_text(cluster.token + "\n")
    wait_until(lambda: destination.metric("destination_kubernetes_events_total",
                                          kind="endpointslices", result="ok") == 6,
               message="the MODIFIED and the BOOKMARK counted")
    cluster.end_watches("endpointslices")
    again = cluster.wait_requests("endpointslices", 2, watch=True)[1]
    assert again.query["resourceVersion"] == rv
    assert again.headers["authorization"] == f"Bearer {TOKEN}-rotated"
    assert len(cluster.requests_for("endpointslices", watch=False)) == 1  # no re-list
    cluster.wait_watching("endpointslices")

    s = open_stream(destination, f"/v1/resolve?authority={WEB}")
    try:
        assert len(s.next()["add"]) == 3
        slice_ = recorded_event(0)["object"]
        del slice_["endpoints"][2]
        cluster.push("endpointslices", "MODIFIED", slice_)
        assert s.next() == {"remove": ["10.244.2.11:8080"]}
    finally:
        s.close()


def test_error_410_relists(destination, cluster):
    s = open_stream(destination, f"/v1/resolve?authority={WEB}")
    try:
        s.next()
        # Missed while the watch was behind: only a re-list can find it.
        cluster.change_silently("endpointslices", "MODIFIED", recorded_event(0)["object"])
        cluster.expire("endpointslices")
        listed = cluster.wait_requests("endpointslices", 2, watch=False)
        assert "continue" not in listed[1].query
        assert addrs(s.next()) == ["10.244.2.11:8080"]
        destination.wait_metric("destination_kubernetes_relists_total", 1, kind="endpointslices")
        watched = cluster.wait_requests("endpointslices", 2, watch=True)
        assert watched[1].query["resourceVersion"] == str(cluster.rv)
        assert destination.metric("destination_kubernetes_relists_total", kind="services") == 0
    finally:
        s.close()


def test_malformed_events_are_rejected_and_the_watch_goes_on(destination, cluster):
    s = open_stream(destination, f"/v1/resolve?authority={WEB}")
    try:
        s.next()
        cluster.push_line("endpointslices", "this is not json")
        cluster.push_line("endpointslices", json.dumps({"type": "MODIFIED", "object": {
            "metadata": {"namespace": "default", "resourceVersion": "48250"}}}))
        cluster.push_line("endpointslices", json.dumps({"type": "RESIZED", "object": {}}))
        destination.wait_metric("destination_kubernetes_events_total", 3, kind="endpointslices",
                                result="rejected")
        logs = destination.error_logs()
        assert any("endpointslices watch event rejected: /: not JSON (line: this is not json)" in m
                   for m in logs), logs
        assert any("endpointslice /metadata/name: is required" in m for m in logs), logs
        assert any('/type: "RESIZED" is not ADDED' in m for m in logs), logs
        # Later events are applied, on the same watch.
        cluster.push("endpointslices", "MODIFIED", recorded_event(0)["object"])
        assert addrs(s.next()) == ["10.244.2.11:8080"]
        assert len(cluster.requests_for("endpointslices", watch=True)) == 1
    finally:
        s.close()


def test_a_missing_crd_means_no_profiles(start_destination, tmp_path, pki):
    (tmp_path / "cluster").symlink_to(pki)
    (tmp_path / "sa-token").write_text(TOKEN)
    api = KubeStandIn(tls_dir=pki, token=TOKEN, missing={"serviceprofiles"})
    try:
        d = start_destination(kubeconfig=write_kubeconfig(tmp_path / "kubeconfig", api.url))
        wait_until(lambda: d.get("/ready")[0] == 200, message="/ready without the CRD")
        s = open_stream(d, f"/v1/profile?authority={WEB}")
        assert s.next()["routes"] == []
        s.close()
        assert any("serviceprofiles not served by the API server (404" in l.get("msg", "")
                   for l in d.json_logs())
        assert api.requests_for("serviceprofiles", watch=True) == []
    finally:
        api.close()


def test_in_a_pod(start_destination, tmp_path, pki):
    (tmp_path / "token").write_text(TOKEN + "\n")
    api = KubeStandIn(tls_dir=pki, token=TOKEN)
    try:
        d = start_destination(env={"KUBERNETES_SERVICE_HOST": "127.0.0.1",
                       "KUBERNETES_SERVICE_PORT": str(api.port)},
                  kubernetes="true", kubernetes_token_file=tmp_path / "token",
                  kubernetes_ca_file=pki / "ca.crt")
        wait_until(lambda: d.get("/ready")[0] == 200, message="/ready in a pod")
        assert api.requests_for("services")[0].headers["authorization"] == f"Bearer {TOKEN}"
    finally:
        api.close()


def test_an_api_server_that_does_not_prove_its_name_gets_nothing(start_destination, tmp_path, pki):
    other = make_cluster_pki(tmp_path / "other")
    (tmp_path / "sa-token").write_text(TOKEN)
    api = KubeStandIn(tls_dir=pki, token=TOKEN)
    try:
        d = start_destination(kubeconfig=write_kubeconfig(tmp_path / "kubeconfig", api.url,
                                              ca=other / "ca.crt"))
        wait_until(lambda: any("kubernetes list of services failed" in l.get("msg", "")
                               for l in d.json_logs()), message="a failed list logged")
        assert d.get("/ready")[0] == 503
        assert api.requests == [], "the token went to a server that did not prove who it is"
    finally:
        api.close()


# ---------------------------------------------------------------- start-up

def run(argv, env=None, timeout=10):
    done = subprocess.run([str(a) for a in argv], capture_output=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env=env)
    return done.returncode, done.stdout.decode() + done.stderr.decode()


def test_refusals_name_the_flag_and_the_field(destination_bin, tmp_path):  # noqa: F811
    base = [destination_bin, "--listen", "127.0.0.1:0"]
    kc = write_kubeconfig(tmp_path / "kubeconfig", "https://127.0.0.1:1",
                          user="    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
                               "      command: aws\n")
    code, out = run(base + ["--kubeconfig", kc])
    assert code == 1, out
    assert (f"--kubeconfig: kubeconfig {kc}: users[lmesh-destination].user.exec: exec credential "
            "plugins are not supported") in out, out

    code, out = run(base + ["--kubeconfig", tmp_path / "missing"])
    assert code == 1 and f"cannot open {tmp_path / 'missing'}: No such file or directory" in out, out

    kc = write_kubeconfig(tmp_path / "kubeconfig", "https://127.0.0.1:1", ca="nope/ca.crt")
    code, out = run(base + ["--kubeconfig", kc])
    assert code == 1 and f"cannot open {tmp_path}/nope/ca.crt" in out, out

    code, out = run(base + ["--kubeconfig", kc, "--mesh-file", tmp_path / "m.yaml"])
    assert code == 2 and "--mesh-file and --kubeconfig choose different backends" in out, out

    code, out = run(base + ["--kubernetes", "true"], env={})
    assert code == 2 and "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set" in out, out

    code, out = run([destination_bin, "--help"])
    assert code == 0 and "--kubeconfig" in out and "--cluster-domain" in out
