"""Step 4, classify: what kind of mail (ordered rules), what a bounce reports, is agent mail authentic."""
