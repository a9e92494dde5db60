"""Google Cloud (extra ``[gcp]``): gRPC channels and endpoints, the Pub/Sub wire format, publish sender, pull
source and acknowledgements, and BigQuery tables."""
