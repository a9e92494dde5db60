"""Acknowledgements on an exactly-once delivery subscription: per-ack-id results.

Google's Pub/Sub emulator does not implement exactly-once delivery, so a small gRPC server of the test's own
answers ``Acknowledge`` the way Pub/Sub documents it: a failed status whose ``google.rpc.ErrorInfo`` metadata maps
each failed ack id to ``TRANSIENT_FAILURE_…`` or ``PERMANENT_FAILURE_…``. The client side is the product's, over a
real connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest
from google.protobuf import any_pb2
from google.pubsub_v1 import types
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from streamlake_fast.codec.messages import Messages
from streamlake_fast.transports.gcp.acks import AckResults, ack_id_failures, acknowledge

SUBSCRIPTION = "projects/p/subscriptions/eod"


class ExactlyOnceAcks:
    """Acknowledge: the first time an ack id in ``transient`` is seen it fails transiently; ids in ``permanent``
    always fail for good; the rest succeed. Records each request's ack ids."""

    def __init__(self, transient: set[str], permanent: set[str]) -> None:
        self.transient, self.permanent = set(transient), permanent
        self.requests: list[list[str]] = []

    def __call__(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        ids = list(types.AcknowledgeRequest.deserialize(request).ack_ids)
        self.requests.append(ids)
        failures = {a: "TRANSIENT_FAILURE_UNORDERED_ACK_ID" for a in ids if a in self.transient}
        failures |= {a: "PERMANENT_FAILURE_INVALID_ACK_ID" for a in ids if a in self.permanent}
        self.transient -= set(failures)
        if not failures:
            return b""
        detail = any_pb2.Any()
        detail.Pack(error_details_pb2.ErrorInfo(reason="EXACTLY_ONCE_ACKID_FAILURE", metadata=failures))
        status = status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message="some ack ids failed", details=[detail])
        context.abort_with_status(rpc_status.to_status(status))
        raise AssertionError("unreachable")


@pytest.fixture
def channel_to() -> Iterator[object]:
    servers: list[grpc.Server] = []

    def start(handler: ExactlyOnceAcks) -> grpc.Channel:
        server = grpc.server(futures.ThreadPoolExecutor(2))
        method = grpc.unary_unary_rpc_method_handler(handler)
        server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("google.pubsub.v1.Subscriber",
                                                                              {"Acknowledge": method})])  # fmt: skip
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        servers.append(server)
        return grpc.insecure_channel(f"127.0.0.1:{port}")

    yield start
    for s in servers:
        s.stop(0)


def _messages(n: int) -> Messages:
    response = types.PullResponse(
        received_messages=[
            types.ReceivedMessage(ack_id=f"ack-{i}", message=types.PubsubMessage(data=b"{}", message_id=str(i)))
            for i in range(n)
        ]
    )
    return Messages.from_pubsub([types.PullResponse.serialize(response)])


def _ack_rpc(channel: grpc.Channel) -> grpc.UnaryUnaryMultiCallable:
    ident = None
    return channel.unary_unary("/google.pubsub.v1.Subscriber/Acknowledge", ident, ident)  # type: ignore[arg-type]


def test_only_transient_ack_ids_are_sent_again_and_permanent_ones_counted(channel_to: object) -> None:
    server = ExactlyOnceAcks(transient={"ack-1", "ack-3"}, permanent={"ack-4"})
    rpc = _ack_rpc(channel_to(server))  # type: ignore[operator]
    results = AckResults()
    acknowledge(rpc, _messages(6), SUBSCRIPTION, results)
    assert server.requests[0] == [f"ack-{i}" for i in range(6)]
    assert server.requests[1:] == [["ack-1", "ack-3"]]  # not the acknowledged ones, not the refused one
    assert results.refused == 1


def test_an_ack_id_failing_transiently_every_time_is_counted_after_the_rounds(channel_to: object) -> None:
    class Always(ExactlyOnceAcks):
        def __call__(self, request: bytes, context: grpc.ServicerContext) -> bytes:
            self.transient.add("ack-0")
            return super().__call__(request, context)

    server = Always(transient={"ack-0"}, permanent=set())
    results = AckResults()
    acknowledge(_ack_rpc(channel_to(server)), _messages(2), SUBSCRIPTION, results)  # type: ignore[operator]
    assert len(server.requests) == 5 and server.requests[1:] == [["ack-0"]] * 4
    assert results.refused == 1


def test_an_error_without_per_ack_id_results_is_not_read_as_one(channel_to: object) -> None:
    def refuse(request: bytes, context: grpc.ServicerContext) -> bytes:
        context.abort(grpc.StatusCode.PERMISSION_DENIED, "no")
        raise AssertionError("unreachable")

    rpc = _ack_rpc(channel_to(refuse))  # type: ignore[operator]
    with pytest.raises(grpc.RpcError) as raised:
        acknowledge(rpc, _messages(1), SUBSCRIPTION, AckResults())
    assert ack_id_failures(raised.value) is None
