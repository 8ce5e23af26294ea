"""The book's analysis: the registry of chapters (chapters), what a chapter notebook opens (chapter) with its
parameters (parameters, checks), statistics and claims, tables, figures, and one module per chapter's reading of the
stored results. It asks the engine for results (computing what the store lacks only where a chapter allows it, with a
progress bar) and never the command line."""
