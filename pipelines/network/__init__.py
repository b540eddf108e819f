"""The Inter-American Network for the Prevention of Violence and Crime: members, dialogue spaces, forums
and points of common interest (issue 17)."""
