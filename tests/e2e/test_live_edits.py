"""Editing the mesh file while `lmesh up` runs: a canary's traffic split moved 100/0 → 90/10 →
0/100, and ratings-v1 scaled 2 → 3 → 1 (→ 2), all under load with no failed request.

Requests go to web-0 from the root namespace: `GET /api/rating/<id>` answers with ratings' JSON,
whose "version" and "pod" say which backend served it. web serves each client connection on its
own thread, so requests are spread over several connections at once (`fetch_many`).
"""
import json
import time
from collections import Counter

import pytest

import mesh as m


def answers(results):
    """(Counter of version, Counter of pod, [failures]) of fetch_many results."""
    versions, pods, failures = Counter(), Counter(), []
    for status, body in results:
        if status != 200:
            failures.append(m.describe_failure(status, body) if status != "error"
                            else body.decode(errors="replace"))
            continue
        answer = json.loads(body)
        versions[answer["version"]] += 1
        pods[answer["pod"]] += 1
    return versions, pods, failures


def split_in_mesh_json(mesh):
    profile = mesh.mesh_json()["services"]["ratings.default.svc.cluster.local:8080"]["profile"]
    return {b["authority"].split(".")[0]: b["weight"] for b in profile["backends"]}


class Requests:
    """Every request of a test, for the final "no failure at all" check."""

    def __init__(self, web):
        self.web, self.total, self.failures = web, 0, []

    def fetch(self, n, path="/api/rating/1", workers=8):
        results = m.fetch_many(*self.web, path, n, workers=workers)
        versions, pods, failures = answers(results)
        self.total += len(results)
        self.failures += failures
        assert len(results) == n, f"only {len(results)} of {n} requests finished in time"
        return versions, pods, failures


def wait_for_traffic(requests, predicate, what, timeout=15.0, batch=50):
    """Batches of requests until predicate(versions, pods) holds for one batch."""
    t0 = time.monotonic()

    def batch_ok():
        versions, pods, _ = requests.fetch(batch)
        return predicate(versions, pods)
    m.wait_for(batch_ok, timeout, what, interval=0)
    return time.monotonic() - t0


@pytest.mark.deadline(150)
def test_canary_split_follows_edits_without_failures(demo_mesh, web):
    mesh = demo_mesh
    original = mesh.mesh_file.read_text()
    requests = Requests(web)
    background = m.start_load(*web, ["/api/rating/2", "/api/books"], max_seconds=140,
                              pause=0.005, name="background")
    report = []

    def set_split(v1, v2, settled, what, batch):
        t0 = time.monotonic()
        mesh.edit(lambda text: m.set_split(text, {"ratings-v1": v1, "ratings-v2": v2}))
        m.wait_for(lambda: split_in_mesh_json(mesh) == {"ratings-v1": v1, "ratings-v2": v2},
                   10, f"mesh.json to carry the split {v1}/{v2}")
        in_file = time.monotonic() - t0
        in_traffic = wait_for_traffic(requests, settled, what, batch=batch) + in_file
        report.append(f"split {v1}/{v2}: in mesh.json after {in_file:.2f} s, seen in traffic "
                      f"after {in_traffic:.2f} s")

    try:
        # 100/0: once a batch of 100 has no v2 at all (0.9^100 ~ 3e-5 that 90/10 does that by
        # chance), every request goes to v1.
        set_split(100, 0, lambda v, p: v["v2"] == 0, "a batch of 100 answers without v2", 100)
        versions, pods, failures = requests.fetch(600)
        report.append(f"100/0: 600 requests: {dict(versions)} by pod {dict(pods)}")
        assert not failures, failures[:5]
        assert versions == Counter({"v1": 600}), versions

        set_split(90, 10, lambda v, p: v["v2"] > 0, "a v2 answer after the split went 90/10", 50)
        versions, pods, failures = requests.fetch(1500)
        share = versions["v2"] / sum(versions.values())
        report.append(f"90/10: 1500 requests: {dict(versions)} -> v2 share {share:.2%} "
                      f"(want 10% +- 3%); by pod {dict(pods)}")
        assert not failures, failures[:5]
        assert 0.07 <= share <= 0.13, f"v2 share {share:.2%} outside 10% +- 3%"

        set_split(0, 100, lambda v, p: v["v1"] == 0, "a batch of 100 answers without v1", 100)
        versions, pods, failures = requests.fetch(600)
        report.append(f"0/100: 600 requests: {dict(versions)} by pod {dict(pods)}")
        assert not failures, failures[:5]
        assert versions == Counter({"v2": 600}), versions
    finally:
        background.stop()
        m.write_atomic(mesh.mesh_file, original)
        print("\n" + "\n".join(report))
        print(f"foreground: {requests.total} requests, {len(requests.failures)} failed "
              f"{requests.failures[:3]}\n{background.summary()}")
    m.wait_for(lambda: split_in_mesh_json(mesh) == {"ratings-v1": 90, "ratings-v2": 10}, 10,
               "the split back at 90/10")
    assert not requests.failures and not background.failures, \
        f"failed requests: {requests.failures[:5]} {background.summary()}"
    assert background.total > 100


@pytest.mark.deadline(150)
def test_scale_ratings_v1_live_without_failures(demo_mesh, web):
    mesh = demo_mesh
    requests = Requests(web)
    background = m.start_load(*web, ["/api/rating/1", "/api/books"], max_seconds=140,
                              pause=0.005, name="background")
    report = []

    def names():
        return sorted(p["name"] for p in mesh.pods("ratings-v1"))

    def endpoint_ips(service):
        return sorted(addr.rsplit(":", 1)[0] for addr in mesh.endpoints(service))

    def scale(n):
        before = {p["name"]: p for p in mesh.pods("ratings-v1")}
        t0 = time.monotonic()
        mesh.edit(lambda text: m.set_replicas(text, "ratings-v1", n))
        want = [f"ratings-v1-{i}" for i in range(n)]
        m.wait_for(lambda: names() == want, 20, f"state.json to list {want}")
        in_state = time.monotonic() - t0
        pods = {p["name"]: p for p in mesh.pods("ratings-v1")}
        ips = sorted(p["ip"] for p in pods.values())
        m.wait_for(lambda: endpoint_ips("ratings-v1") == ips, 20,
                   f"mesh.json's ratings-v1 endpoints to be {ips}")
        m.wait_for(lambda: set(ips) <= set(endpoint_ips("ratings")), 5,
                   f"mesh.json's ratings endpoints to include {ips}")
        in_mesh_json = time.monotonic() - t0
        gone = [before[name] for name in before if name not in pods]
        for p in gone:
            m.wait_for(lambda p=p: not any(m.process_alive(p[k]) for k in ("app", "proxy")), 15,
                       f"{p['name']}'s processes to exit")
            m.wait_for(lambda p=p: p["netns"] not in m.netns_list(), 15,
                       f"{p['name']}'s netns {p['netns']} to go")
        new = [name for name in pods if name not in before]
        in_traffic = None
        if new:
            # A new endpoint starts with the balancer's default RTT estimate (30 ms, as Linkerd)
            # against ~1 ms for the warm ones, so peak-EWMA gives it little traffic at first:
            # waiting for its first answer can take tens of seconds (the estimate decays, τ 10 s).
            in_traffic = wait_for_traffic(
                requests, lambda v, p: all(p[name] > 0 for name in new),
                f"answers from the new pods {new}", timeout=45) + in_mesh_json
        versions, served, failures = requests.fetch(400)
        assert not failures, failures[:5]
        assert set(served) <= set(pods) | {"ratings-v2-0"}, f"answers from removed pods: {served}"
        report.append(f"replicas -> {n}: state.json after {in_state:.2f} s, mesh.json after "
                      f"{in_mesh_json:.2f} s" + (f", new pods answering after {in_traffic:.2f} s"
                                                 if new else "")
                      + f", gone {[p['name'] for p in gone]}; 400 requests by pod {dict(served)}")
        return pods

    try:
        assert names() == ["ratings-v1-0", "ratings-v1-1"]
        scale(3)
        scale(1)
    finally:
        background.stop()
        print("\n" + "\n".join(report))
        print(f"foreground: {requests.total} requests, {len(requests.failures)} failed "
              f"{requests.failures[:3]}\n{background.summary()}")
    assert not requests.failures and not background.failures, \
        f"failed requests: {requests.failures[:5]} {background.summary()}"
