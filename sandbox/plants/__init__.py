"""The faults a scenario plants, one function per kind, by where the fault lies."""
