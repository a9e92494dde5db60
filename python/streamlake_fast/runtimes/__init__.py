"""Where the pipeline runs: the CLI worker (:mod:`~streamlake_fast.runtimes.worker`), Pub/Sub push
(:mod:`~streamlake_fast.runtimes.push`), AWS Lambda (:mod:`~streamlake_fast.runtimes.lambda_sqs`) and Apache Beam
(:mod:`~streamlake_fast.runtimes.beam`) — each builds its destinations with
:func:`~streamlake_fast.destinations.build.build`."""
