"""gRPC (Debian's python3-grpcio, a real gRPC implementation) through two proxies, the mesh
path: client → outbound proxy → inbound proxy → server. Unary and bidirectional streaming calls
arrive intact, statuses and deadlines pass through, and both proxies count grpc_status_code."""
import threading
import time
from concurrent import futures

import grpc
import pytest

from harness import hostport

SERVICE = "lmesh.test.Echo"
NO_PROXY = [("grpc.enable_http_proxy", 0)]


class EchoService:
    def __init__(self):
        self.deadlines = []  # time_remaining() each deadline-carrying call saw
        self.lock = threading.Lock()

    def unary(self, request, context):
        if request == b"deny":
            context.abort(grpc.StatusCode.PERMISSION_DENIED, "denied on purpose")
        if request == b"sleep":
            with self.lock:
                self.deadlines.append(context.time_remaining())
            time.sleep(1.5)
        return request

    def stream(self, requests, context):
        for message in requests:
            yield message


@pytest.fixture
def grpc_server():
    service = EchoService()
    handler = grpc.method_handlers_generic_handler(SERVICE, {
        "Unary": grpc.unary_unary_rpc_method_handler(service.unary),
        "Stream": grpc.stream_stream_rpc_method_handler(service.stream),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield service, port
    server.stop(grace=None)


@pytest.fixture
def mesh(proxy_factory, grpc_server):
    service, port = grpc_server
    server_side = proxy_factory(inbound_forward=f"127.0.0.1:{port}")
    client_side = proxy_factory(outbound_target=hostport(server_side.inbound))
    channel = grpc.insecure_channel(hostport(client_side.outbound), options=NO_PROXY)
    yield service, client_side, server_side, channel
    channel.close()


def test_unary_calls_pass_through_two_proxies(mesh):
    _, client_side, server_side, channel = mesh
    call = channel.unary_unary(f"/{SERVICE}/Unary")
    for size in (0, 1, 1000, 3 * 1024 * 1024):  # gRPC caps messages at 4 MiB
        payload = bytes((i * 7) % 251 for i in range(size))
        assert call(payload, timeout=10) == payload
    for proxy, direction in ((client_side, "outbound"), (server_side, "inbound")):
        proxy.wait_metric("response_total", 4, direction=direction, grpc_status_code="0",
                          classification="success")


def test_bidirectional_stream_passes_every_message_in_order(mesh):
    _, _, _, channel = mesh
    call = channel.stream_stream(f"/{SERVICE}/Stream")
    sent = [bytes([i % 256]) * (i * 997 % 70000) for i in range(200)]
    received = list(call(iter(sent), timeout=20))
    assert received == sent


def test_error_status_passes_through_and_counts_as_failure(mesh):
    _, client_side, server_side, channel = mesh
    call = channel.unary_unary(f"/{SERVICE}/Unary")
    with pytest.raises(grpc.RpcError) as e:
        call(b"deny", timeout=10)
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert e.value.details() == "denied on purpose"
    for proxy, direction in ((client_side, "outbound"), (server_side, "inbound")):
        proxy.wait_metric("response_total", 1, direction=direction, grpc_status_code="7",
                          classification="failure")


def test_deadline_reaches_the_server_as_grpc_timeout(mesh):
    service, _, _, channel = mesh
    call = channel.unary_unary(f"/{SERVICE}/Unary")
    with pytest.raises(grpc.RpcError) as e:
        call(b"sleep", timeout=0.5)
    assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    # The server saw the caller's deadline (grpc-timeout crossed both proxies). The header
    # carries a rounded value in the unit the client picked, and the server measures from its
    # own clock, so it may read a hair above what the caller asked (0.50036 was seen).
    assert service.deadlines and 0 < service.deadlines[0] <= 0.51
    # The proxies are fine afterwards.
    assert call(b"after", timeout=10) == b"after"


def test_dead_server_is_unavailable_not_a_protocol_error(proxy_factory, grpc_server, serve):
    from upstreams import RefusingPort
    dead = serve(RefusingPort)
    client_side = proxy_factory(outbound_target=hostport(dead.addr))
    channel = grpc.insecure_channel(hostport(client_side.outbound), options=NO_PROXY)
    with pytest.raises(grpc.RpcError) as e:
        channel.unary_unary(f"/{SERVICE}/Unary")(b"x", timeout=10)
    channel.close()
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "upstream connection refused" in e.value.details()
