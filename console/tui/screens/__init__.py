"""The console's screens other than the main one: help, confirmations, run details, and the
screen a config error is shown on."""
