"""Two fixes to the theme stack, so that the site's pages log no console error.

- sphinx-thebe (loaded by Jupyter Book) registers its inline configuration
  script each time documents are read; a ``const`` declared twice is an error
  ("Identifier 'THEBE_JS_URL' has already been declared"). Each page keeps the
  first copy of every script.
- sphinx-book-theme has no light/dark switch, but the pydata theme under it
  reads the mode from local storage, finds none and reports "Got invalid theme
  mode". The page sets the light mode the book theme is drawn for.
"""

_LIGHT_MODE = 'document.documentElement.dataset.mode = document.documentElement.dataset.mode || "light";'


def _unique_scripts(app, pagename, templatename, context, doctree):
    scripts, seen = [], set()
    for script in context.get("script_files", []):
        body = getattr(script, "attributes", {}).get("body")
        key = ("inline", body) if body else ("file", getattr(script, "filename", script))
        if key not in seen:
            seen.add(key)
            scripts.append(script)
    context["script_files"] = scripts


def setup(app):
    app.add_js_file(None, body=_LIGHT_MODE, priority=100)
    app.connect("html-page-context", _unique_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
