"""The cost report against hand-computed examples: a change in what is counted, or how, fails here."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamlake_fast import Messages
from streamlake_fast.cost import Usage, load_prices
from streamlake_fast.cost.usage import transport_of
from streamlake_fast.exceptions import ConfigError

TIB = 1 << 40


def test_billed_bytes_count_data_attributes_timestamp_and_id() -> None:
    messages = Messages.from_parts([
        (b"x" * 100, {"k": "vv"}, "12345", 0, ""),  # 100 + (1 + 2) + 20 + 5 = 128
        (b"y" * 10, None, "1", 0, "ordering keys are not billed"),  # 10 + 20 + 1 = 31
    ])  # fmt: skip
    assert messages.billed_bytes == 159


def test_a_run_priced_by_hand() -> None:
    prices = load_prices()
    usage = Usage(events=2_000)
    usage.request(159)  # under the 1,000-byte minimum of a request: billed 1,000
    usage.request(400_000)
    usage.plain_bytes = 900_000
    usage.storage_write_bytes = 1 << 30  # one GiB
    usage.gcs_writes = 3
    usage.cpu_seconds = 36.0  # a hundredth of a vCPU-hour
    cost = usage.cost(prices, export_subscriptions=2)
    assert usage.pubsub_billed == 401_000 and usage.pubsub_bytes == 400_159
    assert cost.services["Pub/Sub"] == pytest.approx(401_000 / TIB * 40)
    assert cost.services["Storage Write"] == pytest.approx(0.025)
    assert cost.services["objects"] == pytest.approx(3 * 0.005 / 1000)
    assert cost.services["compute"] == pytest.approx(0.021811 / 100)
    assert cost.managed == pytest.approx(2 * 900_000 / TIB * 50)
    total = 401_000 / TIB * 40 + 0.025 + 0.000015 + 0.00021811
    assert cost.per_million(cost.total) == pytest.approx(total / 2_000 * 1e6)
    assert cost.line().startswith(f"cost: ${total / 2_000 * 1e6:.4f} per million events (Pub/Sub ")


def test_sqs_requests_are_receives_per_64_kib_and_deletes_per_ten() -> None:
    usage = Usage()
    usage.received_sqs(10, 70_000)  # two 64 KiB chunks, one delete batch
    usage.received_sqs(1, 10)  # one receive, one delete
    assert usage.sqs_requests == 5
    assert Usage(sqs_requests=5).cost(load_prices(), export_subscriptions=1).services["SQS"] == pytest.approx(2e-6)


def test_transports_are_told_by_the_source_name() -> None:
    assert transport_of("projects/p/subscriptions/s") == "pubsub"
    assert transport_of("https://sqs.us-east-1.amazonaws.com/1/q") == "sqs"
    assert transport_of("memory") == ""


def test_a_price_file_overrides_key_by_key(tmp_path: Path) -> None:
    mine = tmp_path / "prices.toml"
    mine.write_text("[compute]\nper_vcpu_hour = 0.0864\n")
    prices = load_prices(mine)
    assert prices.vcpu_hour == 0.0864 and prices.pubsub_per_tib == 40.0


def test_writes_are_counted_by_the_sink_they_went_to() -> None:
    usage = Usage()
    usage.wrote("bigquery:p.d.t", 1_000)
    usage.wrote("lake:gs://b/receipts", 5_000)  # bytes to a lake are not billed as such; its files are
    usage.files("lake:gs://b/receipts", 3)
    usage.files("lake:s3://b/receipts", 2)
    usage.files("lake:/var/lake", 9)  # local disk: no object writes
    assert (usage.storage_write_bytes, usage.gcs_writes, usage.s3_writes) == (1_000, 3, 2)
    assert usage.export_subscriptions == 2  # a BigQuery subscription and a Cloud Storage one
    usage.wrote("iceberg:ns.t", 1)
    assert usage.export_subscriptions == 2


def test_compute_is_priced_on_the_platform_chosen(tmp_path: Path) -> None:
    mine = tmp_path / "prices.toml"
    mine.write_text('[compute]\nplatform = "cloud_run"\n')
    assert load_prices(mine).vcpu_hour == pytest.approx(0.000018 * 3600)
    mine.write_text('[compute]\nplatform = "lambda"\n')
    assert load_prices(mine).vcpu_hour == pytest.approx(0.0000166667 * 1.769 * 3600)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[compute]\nper_cpu_hour = 1\n", r"\[compute\] has no price 'per_cpu_hour'"),
        ("[azure]\nx = 1\n", r"unknown price section \[azure\]"),
        ('[compute]\nplatform = "mainframe"\n', "platform must be vm, cloud_run or lambda"),
        ('[pubsub]\nper_tib = "forty"\n', r"\[pubsub\] per_tib must be a number of dollars, at least 0, not 'forty'"),
        ("[sqs]\nper_million_requests = -1\n", r"\[sqs\] per_million_requests must be a number"),
        ("[compute]\nplatform = 3\n", r"\[compute\] platform must be text, not 3"),
    ],
)
def test_a_wrong_price_file_is_named(tmp_path: Path, text: str, words: str) -> None:
    mine = tmp_path / "prices.toml"
    mine.write_text(text)
    with pytest.raises(ConfigError, match=words):
        load_prices(mine)
