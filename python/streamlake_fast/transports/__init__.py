"""What talks to a service: retries, storage roots and resource names shared by all, then Google Cloud's pieces
(:mod:`~streamlake_fast.transports.gcp`) and AWS's (:mod:`~streamlake_fast.transports.aws`) each in one place. The
core (codec, sources' protocol, worker, sinks' protocol, the lake) imports no cloud client."""
