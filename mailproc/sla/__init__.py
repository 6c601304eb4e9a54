"""Business calendar, deadlines and their wording."""
