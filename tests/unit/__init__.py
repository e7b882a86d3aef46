"""Fast tests of one module at a time: parsers, figures, frames, reports, config."""
