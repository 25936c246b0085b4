"""k-anonymised microdata: generalisation hierarchies, lattice search, pycanon verification."""

from privacy.kanon.product import KAnonResult, anonymise
from privacy.kanon.spec import KAnonSpec

__all__ = ["KAnonResult", "KAnonSpec", "anonymise"]
