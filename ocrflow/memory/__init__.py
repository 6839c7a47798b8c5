"""Issuer memory: what review taught about each issuer, used on that issuer's next documents (docs/memory.md).

``fingerprint`` and ``recognize`` tell the issuer from what a document prints; ``spots`` and ``confirm`` find
values on the page lines; ``learn`` turns an approval into a lesson; ``recall`` applies an issuer's facts to a
document's extraction; ``stage`` is the pipeline stage that does it.
"""
