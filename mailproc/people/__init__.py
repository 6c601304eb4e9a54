"""Who is who: agents and teams, people, on-call, vendors, phone numbers."""
