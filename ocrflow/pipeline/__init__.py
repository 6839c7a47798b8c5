"""One document: render, text layer, e-invoice, engine calls, extract, coerce, evidence, its row."""
