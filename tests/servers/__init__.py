"""Local servers for the tests: Google's Pub/Sub emulator and bqemulator, each on a free port."""
