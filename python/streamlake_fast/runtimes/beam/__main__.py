from streamlake_fast.runtimes.beam.pipeline import main

main()
