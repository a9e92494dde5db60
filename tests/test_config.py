"""Worker configuration: TOML validated by msgspec, clear errors."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from streamlake_fast.config import CreateTableConfig, LakeConfig, PubSubConfig, WorkerConfig, load_config
from streamlake_fast.destinations import DeadLetter, Destinations
from streamlake_fast.exceptions import ConfigError


def test_toml_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "streamlake.toml"
    path.write_text(
        'subscription = "projects/p/subscriptions/sub"\ntable = "p.d.t"\nmode = "committed"\n'
        '[batch]\nmax_rows = 1000\n[pubsub]\nconcurrent_pulls = 1\n[codec]\nunknown_fields = "ignore"\n'
        '[lake]\nroot = "gs://bucket/events"\npartition_by = "event_time"\nmax_file_age = 30.0\n'
    )
    config = load_config(path).validate()
    assert config.mode == "committed"
    assert config.batch.max_rows == 1000
    assert config.batch.max_latency == 1.0
    assert config.pubsub.concurrent_pulls == 1
    assert config.codec.unknown_fields == "ignore"
    assert (config.lake.root, config.lake.partition_by, config.lake.max_file_age) == (
        "gs://bucket/events",
        "event_time",
        30.0,
    )
    assert config.lake.target_file_bytes == 128 << 20


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('subscription = "x"\ncolour = "red"', "Object contains unknown field `colour`"),
        ('mode = "sometimes"', "Invalid enum value 'sometimes' - at `$.mode`"),
        ("[batch]\nmax_rows = 'many'", "Expected `int`, got `str` - at `$.batch.max_rows`"),
        ("subscription = ", "invalid TOML"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=None) as info:
        load_config(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_validate_requires_subscription_and_a_sink(tmp_path: Path) -> None:
    schema = tmp_path / "s.json"
    schema.write_text('[{"name": "a", "type": "STRING"}]')
    with pytest.raises(ConfigError, match="no source"):
        WorkerConfig(table="p.d.t").validate()
    with pytest.raises(ConfigError, match="no sink"):
        WorkerConfig(subscription="projects/p/subscriptions/s").validate()
    lake_only = WorkerConfig(subscription="projects/p/subscriptions/s", lake=LakeConfig(root="/tmp/lake"))
    with pytest.raises(ConfigError, match="schema must be given"):
        lake_only.validate()
    msgspec.structs.replace(lake_only, schema=str(schema)).validate()
    with pytest.raises(ConfigError, match="schema file not found"):
        msgspec.structs.replace(lake_only, schema=str(tmp_path / "nope.json")).validate()
    # Rows to the lake, rejects to a BigQuery table: a choice every runtime offers (it was refused before).
    to_table = msgspec.structs.replace(lake_only, schema=str(schema), dead_letter_table="p.d.r").validate()
    assert to_table.dead_letter() == DeadLetter("table", "p.d.r")
    with pytest.raises(ConfigError, match="one dead-letter destination, not dead_letter_topic and dead_letter_table"):
        WorkerConfig(subscription="projects/p/subscriptions/s", table="p.d.t", dead_letter_topic="projects/p/topics/a",
                     dead_letter_table="p.d.b").validate()  # fmt: skip


def test_max_lease_must_leave_time_for_lake_files_to_roll(tmp_path: Path) -> None:
    schema = tmp_path / "s.json"
    schema.write_text('[{"name": "a", "type": "STRING"}]')
    lake = LakeConfig(root=str(tmp_path), max_file_age=60)
    config = WorkerConfig(subscription="projects/p/subscriptions/s", schema=str(schema), lake=lake,
                          pubsub=PubSubConfig(max_lease=90))  # fmt: skip
    with pytest.raises(ConfigError, match=r"max_lease \(90 s\) must leave time for a lake file to roll.*121 s"):
        config.validate()
    msgspec.structs.replace(config, pubsub=PubSubConfig(max_lease=121)).validate()


def test_documented_config_example_loads(tmp_path: Path) -> None:
    """The worker page's two TOML examples (docs/worker.md)."""
    import re

    page = (Path(__file__).resolve().parents[1] / "docs" / "worker.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```toml\n(.*?)```", page, flags=re.S) if not b.startswith("[transform]")]
    block, schema_update = blocks
    path = tmp_path / "streamlake.toml"
    path.write_text(schema_update)
    update = load_config(path).schema_update  # its types_from file is an example: loaded, not validated
    assert (update.mode, update.check_interval, update.types_from) == ("follow", 60.0, "schemas/receipt_v2.json")
    path.write_text(block)
    config = load_config(path).validate()
    assert config.create_table.metadata_columns == ["message_id", "publish_time"]
    assert config.create_table.cluster_by == ["store_id"] and not config.create_table.enabled
    assert config.lake.partition_by == "event_time"


def test_create_table_needs_a_schema(tmp_path: Path) -> None:
    config = msgspec.structs.replace(
        WorkerConfig(subscription="projects/p/subscriptions/sub", table="p.d.t"),
        create_table=CreateTableConfig(enabled=True),
    )
    with pytest.raises(ConfigError, match="--create-table needs --table and the events' --schema"):
        config.validate()


def test_sqs_max_lease_is_capped_at_sqs_twelve_hours() -> None:
    """SQS refuses a visibility past 12 h from the first receive: a longer lease would only look held."""
    assert msgspec.convert({"sqs": {"max_lease": 43_200}}, WorkerConfig).sqs.max_lease == 43_200
    with pytest.raises(msgspec.ValidationError, match=r"sqs\.max_lease"):
        msgspec.convert({"sqs": {"max_lease": 43_201}}, WorkerConfig)


def test_one_dead_letter_rule_for_every_runtime(tmp_path: Path) -> None:
    """The default dead-letter destination and the one-of rule, the same for ``run``, push, Lambda and Beam."""
    schema = tmp_path / "s.json"
    schema.write_text('[{"name": "a", "type": "STRING"}]')
    assert Destinations.of(table="p.d.t").dead_letter() == DeadLetter("table", "p.d.t_rejects")
    assert Destinations.of(lake="/l", schema=str(schema)).dead_letter() == DeadLetter("files", "/l")
    assert Destinations.of(table="p.d.t", dead_letter_dir="/d").dead_letter() == DeadLetter("files", "/d")
    assert (
        Destinations.of(lake="/l", dead_letter_queue="https://sqs.eu-west-1.amazonaws.com/1/q").dead_letter().kind
        == "queue"
    )
    for bad, why in [
        ({"dead_letter_topic": "projects/p/topics/a", "dead_letter_queue": "https://sqs.eu-west-1.amazonaws.com/1/q"},
         "not dead_letter_topic and dead_letter_queue"),
        ({"dead_letter_topic": "topics/a"}, "topic"),
        ({"dead_letter_dir": "ftp://x/y"}, "dead-letter files root"),
    ]:  # fmt: skip
        with pytest.raises(ConfigError, match=why):
            Destinations.of(table="p.d.t", **bad).check()  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="no sink"):
        Destinations.of().check()
    # A worker's configuration is a set of destinations plus a source: the same keys, the same checks.
    assert isinstance(WorkerConfig(), Destinations)
