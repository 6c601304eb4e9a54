"""Step 3, parse: bytes to ParsedMessage and the new text of a reply; the only importer of mail-parser."""
