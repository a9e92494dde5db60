"""Dead letters back home: replay from a dead-letter subscription, the rejects table or the rejects files."""
