"""mlconsole front ends: CLI, headless batch printer, Textual app."""
