"""peg_insert: insert a held 20 mm square peg 30 mm deep into a hole with 2 mm clearance (contact-rich)."""
