"""``ocrflow review``: the web page where a person clears the review queue.

Modules: ``access`` (opening the store per request, read-only for browsing), ``queue`` (what waits for
review), ``record`` (one document as the page shows it), ``evidence`` (the field_evidence rows),
``actions`` (approve, reject), ``images`` (page images rendered on demand), ``security`` (token, CSRF),
``export`` (reviewed documents as gold.jsonl), ``app`` (the FastAPI routes).
"""
