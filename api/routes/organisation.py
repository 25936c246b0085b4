"""Who the API key belongs to (the partner portal shows it after signing in)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api import problems
from api.deps import CurrentOrg, strict_query
from api.models import Organisation

router = APIRouter(prefix="/api/v1/organisation", tags=["partner"],
                   dependencies=[Depends(strict_query)])


@router.get("", response_model=Organisation, responses=problems.responses(401, 429, 503),
            summary="The organisation of the API key")
def whoami(org: CurrentOrg) -> Organisation:
    return Organisation(slug=org.slug, name=org.name)
