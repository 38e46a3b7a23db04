# Start-up cost: an empty program.
