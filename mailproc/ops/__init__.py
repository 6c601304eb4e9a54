"""What operators read: doctor checks, export, status."""
