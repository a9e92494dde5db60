"""The price list: the defaults in ``prices.toml`` beside this module (each price with its source and the date it
was read), overridden key by key by a user's file (``--prices FILE``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import msgspec

from streamlake_fast.exceptions import ConfigError

__all__ = ["Prices", "load_prices"]


class Prices(msgspec.Struct, frozen=True, kw_only=True):
    """Dollars: Pub/Sub throughput per TiB, the export subscriptions' per TiB, BigQuery Storage Write per GiB, an
    object write on GCS or S3, an SQS request, and a vCPU-hour on the ``[compute] platform`` chosen (a VM, Cloud
    Run's vCPU-seconds, or Lambda's GB-seconds for one vCPU)."""

    pubsub_per_tib: float
    export_per_tib: float
    storage_write_per_gib: float
    gcs_write: float
    s3_write: float
    sqs_request: float
    vcpu_hour: float


def _merge(base: dict[str, Any], override: dict[str, Any], where: str) -> dict[str, Any]:
    out = {k: dict(v) for k, v in base.items()}
    for section, values in override.items():
        if section not in out or not isinstance(values, dict):
            raise ConfigError(f"{where}: unknown price section [{section}] (known: {', '.join(sorted(out))})")
        for key, value in values.items():
            if key not in out[section]:
                raise ConfigError(f"{where}: [{section}] has no price {key!r} (known: {', '.join(out[section])})")
            default = out[section][key]
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if isinstance(default, (int, float)) and not (number and value >= 0):
                raise ConfigError(f"{where}: [{section}] {key} must be a number of dollars, at least 0, not {value!r}")
            if isinstance(default, str) and not isinstance(value, str):
                raise ConfigError(f"{where}: [{section}] {key} must be text, not {value!r}")
            out[section][key] = value
    return out


def _vcpu_hour(table: dict[str, Any]) -> float:
    platform = table["compute"]["platform"]
    if platform == "vm":
        return float(table["compute"]["per_vcpu_hour"])
    if platform == "cloud_run":
        return float(table["cloud_run"]["per_vcpu_second"]) * 3600
    if platform == "lambda":
        return float(table["lambda"]["per_gb_second"]) * float(table["lambda"]["gb_per_vcpu"]) * 3600
    raise ConfigError(f"prices: [compute] platform must be vm, cloud_run or lambda, not {platform!r}")


def load_prices(path: str | Path | None = None) -> Prices:
    """The default prices, with ``path``'s (a TOML file of the same sections and keys) over them."""
    text = resources.files(__package__).joinpath("prices.toml").read_text(encoding="utf-8")
    table: dict[str, Any] = msgspec.toml.decode(text)
    if path is not None:
        try:
            table = _merge(table, msgspec.toml.decode(Path(path).read_bytes()), str(path))
        except (OSError, msgspec.DecodeError) as e:
            raise ConfigError(f"--prices {path}: {e}") from None
    try:
        return msgspec.convert({
            "pubsub_per_tib": table["pubsub"]["per_tib"],
            "export_per_tib": table["pubsub_export"]["per_tib"],
            "storage_write_per_gib": table["bigquery_storage_write"]["per_gib"],
            "gcs_write": table["gcs"]["per_thousand_writes"] / 1000,
            "s3_write": table["s3"]["per_thousand_writes"] / 1000,
            "sqs_request": table["sqs"]["per_million_requests"] / 1e6,
            "vcpu_hour": _vcpu_hour(table),
        }, Prices)  # fmt: skip
    except msgspec.ValidationError as e:
        raise ConfigError(f"prices: {e}") from None
