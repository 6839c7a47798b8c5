"""The records of issuer memory as the store keeps them (``issuers``, ``issuer_keys``, ``issuer_facts``).

Free of SQL and of the pipeline: ``ocrflow.memory`` builds and reads them, ``ocrflow.store.memory`` writes
and reads the rows. docs/memory.md explains what each kind of fact means.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

CONSTANT = "constant"
"""A value the issuer always prints (its name, address, tax id): used only where the page confirms it."""
POSITION = "position"
"""Where a field sits: its label, its place beside or under the label, its height on the page, its shape."""
WRONG = "wrong"
"""A reading of the field that a reviewer corrected (the machine's value and how it read it)."""
SEGMENT = "segment"
"""A row of a constant multi-row value (an address row that every branch prints): its canonical spelling,
used to repair the machine's reading of that row where the whole value differs (``ocrflow.memory.segments``)."""
MACHINE = "machine"
"""How often the machine's own reading of the field was kept (hits) or corrected (misses) on the issuer's
documents: what a fact must beat before its value replaces the machine's."""
FACT_KINDS = (CONSTANT, POSITION, SEGMENT, WRONG, MACHINE)

ID_KEY = "id"
"""A tax, registration or phone number printed in the top of the page."""
LINE_KEY = "line"
"""A normalized line of the top of the page (a fingerprint of the letterhead)."""
NAME_KEY = "name"
"""A normalized line that held one of the issuer's constant values (its name, its address)."""
KEY_WEIGHTS = {ID_KEY: 2, NAME_KEY: 2, LINE_KEY: 1}


@dataclass(frozen=True, slots=True)
class IssuerKey:
    """One thing a document of the issuer prints that tells the issuer apart."""

    kind: str
    key: str


@dataclass(frozen=True, slots=True)
class KeyMatch:
    """A stored key of an issuer that a document prints too; ``owners``: how many issuers hold that key."""

    issuer_id: str
    kind: str
    key: str
    owners: int = 1


@dataclass(frozen=True, slots=True)
class Fact:
    """One thing review taught about one field of one issuer's documents under one contract."""

    issuer_id: str
    contract: str
    field: str
    kind: str
    fact_key: str
    value: str = ""
    """CONSTANT: the canonical value; WRONG: the reading that was corrected."""
    label: str = ""
    """POSITION: the normalized text labelling the value; WRONG: the method that read the wrong value."""
    place: str = ""
    """POSITION: ``same_line`` (after the label), ``right`` (a line right of it), ``below`` (the row under it)."""
    nth: int = 0
    """POSITION: the value's index among the line's values of its kind, counted from the right."""
    y: float | None = None
    """The value's height on the page (0 top, 1 bottom)."""
    shape: str = ""
    """POSITION: the printed value's shape (digit runs ``9``, letter runs ``A``)."""
    hits: int = 0
    """Approvals that confirmed the fact (the value was where the fact says, or the constant was kept)."""
    misses: int = 0
    """Approvals where the fact gave another value than the approved one."""
    sources: tuple[str, ...] = ()
    """Ids of the ``corrections`` rows it was learned from (edits and approvals)."""
    variants: tuple[tuple[str, int], ...] = ()
    """CONSTANT: each spelling approved (the same letters and digits) and how often; ``value`` is the commonest."""
    updated_at: datetime | None = None

    @property
    def edits(self) -> int:
        """How many of its sources are corrections of a value (not plain approvals): ids ``e:...``."""
        return sum(1 for s in self.sources if s.startswith("e:"))


@dataclass(frozen=True, slots=True)
class Issuer:
    """An issuer that review taught something, with what it knows and since when."""

    issuer_id: str
    contract: str
    name: str
    documents: int = 0
    corrections: int = 0
    facts: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(slots=True)
class Lesson:
    """What one approval teaches: the issuer (new or known), its keys, the facts to store (replacing the stored
    facts with the same key), the document it came from."""

    issuer_id: str
    contract: str
    doc_sha256: str
    name: str
    new_issuer: bool = False
    keys: list[IssuerKey] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    corrections: int = 0
