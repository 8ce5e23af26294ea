"""The book's analysis: what a chapter notebook opens (chapter), statistics and claims, tables, figures, and one
module per chapter's reading of the stored results. It asks the engine for results (computing what the store
lacks only where a chapter allows it) and never the command line."""
