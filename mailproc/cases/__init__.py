"""The case record: open or join, people, events, status, customer turns, dead addresses."""
