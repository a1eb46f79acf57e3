"""Exception cases, owners, notes, replays, alert rules, channels and notifications."""
