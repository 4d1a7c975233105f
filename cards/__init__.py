"""What each recommendation says to the clinician: one reviewable data file per rule id, and its loader."""
